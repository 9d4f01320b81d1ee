"""Operations is told: one alert per run that failed, or that completed with invitations the
mail server refused for good or with a source silent past its error threshold, however it was
started (the schedules, a backfill, `feedback run`). Dagster's daemon evaluates these run-status
sensors over the data folder's instance.

The alert is e-mailed to `FEEDBACK_ALERT_ADDRESS` through the sender's SMTP settings, or written
to `alerts/` in the data folder when either is not set. It holds the run date, the failed step
with its cause and hint, the counts the run recorded, and a link to the run in the Dagster UI:
no personal data, no addresses of customers.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from pathlib import Path

import dagster as dg

from feedback.core.settings import Settings
from feedback.invitations.messages import ComposedMessage, without_addresses
from feedback.invitations.transports import SmtpTransport
from orchestration.failure_hints import hints_for, root_cause

# The step whose metadata counts the invitations the mail server refused for good.
SENDING_KEY = "invitations/invitation_emails"


@dg.run_failure_sensor(
    name="alert_on_failed_run",
    monitor_all_code_locations=True,
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=15,
)
def alert_on_failed_run(context: dg.RunFailureSensorContext) -> None:
    """A run that failed: which step, why, and what to do."""
    settings = Settings.from_env()
    failures = [
        (event.step_key, root_cause(event.event_specific_data.error))
        for event in context.get_step_failure_events()
    ] or [(None, context.failure_event.message or "the run did not complete")]
    lines = []
    for step, cause in failures:
        lines.append(f"Step {step} failed: {cause}" if step else f"The run failed: {cause}")
        lines += hints_for(settings, [cause])
    recorded = Recorded.of(context.instance, context.dagster_run.run_id)
    send_alert(settings, context.dagster_run, "failed", lines, recorded)


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    name="alert_on_completed_run",
    monitor_all_code_locations=True,
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=15,
)
def alert_on_completed_run(context: dg.RunStatusSensorContext) -> None:
    """A run that completed, but with invitations the mail server refused for good, or with a
    source silent past its error threshold."""
    recorded = Recorded.of(context.instance, context.dagster_run.run_id)
    refused = recorded.counts.get(SENDING_KEY, {}).get("refused", 0)
    silent = [c for c in recorded.failed_checks if c.severity == dg.AssetCheckSeverity.ERROR]
    if refused or silent:
        settings = Settings.from_env()
        lines = (
            [
                f"The mail server refused {refused} invitation(s) for good; they are not tried"
                " again. Their ids and reply codes: marts.invitation_deliveries, state 'failed'."
            ]
            if refused
            else []
        )
        send_alert(settings, context.dagster_run, "completed", lines, recorded)


@dataclass(frozen=True)
class Recorded:
    """What a run's steps recorded in Dagster's history (counts only, no personal data)."""

    # The counts per asset key, without dbt's and Dagster's own figures (durations, row counts
    # of models) and without the repeats of a step that materializes several assets with the
    # same counts.
    counts: dict[str, dict[str, float]]
    # The asset checks that did not pass (`AssetCheckEvaluation`s).
    failed_checks: list

    @classmethod
    def of(cls, instance: dg.DagsterInstance, run_id: str) -> Recorded:
        def records(event_type: dg.DagsterEventType) -> list:
            found = instance.get_records_for_run(run_id, of_type=event_type, limit=1000).records
            return [record.event_log_entry.dagster_event for record in found]

        counts: dict[str, dict[str, float]] = {}
        for event in records(dg.DagsterEventType.ASSET_MATERIALIZATION):
            materialization = event.step_materialization_data.materialization
            numbers = {
                name: value.value
                for name, value in materialization.metadata.items()
                if isinstance(value.value, int | float)
                and not isinstance(value.value, bool)
                and name.isidentifier()
            }
            if numbers and numbers not in counts.values():
                counts[materialization.asset_key.to_user_string()] = numbers
        checks = [
            event.event_specific_data
            for event in records(dg.DagsterEventType.ASSET_CHECK_EVALUATION)
            if not event.event_specific_data.passed
        ]
        return cls(counts, checks)


def send_alert(
    settings: Settings, run: dg.DagsterRun, outcome: str, lines: list[str], recorded: Recorded
) -> Path | None:
    """E-mail the alert, or write it to alerts/; the file written, if any."""
    message = _message(settings, run, outcome, lines, recorded)
    if settings.smtp and settings.alerts.address:
        transport = SmtpTransport(settings.smtp)
        try:
            reply = transport.deliver(
                ComposedMessage(
                    invitation_id=f"alert-{run.run_id}",
                    message_id=message["Message-ID"],
                    envelope_sender=parseaddr(settings.messages.sender_address)[1],
                    envelope_recipient=parseaddr(settings.alerts.address)[1],
                    data=message.as_bytes(policy=policy.SMTP),
                ),
                lambda: None,
            )
        finally:
            transport.close()
        if not reply.accepted:
            raise RuntimeError(f"the mail server did not take the alert: {reply.code}")
        return None
    settings.alerts_dir.mkdir(parents=True, exist_ok=True)
    path = settings.alerts_dir / f"{_run_date(run).replace(' ', '-')}-{run.run_id}.eml"
    partial = path.with_suffix(".eml.partial")
    partial.write_bytes(message.as_bytes())
    os.replace(partial, path)
    return path


def _message(
    settings: Settings, run: dg.DagsterRun, outcome: str, lines: list[str], recorded: Recorded
) -> EmailMessage:
    run_date = _run_date(run)
    counts = recorded.counts
    checks = [
        f"{check.severity.value.lower()}: {check.asset_key.to_user_string()}:"
        f" {check.description or check.check_name}"
        for check in recorded.failed_checks
    ]
    body = [
        f"The feedback run for {run_date} ({_started_by(run)}) {outcome}.",
        "",
        *(without_addresses(line) for line in lines),
        *(["Checks that did not pass:", *(f"  {check}" for check in checks)] if checks else []),
        "",
        "What its steps recorded:" if counts else "No step recorded anything.",
        *(
            f"  {key}: " + ", ".join(f"{name} {value}" for name, value in sorted(numbers.items()))
            for key, numbers in sorted(counts.items())
        ),
        "",
        f"The run in the Dagster UI: {settings.alerts.ui_url}/runs/{run.run_id}",
        "",
    ]
    message = EmailMessage()
    message["Subject"] = f"feedback run for {run_date} {outcome}: needs attention"
    message["From"] = settings.messages.sender_address
    if settings.alerts.address:
        message["To"] = settings.alerts.address
    message["Date"] = format_datetime(datetime.now(UTC))
    domain = parseaddr(settings.messages.sender_address)[1].rpartition("@")[2]
    message["Message-ID"] = make_msgid("alert", domain=domain)
    message.set_content("\n".join(body))
    return message


def _run_date(run: dg.DagsterRun) -> str:
    """The run's date, or its range, as `feedback run` and the partitions name it."""
    return run.tags.get("feedback/run_date") or run.tags.get("dagster/partition") or "no date"


def _started_by(run: dg.DagsterRun) -> str:
    if "dagster/schedule_name" in run.tags:
        return f"schedule {run.tags['dagster/schedule_name']}"
    if "dagster/backfill" in run.tags:
        return f"backfill {run.tags['dagster/backfill']}"
    return run.tags.get("feedback/started_by", "started by hand")
