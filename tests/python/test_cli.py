"""`feedback` refuses bad settings and arguments, and a run while another is busy, clearly and
before touching any data."""

import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import pytest
from conftest import CONTACT_HEADER, dbt
from dagster._core.instance.ref import InstanceRef
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

from feedback.core.settings import parse_run_date, today_in_amsterdam
from feedback.core.warehouse import connect
from feedback_cli import main as cli
from orchestration import private_speedups
from orchestration.definitions import defs
from orchestration.instance import dagster_instance
from orchestration.private_speedups import PooledSqliteEventLogStorage
from orchestration.resources import run_config_for


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        (
            ["run", "--as-of", "2026-02-30"],
            {},
            "feedback run failed: run date '2026-02-30' is not a date like 2026-04-01",
        ),
        (
            ["run", "--as-of", "1-4-2026"],
            {},
            "feedback run failed: run date '1-4-2026' is not a date like 2026-04-01",
        ),
        (
            ["run", "--as-of", "2026-04-01"],
            {"FEEDBACK_SMTP_HOST": "127.0.0.1", "FEEDBACK_SMTP_PORT": "smtp"},
            "feedback run failed: FEEDBACK_SMTP_PORT='smtp' is not a port number",
        ),
        (
            ["run", "--as-of", "2026-04-01"],
            {"FEEDBACK_SMTP_HOST": "127.0.0.1", "FEEDBACK_SMTP_PORT": "70000"},
            "feedback run failed: FEEDBACK_SMTP_PORT='70000' is not a port number",
        ),
        (
            ["run", "--as-of", "2026-04-01"],
            {"FEEDBACK_SMTP_HOST": "127.0.0.1", "FEEDBACK_SMTP_STARTTLS": "ture"},
            "feedback run failed: FEEDBACK_SMTP_STARTTLS='ture' is not a yes or a no (1, true, yes,"
            " on; 0, false, no, off)",
        ),
        (
            ["run", "--as-of", "2026-04-01"],
            {"FEEDBACK_SMTP_HOST": "127.0.0.1", "FEEDBACK_SMTP_RATE": "nan"},
            "feedback run failed: FEEDBACK_SMTP_RATE='nan' is not a number",
        ),
        (
            ["run", "--as-of", "2026-04-01"],
            {"FEEDBACK_DATA_DIR": "~/feedback-data"},
            "feedback run failed: FEEDBACK_DATA_DIR='~/feedback-data' starts with ~, which only a"
            " shell expands: give the folder's full path",
        ),
        (
            ["run", "--as-of", "2026-04-01"],
            {"FEEDBACK_MEMORY_LIMIT": "lots"},
            "feedback run failed: FEEDBACK_MEMORY_LIMIT='lots' is not a size like 2GB or 512MB",
        ),
    ],
)
def test_bad_input_exits_1_with_a_clear_message(tmp_path, monkeypatch, capsys, argv, env, message):
    monkeypatch.setenv("FEEDBACK_DATA_DIR", str(tmp_path))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert cli.main(argv) == 1
    assert capsys.readouterr().err.strip() == message
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("argv", [["run", "--as-of"], ["run", "--from", "2026-04-01", "--to"]])
def test_a_run_date_more_than_a_year_ahead_is_refused_before_anything_is_masked(
    tmp_path, monkeypatch, capsys, argv
):
    # A year mistyped, 2062 for 2026: the run would mask every record's personal data.
    today = today_in_amsterdam()
    monkeypatch.setenv("FEEDBACK_DATA_DIR", str(tmp_path))
    assert cli.main([*argv, str(today + timedelta(days=367))]) == 1
    assert capsys.readouterr().err.strip() == (
        f"feedback run failed: run date {today + timedelta(days=367)} is more than a year after"
        f" today ({today}): a run masks the personal data of every record dated 3 months before"
        " its run date, for good; check the date"
    )
    assert list(tmp_path.iterdir()) == []
    assert parse_run_date(str(today + timedelta(days=366))) == today + timedelta(days=366)


def test_a_data_folder_that_cannot_be_used_exits_1_with_a_clear_message(
    tmp_path, monkeypatch, capsys
):
    a_file = tmp_path / "data"
    a_file.write_text("kept")
    for data_dir, message in (
        (a_file, f"FEEDBACK_DATA_DIR='{a_file}' is not a folder"),
        (a_file / "sub", f"[Errno 20] Not a directory: '{a_file / 'sub'}'"),
    ):
        monkeypatch.setenv("FEEDBACK_DATA_DIR", str(data_dir))
        assert cli.main(["run", "--as-of", "2026-04-01"]) == 1
        assert capsys.readouterr().err.strip() == f"feedback run failed: {message}"
    assert a_file.read_text() == "kept"


