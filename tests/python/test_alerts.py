"""Operations is told: a run that fails, or completes with invitations refused for good, sends one
alert (to FEEDBACK_ALERT_ADDRESS through the sender's SMTP settings, or to alerts/), with the run
date, the failed step and its cause, the counts and a link to the run; no personal data.

Klaas (k-1) has a contact on 1 March; the run of 2 March invites him. Then the raw contacts lose
a column, so the rules cannot be built: the run of 3 March fails in dbt_rules. Rik's address is
one the test server refuses for good (550).
"""

from __future__ import annotations

import os
import sys
import time
from email import message_from_bytes, policy
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from conftest import CONTACT_HEADER, background, wait_for
from smtp_server import Handler, start_server

from orchestration.alerts import alert_on_completed_run, alert_on_failed_run
from orchestration.instance import dagster_instance

REPO = Path(__file__).resolve().parents[2]
KLAAS = "e-1,k-1,new_policy,2026-03-01 10:00:00,klaas@example.nl,Klaas Klant,,web\n"
RIK = "e-2,k-2,new_policy,2026-03-01 10:05:00,refused@example.nl,Rik Refusé,,web\n"
PERSONAL = ("klaas@example.nl", "Klaas", "refused@example.nl", "Rik", "k-1", "k-2")
UI = "https://dagster.verzekeraar.example"


@pytest.fixture
def server():
    handler = Handler()
    controller = start_server(handler)
    yield (
        handler,
        {
            "FEEDBACK_SMTP_HOST": "127.0.0.1",
            "FEEDBACK_SMTP_PORT": str(controller.port),
            "FEEDBACK_SMTP_RETRY_SECONDS": "1",
        },
    )
    controller.stop()


def _break_the_rules(data) -> None:
    conn = duckdb.connect(str(data.root / "warehouse.duckdb"))
    conn.execute("alter table raw.contact_events drop column channel")
    conn.close()


def _alerts(handler: Handler) -> list:
    messages = [message_from_bytes(data, policy=policy.default) for _, data in handler.received]
    return [m for m in messages if m["To"] and "operations@" in m["To"]]


def _evaluate(data, sensor, event_type, env: dict[str, str], monkeypatch) -> dg.DagsterRun:
    """Evaluate `sensor` in process on the folder's latest run, as the daemon would."""
    monkeypatch.setenv("FEEDBACK_DATA_DIR", str(data.root))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with dagster_instance(data.root) as instance:
        run = instance.get_runs(limit=1)[0]
        (record,) = instance.get_records_for_run(run.run_id, of_type=event_type).records
        context = dg.build_run_status_sensor_context(
            sensor_name=sensor.name,
            dagster_instance=instance,
            dagster_run=run,
            dagster_event=record.event_log_entry.dagster_event,
        )
        if event_type == dg.DagsterEventType.RUN_FAILURE:
            context = context.for_run_failure()
        sensor(context)
    return run


def test_a_failed_run_sends_one_alert_with_its_step_cause_counts_and_link(
    data, server, monkeypatch
):
    handler, smtp = server
    env = {**smtp, "FEEDBACK_ALERT_ADDRESS": "Operations <operations@example.nl>"}
    env["FEEDBACK_UI_URL"] = UI
    data.land("contact_events", "contacts-2026-03-01.csv", CONTACT_HEADER + KLAAS)
    data.run("2026-03-02", env=env)
    _break_the_rules(data)
    assert data.run("2026-03-03", env=env, expect_success=False)[0] == 1

    run = _evaluate(data, alert_on_failed_run, dg.DagsterEventType.RUN_FAILURE, env, monkeypatch)
    (alert,) = _alerts(handler)
    assert alert["Subject"] == "feedback run for 2026-03-03 failed: needs attention"
    body = alert.get_content()
    assert "The feedback run for 2026-03-03 (feedback run) failed." in body
    assert "Step dbt_rules failed: " in body
    assert "dbt build failed: model base_contacts__events: error" in body
    assert "raw/contact_events: " in body and "files_loaded 0" in body
    assert f"The run in the Dagster UI: {UI}/runs/{run.run_id}" in body
    assert not any(value in alert.as_string() for value in PERSONAL)
    assert not (data.root / "alerts").exists()


def test_a_run_with_refused_invitations_writes_its_alert_to_the_folder_without_an_address(
    data, server, monkeypatch
):
    handler, smtp = server
    data.land("contact_events", "contacts-2026-03-01.csv", CONTACT_HEADER + KLAAS + RIK)
    assert data.run("2026-03-02", env=smtp, expect_success=False)[0] == 3

    run = _evaluate(
        data, alert_on_completed_run, dg.DagsterEventType.RUN_SUCCESS, smtp, monkeypatch
    )
    assert _alerts(handler) == []
    (path,) = (data.root / "alerts").iterdir()
    assert path.name == f"2026-03-02-{run.run_id}.eml"
    alert = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert alert["Subject"] == "feedback run for 2026-03-02 completed: needs attention"
    body = alert.get_content()
    assert "The mail server refused 1 invitation(s) for good" in body
    assert "invitations/invitation_emails: " in body and "refused 1" in body and "sent 1" in body
    assert f"http://127.0.0.1:3000/runs/{run.run_id}" in body
    assert not any(value in alert.as_string() for value in PERSONAL)


def test_a_run_that_needs_nothing_sends_no_alert(data, monkeypatch):
    data.land("contact_events", "contacts-2026-03-01.csv", CONTACT_HEADER + KLAAS)
    data.run("2026-03-02")
    _evaluate(data, alert_on_completed_run, dg.DagsterEventType.RUN_SUCCESS, {}, monkeypatch)
    assert not (data.root / "alerts").exists()


def test_the_daemon_alerts_once_for_a_feedback_run_that_failed(data, server, tmp_path):
    """Dagster's daemon, on the data folder's instance, evaluates the sensor for a run that
    `feedback run` started in its own process."""
    handler, smtp = server
    env = {**smtp, "FEEDBACK_ALERT_ADDRESS": "operations@example.nl"}
    data.land("contact_events", "contacts-2026-03-01.csv", CONTACT_HEADER + KLAAS)
    data.run("2026-03-02", env=env)
    home = data.root / "dagster"
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("FEEDBACK_", "DAGSTER_"))}
    daemon_env = {**clean, **env, "FEEDBACK_DATA_DIR": str(data.root), "DAGSTER_HOME": str(home)}
    dagster_daemon = str(Path(sys.executable).with_name("dagster-daemon"))
    with background([dagster_daemon, "run"], daemon_env, REPO, tmp_path / "daemon.log") as daemon:

        def sensor_ticked():
            with dagster_instance(data.root) as instance:
                states = [
                    state
                    for state in instance.all_instigator_state()
                    if state.instigator_name == "alert_on_failed_run"
                ]
                return states and instance.get_ticks(
                    states[0].instigator_origin_id, states[0].selector_id, limit=1
                )

        # Its first tick marks where it starts; runs after it are alerted.
        wait_for("first tick of the alert sensor", sensor_ticked, 180, daemon)
        _break_the_rules(data)
        assert data.run("2026-03-03", env=env, expect_success=False)[0] == 1
        (alert,) = wait_for("alert", lambda: _alerts(handler), 120, daemon)
        assert alert["Subject"] == "feedback run for 2026-03-03 failed: needs attention"
        assert "Step dbt_rules failed" in alert.get_content()
        # One per run: later ticks do not send it again.
        time.sleep(35)
        assert len(_alerts(handler)) == 1
