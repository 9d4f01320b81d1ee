"""BI tools read `reporting.duckdb` (and Parquet) alongside the runs, never blocking them.

A reader process opens reporting.duckdb after the run of 2 March (one invitation) and keeps the
connection open across the run of 3 March (a second invitation): that run exits 0, the old
connection still answers with the old figure, and a new connection sees the new one.
"""

import subprocess
import sys

import duckdb
from conftest import CONTACT_HEADER, invitation_id

from feedback.core.settings import Settings
from feedback.reporting.bi_copy import write_reporting

READER = """
import sys, duckdb
conn = duckdb.connect(sys.argv[1], read_only=True)
query = "select count(*) from marts.feedback_invitations"
print(conn.execute(query).fetchone()[0], flush=True)
sys.stdin.readline()
print(conn.execute(query).fetchone()[0], flush=True)
"""


def contact(event_id: str, day: str) -> str:
    return (
        CONTACT_HEADER
        + f"{event_id},k-{event_id},new_policy,2026-03-{day} 10:00:00,{event_id}@example.nl,,,web\n"
    )


def test_a_reader_holding_reporting_open_neither_blocks_nor_sees_half_a_run(data):
    data.land("contact_events", "contacts-2026-03-01.csv", contact("e-1", "01"))
    data.run("2026-03-02")
    reporting = data.root / "reporting.duckdb"
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(reporting)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert reader.stdout.readline().strip() == "1"
        data.land("contact_events", "contacts-2026-03-02.csv", contact("e-2", "02"))
        code, output = data.run("2026-03-03")
        assert code == 0, output
        # The old connection still answers, from the copy it opened.
        reader.stdin.write("again\n")
        reader.stdin.flush()
        assert reader.stdout.readline().strip() == "1"
    finally:
        reader.kill()
        reader.wait()

    conn = duckdb.connect(str(reporting), read_only=True)
    try:
        assert conn.execute("select count(*) from marts.feedback_invitations").fetchone() == (2,)
        schemas = {
            row[0]
            for row in conn.execute(
                "select distinct table_schema from information_schema.tables"
            ).fetchall()
        }
        assert schemas == {"marts", "audit"}
        assert conn.execute("select count(*) from audit.ingested_files").fetchone() == (2,)
    finally:
        conn.close()

    parquet = data.root / "reporting" / "marts"
    assert parquet.is_symlink()
    assert {p.stem for p in parquet.glob("*.parquet")} >= {
        "feedback_invitations",
        "survey_responses",
        "quarterly_satisfaction",
        "quarterly_satisfaction_by_contact_type",
    }
    assert duckdb.sql(
        f"select count(*) from '{parquet}/feedback_invitations.parquet'"
    ).fetchall() == [(2,)]
    # One version of the Parquet folder is kept: the one the link points at.
    assert len(list((data.root / "reporting").glob("marts-*"))) == 1


def test_a_reader_holding_the_warehouse_itself_fails_the_run_at_once_with_what_to_do(data):
    """warehouse.duckdb is the runs' own: a reader that opens it anyway stops the run, which
    says who holds it and where readers belong, and changes nothing; once it lets go, the run
    completes."""
    data.land("contact_events", "contacts-2026-03-01.csv", contact("e-1", "01"))
    data.run("2026-03-02")
    delivery = data.land("contact_events", "contacts-2026-03-02.csv", contact("e-2", "02"))
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(data.root / "warehouse.duckdb")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert reader.stdout.readline().strip() == "1"
        code, output = data.run("2026-03-03", expect_success=False)
    finally:
        reader.kill()
        reader.wait()

    assert code == 1
    assert "Conflicting lock is held in" in output and f"(PID {reader.pid})" in output
    assert "Another process holds warehouse.duckdb open" in output
    assert "BI tools and notebooks read reporting.duckdb" in output
    assert delivery.exists()
    assert data.outbox() == [invitation_id("e-1")]

    data.run("2026-03-03")
    assert data.outbox() == sorted([invitation_id("e-1"), invitation_id("e-2")])


def test_a_data_folder_copied_without_its_link_still_gets_the_new_parquet(tmp_path):
    """A backup tool that follows links restores `reporting/marts` as a folder of old files."""
    conn = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    conn.execute("create schema marts; create schema audit")
    conn.execute("create table marts.feedback_invitations as select 'inv-1' as invitation_id")
    conn.close()
    restored = tmp_path / "reporting" / "marts"
    restored.mkdir(parents=True)
    (restored / "feedback_invitations.parquet").write_text("an earlier run's file")

    rows = write_reporting(Settings.from_env({"FEEDBACK_DATA_DIR": str(tmp_path)}))

    assert rows == {"marts.feedback_invitations": 1}
    assert restored.is_symlink()
    assert duckdb.sql(
        f"select invitation_id from '{restored}/feedback_invitations.parquet'"
    ).fetchall() == [("inv-1",)]