def test_an_unforeseen_error_is_named_on_the_first_line_with_its_traceback_below(
    tmp_path, monkeypatch, capsys
):
    def fails(*args, **kwargs):
        raise KeyError("a key no run has")

    monkeypatch.setenv("FEEDBACK_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(cli, "execute_run", fails)
    assert cli.main(["run", "--as-of", "2026-04-01"]) == 1
    said = capsys.readouterr().err
    assert said.startswith("feedback run failed: KeyError: 'a key no run has'\nTraceback")
    assert "is full or nearly" not in said


def test_ctrl_c_outside_the_steps_says_the_run_was_interrupted_and_exits_130(
    tmp_path, monkeypatch, capsys
):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setenv("FEEDBACK_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(cli, "execute_run", interrupted)
    assert cli.main(["run", "--as-of", "2026-04-01"]) == 130
    assert capsys.readouterr().err == (
        "feedback run interrupted: nothing unsent counts as sent, and the next run completes"
        " this one\n"
    )


def hold_the_lock(data_root: Path) -> subprocess.Popen:
    """Another process holding the data folder's run lock, as a busy run does."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path\n"
            "from feedback.core.run_lock import run_lock\n"
            "with run_lock(Path(sys.argv[1])):\n"
            "    print('held', flush=True); time.sleep(120)",
            str(data_root),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_a_run_while_another_is_busy_refuses_at_once_and_touches_nothing(data):
    landed = data.land("contact_events", "contacts-2026-03-01.csv", CONTACT_HEADER)
    holder = hold_the_lock(data.root)
    try:
        code, output = data.run("2026-03-02", expect_success=False)
        assert code == cli.EXIT_BUSY == 75
        assert "feedback run refused: another feedback run is busy on" in output
        assert f"(pid {holder.pid}, since " in output
        assert "this one changed nothing" in output
        assert landed.exists()
        assert sorted(p.name for p in data.root.iterdir()) == [".run.lock", "landing"]

        # A run Dagster launches (a schedule's) refuses the same way.
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("FEEDBACK_DATA_DIR", str(data.root))
            result = defs.resolve_job_def("feedback_quarter_close").execute_in_process(
                run_config=run_config_for(date(2026, 4, 1)),
                instance=dg.DagsterInstance.ephemeral(),
                raise_on_error=False,
            )
        assert not result.success
        assert sorted(p.name for p in data.root.iterdir()) == [".run.lock", "landing"]
    finally:
        holder.kill()
        holder.wait()

    # The holder was killed: its lock went with it, and the next run completes.
    _, output = data.run("2026-03-02")
    assert "feedback run for 2026-03-02: completed" in output
    assert not landed.exists()


def test_the_feedback_command_exits_with_the_status_of_main(tmp_path):
    holder = hold_the_lock(tmp_path)
    try:
        command = subprocess.run(
            [str(Path(sys.executable).with_name("feedback")), "run", "--as-of", "2026-03-02"],
            env={**os.environ, "FEEDBACK_DATA_DIR": str(tmp_path)},
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        holder.kill()
        holder.wait()
    assert command.returncode == cli.EXIT_BUSY
    assert command.stderr.startswith("feedback run refused: another feedback run is busy")


def test_dbt_and_dagster_are_imported_once_and_set_aside_from_the_collector():
    """A run's process imports dbt's and Dagster's modules once; the collector is back on
    afterwards, and does not walk the objects they made (in a process of its own, as a run's)."""
    check = (
        "import gc; from feedback_cli import run; defs = run._definitions(); frozen ="
        " gc.get_freeze_count(); print(gc.isenabled(), frozen > 100_000,"
        " run._definitions() is defs, gc.get_freeze_count() == frozen)"
    )
    shown = subprocess.run(
        [sys.executable, "-c", check], capture_output=True, text=True, check=True, timeout=120
    )
    assert shown.stdout.split() == ["True", "True", "True", "True"]


def test_a_new_days_run_reuses_dbts_parse_of_the_project_and_builds_for_its_date(data, monkeypatch):
    """Each run in production is a process of its own and reads dbt's saved parse of the
    project; the run date changing every day must not make dbt parse files again."""
    data.land(
        "contact_events",
        "contacts-2026-03-01.csv",
        CONTACT_HEADER + "e1,c1,policy_taken_out,2026-03-01T10:00:00+01:00,"
        "a@example.org,A,car,web\n",
    )
    log = data.root / "dbt" / "dbt.log"
    for day in ("2026-03-02", "2026-03-03"):
        # As in a new process: nothing parsed yet.
        monkeypatch.setattr(private_speedups, "_parsed", {})
        data.run(day)
        assert data.query("select max(evaluated_for_run_date) from marts.contact_outcomes") == [
            (date.fromisoformat(day),)
        ]
    parses = [text for text in log.read_text().split("Running with dbt") if "cli parse" in text]
    assert len(parses) == 2
    assert "Partial parsing enabled, no changes found, skipping parsing" in parses[-1]


def test_runs_are_stored_where_dagsters_own_classes_read_them(data):
    """`feedback run` writes the event log through connections it keeps open; the UI and the
    daemon read (and write) the same files with Dagster's own storage classes."""
    data.land(
        "contact_events",
        "contacts-2026-03-01.csv",
        CONTACT_HEADER + "e1,c1,policy_taken_out,2026-03-01T10:00:00+01:00,"
        "a@example.org,A,car,web\n",
    )
    data.run("2026-03-02")
    data.run("2026-03-03")
    with dagster_instance(data.root) as instance:
        assert isinstance(instance.event_log_storage, PooledSqliteEventLogStorage)

    home = data.root / "dagster"
    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as ui:
        assert type(ui.event_log_storage) is SqliteEventLogStorage
        runs = ui.get_runs()
        assert [run.tags["feedback/run_date"] for run in runs] == ["2026-03-03", "2026-03-02"]
        assert all(run.status == dg.DagsterRunStatus.SUCCESS for run in runs)
        latest = ui.get_latest_materialization_event(dg.AssetKey(["marts", "contact_outcomes"]))
        assert latest.run_id == runs[0].run_id
        for run in runs:
            checks = ui.get_records_for_run(
                run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
            ).records
            assert checks and all(
                c.event_log_entry.dagster_event.event_specific_data.passed for c in checks
            )


def test_a_storage_named_in_dagster_yaml_is_used_as_written(tmp_path, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    home = tmp_path / "data" / "dagster"
    home.mkdir(parents=True)
    (home / "dagster.yaml").write_text(
        f"storage:\n  sqlite:\n    base_dir: {tmp_path / 'elsewhere'}\n"
    )
    with dagster_instance(tmp_path / "data") as instance:
        assert type(instance.event_log_storage) is SqliteEventLogStorage
        assert instance.event_log_storage._base_dir.startswith(str(tmp_path / "elsewhere"))


def test_ui_opens_dagster_on_the_data_folders_instance(tmp_path, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.setenv("FEEDBACK_DATA_DIR", str(tmp_path / "data"))
    argv, env, cwd = cli.ui_command(cli.Settings.from_env(), 3000)
    home = tmp_path / "data" / "dagster"
    assert argv[1:] == ["dev", "--host", "127.0.0.1", "--port", "3000"]
    assert Path(argv[0]).name == "dagster" and Path(argv[0]).exists()
    assert env["DAGSTER_HOME"] == str(home)
    assert (cwd / "pyproject.toml").exists()
    with dagster_instance(tmp_path / "data") as instance:
        # The project's settings: no usage statistics, one run at a time.
        assert (home / "dagster.yaml").read_text() == (cwd / "dagster.yaml").read_text()
        assert instance.get_concurrency_config().run_queue_config.max_concurrent_runs == 1

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "elsewhere"))
    _, env, _ = cli.ui_command(cli.Settings.from_env(), 3000)
    assert env["DAGSTER_HOME"] == str(tmp_path / "elsewhere")
    assert (tmp_path / "elsewhere" / "dagster.yaml").exists()


def test_feedback_ui_replaces_itself_with_dagster_dev(tmp_path, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.setenv("FEEDBACK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    started = []

    class Replaced(BaseException):
        """os.execve does not return: the process becomes `dagster dev` (nothing after it runs,
        no handler of `main` either)."""

    def execve(*call):
        started.append(call)
        raise Replaced

    monkeypatch.setattr(cli.os, "execve", execve)
    with pytest.raises(Replaced):
        cli.main(["ui", "--port", "3123"])
    ((executable, argv, env),) = started
    assert argv == [executable, "dev", "--host", "127.0.0.1", "--port", "3123"]
    assert env["DAGSTER_HOME"] == str(tmp_path / "data" / "dagster")
    assert (Path.cwd() / "dagster.yaml").exists()


@pytest.mark.parametrize(("limit", "shown"), [(None, "1.8 GiB"), ("1GiB", "1.0 GiB")])
def test_duckdb_keeps_to_the_memory_limit_in_dbt_and_in_python(tmp_path, monkeypatch, limit, shown):
    """DuckDB's own default is 80% of the machine; a run's connections, dbt's included, keep to
    FEEDBACK_MEMORY_LIMIT (2GB = 1.8 GiB by default) and spill beyond it."""
    monkeypatch.setenv("FEEDBACK_DATA_DIR", str(tmp_path))
    if limit:
        monkeypatch.setenv("FEEDBACK_MEMORY_LIMIT", limit)
    else:
        monkeypatch.delenv("FEEDBACK_MEMORY_LIMIT", raising=False)
    warehouse = tmp_path / "warehouse.duckdb"
    with connect(warehouse) as conn:
        assert conn.execute(
            "select current_setting('memory_limit'), current_setting('temp_directory')"
        ).fetchone() == (shown, f"{warehouse}.tmp")
    shown_by_dbt = dbt(
        ["show", "--quiet", "--inline", "select current_setting('memory_limit') as m"],
        tmp_path / "dbt",
    )
    assert shown_by_dbt.success, shown_by_dbt.exception
    assert shown_by_dbt.result.results[0].agate_table.rows[0]["m"] == shown
