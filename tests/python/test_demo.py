"""`feedback demo` on a fresh checkout: synthetic data through 2026-Q1, then the figure."""

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb

from feedback.warehouse import connect

FEEDBACK = Path(sys.executable).parent / "feedback"


def demo(cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FEEDBACK_")}
    return subprocess.run(
        [str(FEEDBACK), "demo"], cwd=cwd, env=env, capture_output=True, text=True, timeout=900
    )


def test_demo_simulates_the_quarter_and_publishes_it(tmp_path):
    # An empty warehouse, as a bare `dbt build` or `sqlfluff lint` leaves, is simulated into.
    with connect(tmp_path / "data" / "warehouse.duckdb"):
        pass
    first = demo(tmp_path)
    assert first.returncode == 0, first.stderr
    assert "== simulated run 2026-04-01 ==" in first.stdout
    published = json.loads((tmp_path / "data" / "public" / "klanttevredenheid.json").read_text())
    assert published["quarter"] == "2026-Q1"
    assert published["published_on"] == "2026-04-01"

    conn = duckdb.connect(str(tmp_path / "data" / "warehouse.duckdb"), read_only=True)
    try:
        grade, count = conn.execute(
            "select published_grade, response_count from marts.quarterly_satisfaction"
            " where quarter = '2026-Q1'"
        ).fetchone()
        invited = conn.execute("select count(*) from marts.feedback_invitations").fetchone()[0]
    finally:
        conn.close()
    assert published["average_grade"] == float(grade)
    assert published["response_count"] == count > 0
    assert invited > count
    assert f"2026-Q1: {grade}" in first.stdout

    # A second call shows what is there instead of simulating over it.
    again = demo(tmp_path)
    assert again.returncode == 0, again.stderr
    assert "already holds loaded deliveries; showing them as they are" in again.stdout
    assert f"2026-Q1: {grade}" in again.stdout
