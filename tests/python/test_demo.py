"""`feedback demo` on a fresh checkout: a generated year as one range run, then the story."""

import json
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import duckdb
from conftest import CONTACT_HEADER
from smtp_server import Handler, start_server

from feedback.core.settings import Settings
from feedback.core.warehouse import connect
from feedback.landing.anomalies import contact_anomalies, response_anomalies
from feedback_cli import main as cli

FEEDBACK = Path(sys.executable).parent / "feedback"


def demo(cwd: Path, **settings: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FEEDBACK_")} | settings
    return subprocess.run(
        [str(FEEDBACK), "demo"], cwd=cwd, env=env, capture_output=True, text=True, timeout=1200
    )


def test_demo_runs_a_year_as_one_range_and_tells_what_came_of_it(tmp_path):
    # An empty warehouse, as a bare `dbt build` or `sqlfluff lint` leaves, is simulated into.
    with connect(tmp_path / "data" / "warehouse.duckdb"):
        pass
    # A mail server set in the environment (production's, say) gets none of the made-up
    # addresses: the demo writes to outbox/.
    handler = Handler()
    server = start_server(handler)
    try:
        first = demo(tmp_path, FEEDBACK_SMTP_HOST="127.0.0.1", FEEDBACK_SMTP_PORT=str(server.port))
    finally:
        server.stop()
    assert first.returncode == 0, first.stderr
    out = first.stdout
    assert handler.received == []
    assert "FEEDBACK_SMTP_HOST is set; the demo writes its invitations to" in out
    assert " sent to outbox/, 0 refused" in out
    # The generated deliveries never look like a silent source.
    assert "warn: raw/" not in out and "error: raw/" not in out
    assert len(list((tmp_path / "data" / "outbox").glob("*.eml"))) > 1000
    assert "== feedback run --from 2025-04-01 --to 2026-04-01" in out
    # Progress while it works: each step, and month by month over the range.
    for line in (
        "loading the files in landing/",
        "sending: through 2025-04-30,",
        "masking: through 2026-03-31,",
        "publishing the quarter just ended",
    ):
        assert line in out
    published = json.loads((tmp_path / "data" / "public" / "klanttevredenheid.json").read_text())
    assert published["quarter"] == "2026-Q1"
    assert published["published_on"] == "2026-04-01"

    conn = duckdb.connect(str(tmp_path / "data" / "warehouse.duckdb"), read_only=True)
    try:
        quarters = conn.execute(
            "select quarter, published_grade, response_count, published_on"
            " from marts.quarterly_satisfaction order by quarter"
        ).fetchall()
        outcomes = dict(
            conn.execute(
                "select outcome, count(*) from marts.contact_outcomes group by outcome"
            ).fetchall()
        )
        responses, to_unknown_invitations = conn.execute(
            "select count(*), count(*) filter (where contact_type is null)"
            " from marts.survey_responses"
        ).fetchone()
    finally:
        conn.close()
    # Four quarters, each published on the first run of the next.
    assert [(q, str(on)) for q, _, _, on in quarters] == [
        ("2025-Q2", "2025-07-01"),
        ("2025-Q3", "2025-10-01"),
        ("2025-Q4", "2026-01-01"),
        ("2026-Q1", "2026-04-01"),
    ]
    for quarter, grade, count, on in quarters:
        assert f"  {quarter}: {grade} over {count} grades, published {on}" in out
    assert (published["average_grade"], published["response_count"]) == (
        float(quarters[-1][1]),
        quarters[-1][2],
    )

    # The funnel adds up, with the 28-day rule holding back a real share.
    assert f"  contacts {sum(outcomes.values()):>40}" in out
    assert outcomes["emailed_within_quiet_period"] > 0.05 * outcomes["invited"]
    assert (
        f"held back by the quiet period: an e-mail shortly before the contact:"
        f" {outcomes['emailed_within_quiet_period']}" in out
    )
    assert f"  invited {outcomes['invited']:>41}" in out
    # KCM answers the invitations the runs sent: the generator follows the 28-day rule.
    assert to_unknown_invitations == 0
    assert 0.15 * outcomes["invited"] < responses < 0.35 * outcomes["invited"]
    reports = sorted(p.name for p in (tmp_path / "data" / "reports").glob("*.html"))
    assert reports == [f"klanttevredenheid-{q}.html" for q, _, _, _ in quarters]
    for where in (
        "klanttevredenheid.html",
        "klanttevredenheid-2026-Q1.html",
        "reporting.duckdb",
        "make ui",
        "dbt docs",
    ):
        assert where in out.split("== where to look next ==")[1]

    # No false alarm on any day of the generated year: every daily run's checks of the day's
    # contacts and answers against the weeks before raise nothing.
    settings = Settings.from_env({"FEEDBACK_DATA_DIR": str(tmp_path / "data")})
    day, alarms = date(2025, 4, 1), {}
    while day <= date(2026, 4, 1):
        if found := contact_anomalies(settings, day) + response_anomalies(settings, day):
            alarms[day] = found
        day += timedelta(days=1)
    assert alarms == {}

    # A second call shows what is there instead of simulating over it.
    again = demo(tmp_path)
    assert again.returncode == 0, again.stderr
    assert "already holds loaded deliveries; showing them as they are" in again.stdout
    assert f"  2026-Q1: {quarters[-1][1]} over {quarters[-1][2]} grades" in again.stdout


def test_the_demo_leaves_a_folder_with_deliveries_waiting_as_it_is(tmp_path, monkeypatch, capsys):
    # A production folder before its first run: generated contacts must not join its files.
    waiting = tmp_path / "landing" / "contact_events" / "contacts-2026-11-26.csv"
    waiting.parent.mkdir(parents=True)
    waiting.write_text(CONTACT_HEADER)
    (tmp_path / "landing" / ".gitkeep").touch()  # passed over, as by the runs
    monkeypatch.setenv("FEEDBACK_DATA_DIR", str(tmp_path))
    assert cli.main(["demo"]) == 1
    assert capsys.readouterr().err.strip() == (
        f"feedback demo failed: {tmp_path / 'landing'} holds 1 file(s) no run has loaded yet,"
        " which the demo would load with its generated year; it runs on a data folder without"
        " deliveries: set FEEDBACK_DATA_DIR to an empty folder"
    )
    # the file waits as it was; beside it only the lock every command takes
    assert sorted(p for p in tmp_path.rglob("*") if p.is_file()) == [
        tmp_path / ".run.lock",
        tmp_path / "landing" / ".gitkeep",
        waiting,
    ]
    assert waiting.read_text() == CONTACT_HEADER
