"""A temporary data folder with real landing files, and `feedback run` on it, in process."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import time
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from feedback_cli import main as cli

CONTACT_HEADER = (
    "event_id,customer_id,contact_type,occurred_at,email,customer_name,product,channel\n"
)
KCM_HEADER = "response_id;invitation_id;questionnaire_id;completed_at;grade;comment\n"


def invitation_id(contact_event_id: str) -> str:
    """The contract's deterministic invitation id, worked out apart from the SQL that makes it."""
    digest = hashlib.md5(f"feedback-invitation:{contact_event_id}".encode()).hexdigest()
    return f"inv-{digest[:20]}"


def dbt(args: list[str], state: Path):
    """`dbt ARGS` in process on the project (the warehouse of FEEDBACK_DATA_DIR), its logs and
    compiled SQL under `state`; dbtRunner's result, the warehouse closed after."""
    from dbt.cli.main import dbtRunner

    from orchestration.private_speedups import close_warehouse
    from orchestration.project import REPO_ROOT

    project = ["--project-dir", str(REPO_ROOT), "--profiles-dir", str(REPO_ROOT)]
    try:
        return dbtRunner().invoke(
            [*args, *project, "--target-path", str(state), "--log-path", str(state)]
        )
    finally:
        close_warehouse()


# When a row was written differs from run to run; what was written must not.
WHEN_WRITTEN = {
    "loaded_at",
    "first_loaded_at",
    "_loaded_at",
    "ingested_at",
    "updated_at",
    "last_attempt_at",
    "masked_at",
    "recorded_at",
    "built_at",
}

_SETTINGS = (
    "FEEDBACK_SMTP_HOST",
    "FEEDBACK_SMTP_PORT",
    "FEEDBACK_SMTP_USER",
    "FEEDBACK_SMTP_PASSWORD",
    "FEEDBACK_SMTP_STARTTLS",
    "FEEDBACK_SMTP_RATE",
    "FEEDBACK_SMTP_RETRY_SECONDS",
    "FEEDBACK_SENDER_ADDRESS",
    "FEEDBACK_REPLY_TO_ADDRESS",
    "FEEDBACK_UNSUBSCRIBE_URL",
    "FEEDBACK_ALERT_ADDRESS",
    "FEEDBACK_UI_URL",
    "FEEDBACK_FRESHNESS_CONTACTS",
    "FEEDBACK_FRESHNESS_KCM",
    "FEEDBACK_UNSUBSCRIBE_MAILBOX",
    "DAGSTER_HOME",
)


@dataclass
class DataFolder:
    """One `FEEDBACK_DATA_DIR`: what lands in it, the runs on it, and what they leave."""

    root: Path

    def land(self, source: str, name: str, text: str, encoding: str = "utf-8") -> Path:
        """Drop a delivery into landing/<source>/ (text as given: header, separators, endings)."""
        folder = self.root / "landing" / source
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / name
        path.write_bytes(text.encode(encoding))
        return path

    def run(
        self,
        as_of: str,
        *,
        env: dict[str, str] | None = None,
        expect_success: bool = True,
        options: tuple[str, ...] = (),
    ) -> tuple[int, str]:
        """`feedback run --as-of D` with this folder and `env` as the only settings."""
        return self.feedback(["run", "--as-of", as_of, *options], env, expect_success)

    def run_range(self, first: str, last: str) -> str:
        """`feedback run --from D1 --to D2` on this folder."""
        return self.feedback(["run", "--from", first, "--to", last])[1]

    def feedback(
        self, argv: list[str], env: dict[str, str] | None = None, expect_success: bool = True
    ) -> tuple[int, str]:
        """The `feedback` command in process, with this folder and `env` as the only settings:
        (exit status, what it printed)."""
        output = io.StringIO()
        with pytest.MonkeyPatch.context() as patch:
            for name in _SETTINGS:
                patch.delenv(name, raising=False)
            patch.setenv("FEEDBACK_DATA_DIR", str(self.root))
            for name, value in (env or {}).items():
                patch.setenv(name, value)
            with redirect_stdout(output), redirect_stderr(output):
                code = cli.main(argv)
        if expect_success:
            assert code == 0, output.getvalue()
        return code, output.getvalue()

    def query(self, sql: str, params: list | None = None) -> list[tuple]:
        conn = duckdb.connect(str(self.root / "warehouse.duckdb"), read_only=True)
        try:
            return conn.execute(sql, params or []).fetchall()
        finally:
            conn.close()

    def table(self, name: str) -> list[tuple]:
        """A table's rows in order, without the columns that say when a row was written."""
        columns = [
            column
            for (column,) in self.query(
                "select column_name from information_schema.columns"
                " where table_schema || '.' || table_name = ? order by ordinal_position",
                [name],
            )
            if column not in WHEN_WRITTEN
        ]
        quoted = ", ".join(f'"{column}"' for column in columns)
        return self.query(f"select {quoted} from {name} order by all")

    def published(self) -> dict | None:
        path = self.root / "public" / "klanttevredenheid.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None

    def files(self, *folders: str) -> list[str]:
        """Every file under these folders, as a path relative to the data folder, sorted."""
        return sorted(
            str(path.relative_to(self.root))
            for folder in folders
            for path in (self.root / folder).rglob("*")
            if path.is_file()
        )

    def state(self) -> dict:
        """What runs leave, for comparing two folders: every table of the raw, staging, ledger,
        marts and audit schemas, the masking log, the files, and the published figure."""
        tables = [
            f"{schema}.{name}"
            for schema, name in self.query(
                "select table_schema, table_name from information_schema.tables"
                " where table_schema in ('raw', 'staging', 'ledger', 'marts', 'audit')"
            )
        ]
        return {
            "tables": {name: self.table(name) for name in sorted(tables)},
            "masking_log": self.query(
                "select run_date, record_kind, masking_cutoff, records_masked"
                " from privacy.masking_log order by all"
            ),
            "files": self.files("landing", "archive", "quarantine", "outbox", "public"),
            "published": self.published(),
        }

    def outbox(self) -> list[str]:
        folder = self.root / "outbox"
        return sorted(p.stem for p in folder.glob("*.eml")) if folder.exists() else []


