"""What a run prints when it completes: counts and ids only, no names, addresses or comments."""

from __future__ import annotations

from datetime import date, datetime

from feedback.core.settings import Settings
from feedback.invitations.sending import delivery_problems
from feedback.landing.loading import load_outcome
from feedback_cli.run import dates_label

# What the summary calls each kind of invitation a run left unsent (from the ledger).
PROBLEMS = {
    "refused": "refused for good by the mail server",
    "invalid": "failed: no valid message could be made",
    "deferred": "deferred by the mail server; a later run retries",
    "uncertain": "of uncertain fate after a stop; not sent again",
}


def print_summary(
    settings: Settings,
    run_date: date,
    metadata: dict[str, dict],
    started: datetime,
    until: date | None = None,
) -> None:
    """Counts and ids only: no names, addresses or comments."""
    print(f"feedback run for {dates_label(run_date, until)}: completed")
    lines = [
        *_landing(settings, metadata.get("raw/contact_events", {})),
        *(
            f"    {check['severity']}: {name.split(' ')[0]}: {check['description']}"
            for name, check in metadata.get("failed_checks", {}).items()
        ),
        *_invitations(settings, metadata.get("invitations/invitation_emails", {}), started),
        _masking(metadata.get("privacy/personal_data_masking", {})),
        *_publication(metadata.get("public/klanttevredenheid", {})),
    ]
    print("\n".join(lines))


def _landing(settings: Settings, load: dict) -> list[str]:
    outcome = load_outcome(settings, load.get("loaded_at"))
    lines = [
        f"  landing: {load.get('files_loaded', 0)} file(s) loaded, {outcome.rows_loaded} row(s)"
        f" loaded, {outcome.rows_rejected} rejected (audit.rejected_records),"
        f" {load.get('files_repeated', 0)} repeated delivery(ies), {len(outcome.kept_aside)} kept"
        " aside in quarantine/"
    ]
    lines += [f"    quarantined {name}: {reason}" for name, reason in outcome.kept_aside]
    if load.get("passed_over"):
        lines.append(
            "    not loaded, as no run loads them (a source folder takes *.csv files):"
            f" {load['passed_over']}"
        )
    if load.get("files_left_in_landing"):
        lines.append(f"    left in landing/ for the next run: {load['files_left_in_landing']}")
    return lines


def _invitations(settings: Settings, send: dict, started: datetime) -> list[str]:
    where = f"SMTP {settings.smtp.host}" if settings.smtp else "outbox/"
    problems = delivery_problems(settings, started)
    lines = [
        f"  invitations: {send.get('sent', 0)} sent to {where}, {send.get('refused', 0)} refused"
        f" by the server, {send.get('already_sent', 0)} sent on this date before"
    ]
    for problem, what in PROBLEMS.items():
        if ids := problems.get(problem, []):
            lines.append(f"    {len(ids)} {what} (marts.invitation_deliveries): {', '.join(ids)}")
    return lines


def _masking(mask: dict) -> str:
    masked = sum(v for k, v in mask.items() if k.startswith("masked_"))
    months = mask.get("retention_months")
    window = f"{months} month{'' if months == 1 else 's'}" if months else "the retention window"
    return (
        f"  masking: {masked} record(s) past {window} masked, "
        f"{mask.get('files_deleted', 0)} stored file(s) and {mask.get('messages_deleted', 0)} "
        "message(s) deleted"
    )


def _publication(publication: dict) -> list[str]:
    status = publication.get("status", "not run")
    quarter = publication.get("quarter", "")
    lines = []
    if publication.get("quarters_published", "").count(","):
        lines.append(f"  published in turn: {publication['quarters_published']}")
    if status == "published":
        lines.append(
            f"  published: {quarter} average {publication['average_grade']} over "
            f"{publication['response_count']} response(s) in public/klanttevredenheid.json"
        )
    else:
        lines.append(f"  publication of {quarter}: {status.replace('_', ' ')}")
    return lines
