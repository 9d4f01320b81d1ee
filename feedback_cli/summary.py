"""What a run prints when it completes: counts and ids only, no names, addresses or comments."""

from __future__ import annotations

from datetime import date, datetime

from feedback.core.settings import Settings
from feedback.invitations.sending import delivery_problems
from feedback.landing.loading import load_outcome
from feedback_cli.run import dates_label


def print_summary(
    settings: Settings,
    run_date: date,
    metadata: dict[str, dict],
    started: datetime,
    until: date | None = None,
) -> None:
    """Counts and ids only: no names, addresses or comments."""
    load = metadata.get("raw/contact_events", {})
    outcome = load_outcome(settings, load.get("loaded_at"))
    print(f"feedback run for {dates_label(run_date, until)}: completed")
    print(
        f"  landing: {load.get('files_loaded', 0)} file(s) loaded, {outcome.rows_loaded} row(s)"
        f" loaded, {outcome.rows_rejected} rejected (audit.rejected_records),"
        f" {load.get('files_repeated', 0)} repeated delivery(ies), {len(outcome.kept_aside)} kept"
        " aside in quarantine/"
    )
    for name, reason in outcome.kept_aside:
        print(f"    quarantined {name}: {reason}")
    if load.get("passed_over"):
        print(
            "    not loaded, as no run loads them (a source folder takes *.csv files):"
            f" {load['passed_over']}"
        )
    if load.get("files_left_in_landing"):
        print(f"    left in landing/ for the next run: {load['files_left_in_landing']}")
    send = metadata.get("invitations/invitation_emails", {})
    where = f"SMTP {settings.smtp.host}" if settings.smtp else "outbox/"
    problems = delivery_problems(settings, started)
    print(
        f"  invitations: {send.get('sent', 0)} sent to {where}, {send.get('refused', 0)} refused"
        f" by the server, {send.get('already_sent', 0)} sent on this date before"
    )
    for problem, what in (
        ("refused", "refused for good by the mail server"),
        ("invalid", "failed: no valid message could be made"),
        ("deferred", "deferred by the mail server; a later run retries"),
        ("uncertain", "of uncertain fate after a stop; not sent again"),
    ):
        ids = problems.get(problem, [])
        if ids:
            print(f"    {len(ids)} {what} (marts.invitation_deliveries): {', '.join(ids)}")
    mask = metadata.get("privacy/personal_data_masking", {})
    masked = sum(v for k, v in mask.items() if k.startswith("masked_"))
    months = mask.get("retention_months")
    window = f"{months} month{'' if months == 1 else 's'}" if months else "the retention window"
    print(
        f"  masking: {masked} record(s) past {window} masked, "
        f"{mask.get('files_deleted', 0)} stored file(s) and {mask.get('messages_deleted', 0)} "
        "message(s) deleted"
    )
    publication = metadata.get("public/klanttevredenheid", {})
    status = publication.get("status", "not run")
    quarter = publication.get("quarter", "")
    if publication.get("quarters_published", "").count(","):
        print(f"  published in turn: {publication['quarters_published']}")
    if status == "published":
        print(
            f"  published: {quarter} average {publication['average_grade']} over "
            f"{publication['response_count']} response(s) in public/klanttevredenheid.json"
        )
    else:
        print(f"  publication of {quarter}: {status.replace('_', ' ')}")
