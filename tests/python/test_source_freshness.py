"""A source that went silent is seen: every run checks how many days before its date have no
record of each source (contacts warn after 2 and fail after 4, KCM's responses after 7 and 14),
as Dagster asset checks, in the run's summary and, past the error threshold, in an alert. A
silent source never stops a run.

The contacts' newest is of 1 March; KCM's newest response was completed on 20 February. The run
of 2 March finds the contacts fresh and no KCM response for 9 days (20 February is 10 days before
2 March: the 21st to the 1st have none), a warning. The run of 10 March finds 17 days without a
response, an error, which the alert carries.
"""

from __future__ import annotations

from email import message_from_bytes, policy

import dagster as dg
from conftest import CONTACT_HEADER, KCM_HEADER

from orchestration.alerts import alert_on_completed_run
from orchestration.instance import dagster_instance

CONTACTS = CONTACT_HEADER + "e-1,k-1,new_policy,2026-03-01 10:00:00,klaas@example.nl,Klaas,,web\n"
RESPONSES = KCM_HEADER + "r-1;inv-x;KCM-NP-01;2026-02-20T11:00:00+01:00;8;Prima geholpen\n"
KCM_WARNING = (
    "warn: raw/kcm_responses: no KCM response for 9 days: the newest is of 2026-02-20"
    " (warn after 7, error after 14)"
)


def _checks(data) -> dict[str, tuple[bool, dg.AssetCheckSeverity, str]]:
    with dagster_instance(data.root) as instance:
        run = instance.get_runs(limit=1)[0]
        records = instance.get_records_for_run(
            run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION, limit=1000
        ).records
    evaluations = [r.event_log_entry.dagster_event.event_specific_data for r in records]
    return {
        e.asset_key.to_user_string(): (e.passed, e.severity, e.description)
        for e in evaluations
        if e.check_name == "newest_record_recent"
    }


def _land(data) -> None:
    data.land("contact_events", "contacts-2026-03-01.csv", CONTACTS)
    data.land("kcm_responses", "kcm-2026-02-21.csv", RESPONSES)


def test_a_source_silent_past_its_warning_is_a_warning_that_stops_nothing(data):
    _land(data)
    code, output = data.run("2026-03-02")
    assert code == 0
    assert KCM_WARNING in output
    assert "raw/contact_events" not in output
    assert data.outbox() != []  # Klaas was invited all the same
    checks = _checks(data)
    assert checks["raw/contact_events"][0] is True
    assert checks["raw/kcm_responses"] == (
        False,
        dg.AssetCheckSeverity.WARN,
        KCM_WARNING.split("raw/kcm_responses: ")[1],
    )


def test_a_source_silent_past_its_error_is_in_the_alert(data, monkeypatch):
    _land(data)
    # Contacts are not checked: their thresholds are off.
    settings = {"FEEDBACK_FRESHNESS_CONTACTS": "off"}
    code, output = data.run("2026-03-10", env=settings)
    assert code == 0
    error = "error: raw/kcm_responses: no KCM response for 17 days: the newest is of 2026-02-20"
    assert error in output
    assert "raw/contact_events" not in output
    assert _checks(data)["raw/contact_events"] == (
        True,
        dg.AssetCheckSeverity.ERROR,
        "not checked: its thresholds are off",
    )

    monkeypatch.setenv("FEEDBACK_DATA_DIR", str(data.root))
    with dagster_instance(data.root) as instance:
        run = instance.get_runs(limit=1)[0]
        (record,) = instance.get_records_for_run(
            run.run_id, of_type=dg.DagsterEventType.RUN_SUCCESS
        ).records
        alert_on_completed_run(
            dg.build_run_status_sensor_context(
                sensor_name=alert_on_completed_run.name,
                dagster_instance=instance,
                dagster_run=run,
                dagster_event=record.event_log_entry.dagster_event,
            )
        )
    (path,) = (data.root / "alerts").iterdir()
    alert = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert f"Checks that did not pass:\n  {error}" in alert.get_content()


def test_thresholds_that_make_no_sense_are_refused(data):
    _land(data)
    code, output = data.run(
        "2026-03-02", env={"FEEDBACK_FRESHNESS_KCM": "14,7"}, expect_success=False
    )
    assert code == 1
    assert "FEEDBACK_FRESHNESS_KCM='14,7': the error comes after the warning" in output