@contextmanager
def background(argv: list[str], env: dict[str, str], cwd: Path, log: Path):
    """A server process (`feedback ui`, `dagster-daemon run`) in a session of its own, its output
    in `log`; stopped with SIGTERM at the end (SIGKILL after a minute)."""
    with log.open("w") as output:
        process = subprocess.Popen(
            argv, env=env, cwd=cwd, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            yield process
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def wait_for(what: str, check, seconds: float, process: subprocess.Popen):
    """`check()`'s first true answer within `seconds`, while `process` keeps running."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, f"{process.args[0]} ended with {process.returncode}"
        if found := check():
            return found
        time.sleep(1)
    raise AssertionError(f"no {what} within {seconds} s")


# `make test` runs the modules on as many workers as there are cores (pytest-xdist, one module to
# a worker at a time, in this order): the longest start first rather than last.
LONGEST_FIRST = (
    "test_range_runs.py",
    "test_interruptions.py",
    "test_invitation_rule_properties.py",
    "test_demo.py",
    "test_backfills.py",
)


def pytest_configure(config: pytest.Config) -> None:
    """Before any worker starts: the dbt manifest Dagster's definitions read is brought up to
    date once, instead of by each worker at the same time (importing the project does it)."""
    if not hasattr(config, "workerinput"):
        import orchestration.project  # noqa: F401


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        name = item.path.name
        return LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)


@pytest.fixture
def data(tmp_path: Path) -> DataFolder:
    return DataFolder(tmp_path)


@pytest.fixture(scope="module")
def module_data(tmp_path_factory: pytest.TempPathFactory) -> DataFolder:
    """One data folder shared by a module's tests: its scenario runs once, then each test reads."""
    return DataFolder(tmp_path_factory.mktemp("data"))


@dataclass
class Browser:
    """Headless Chromium (Debian's `chromium`), started per page; nothing leaves the machine."""

    executable: str
    profile: Path

    def _run(self, *arguments: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [
                self.executable,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                f"--user-data-dir={self.profile}",
                *arguments,
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )

    def screenshot(self, page: Path, out: Path, size: tuple[int, int]) -> Path:
        self._run(f"--window-size={size[0]},{size[1]}", f"--screenshot={out}", page.as_uri())
        return out

    def dom(self, page: Path) -> str:
        """The page's document as the browser built it (after parsing and scripts)."""
        return self._run("--dump-dom", page.as_uri()).stdout


@pytest.fixture
def browser(tmp_path: Path) -> Browser:
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        message = "Chromium is not installed (Debian: apt-get install chromium)"
        if os.environ.get("FEEDBACK_REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    return Browser(executable, tmp_path / "chromium-profile")
