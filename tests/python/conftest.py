"""Fixtures: a temporary data folder with real landing files, and `feedback run` in process."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from feedback import cli


@dataclass
class DataFolder:
    root: Path

    def land(self, source: str, name: str, text: str, encoding: str = "utf-8") -> Path:
        """Drop a delivery into landing/<source>/ (text as given: header, separators, endings)."""
        folder = self.root / "landing" / source
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / name
        path.write_bytes(text.encode(encoding))
        return path

    def query(self, sql: str, params: list | None = None) -> list[tuple]:
        conn = duckdb.connect(str(self.root / "warehouse.duckdb"), read_only=True)
        try:
            return conn.execute(sql, params or []).fetchall()
        finally:
            conn.close()

    def published(self) -> dict | None:
        path = self.root / "public" / "klanttevredenheid.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> DataFolder:
    monkeypatch.setenv("FEEDBACK_DATA_DIR", str(tmp_path))
    for name in (
        "FEEDBACK_SMTP_HOST",
        "FEEDBACK_SMTP_PORT",
        "FEEDBACK_SMTP_USER",
        "FEEDBACK_SMTP_PASSWORD",
        "FEEDBACK_SMTP_STARTTLS",
        "FEEDBACK_SENDER_ADDRESS",
    ):
        monkeypatch.delenv(name, raising=False)
    return DataFolder(tmp_path)


@pytest.fixture
def run(capsys: pytest.CaptureFixture):
    """`feedback run --as-of D` in process; returns (exit code, printed output)."""

    def run_for(as_of: str, expect_success: bool = True) -> tuple[int, str]:
        code = cli.main(["run", "--as-of", as_of])
        captured = capsys.readouterr()
        output = captured.out + captured.err
        if expect_success:
            assert code == 0, output
        return code, output

    return run_for


CONTACT_HEADER = (
    "event_id,customer_id,contact_type,occurred_at,email,customer_name,product,channel\n"
)
KCM_HEADER = "response_id;invitation_id;questionnaire_id;completed_at;grade;comment\n"
