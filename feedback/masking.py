"""Mask personal data older than the retention period, everywhere it is kept.

dbt decides what has expired (`intermediate.int_personal_data__expired`, one rule for the cutoff);
this module applies that list: customer id, e-mail and name become NULL in the raw tables and the
ledger, comments are redacted, unreadable lines are emptied, and the files that held such data
(archived and quarantined deliveries, outbox messages) are deleted. The marts are rebuilt from
the masked tables afterwards. Grades are never touched; opt-outs are kept.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

from feedback.settings import Settings
from feedback.warehouse import connect

log = logging.getLogger(__name__)

EXPIRED = "intermediate.int_personal_data__expired"

_UPDATES = {
    "contact_event": """
        update raw.contact_events as target
        set customer_id = null, email = null, customer_name = null, _extra_columns = null,
            _masked_on = $run_date
        from {expired} as expired
        where expired.record_kind = 'contact_event'
            and target._ingestion_id = expired.ingestion_id
            and target._line_number = expired.line_number
    """,
    "kcm_response": """
        update raw.kcm_responses as target
        set comment = expired.redacted_comment,
            _extra_columns = expired.redacted_extra_answers,
            _masked_on = $run_date
        from {expired} as expired
        where expired.record_kind = 'kcm_response'
            and target._ingestion_id = expired.ingestion_id
            and target._line_number = expired.line_number
    """,
    "unreadable_row": """
        update raw.unreadable_rows as target
        set row_text = null, _masked_on = $run_date
        from {expired} as expired
        where expired.record_kind = 'unreadable_row'
            and target._ingestion_id = expired.ingestion_id
            and target._line_number = expired.line_number
    """,
    "invitation": """
        update ledger.invitations as target
        set customer_id = null, email = null, customer_name = null, masked_on = $run_date
        from {expired} as expired
        where expired.record_kind = 'invitation'
            and target.invitation_id = expired.invitation_id
    """,
}

# Stored deliveries to delete: a quarantined file past the cutoff, or a loaded one any of whose
# rows is masked (its rows stay in the raw tables). Derived from state, so a run that stopped
# between masking and deleting finishes the job next time.
_FILES_TO_DELETE = f"""
    select ingestion_id, stored_path from raw.ingestions
    where stored_path is not null and (
        ingestion_id in (
            select ingestion_id from {EXPIRED} where record_kind = 'quarantined_file'
        )
        or ingestion_id in (
            select _ingestion_id from raw.contact_events where _masked_on is not null
            union select _ingestion_id from raw.kcm_responses where _masked_on is not null
            union select _ingestion_id from raw.unreadable_rows where _masked_on is not null
        )
    )
"""


@dataclass
class MaskSummary:
    records_masked: dict[str, int]
    files_deleted: int
    messages_deleted: int


def mask_expired(settings: Settings, run_date: date) -> MaskSummary:
    with connect(settings.warehouse_path) as conn:
        planned = conn.execute(f"select max(masking_cutoff) from {EXPIRED}").fetchone()[0]
        counts = dict(
            conn.execute(
                f"select record_kind, count(*) from {EXPIRED} group by record_kind"
            ).fetchall()
        )
        conn.begin()
        for statement in _UPDATES.values():
            conn.execute(statement.format(expired=EXPIRED), {"run_date": run_date})
        conn.commit()

        files_deleted = 0
        for ingestion_id, stored_path in conn.execute(_FILES_TO_DELETE).fetchall():
            (settings.data_dir / stored_path).unlink(missing_ok=True)
            conn.execute(
                "update raw.ingestions set stored_path = null where ingestion_id = ?",
                [ingestion_id],
            )
            files_deleted += 1

        masked_invitations = {
            row[0]
            for row in conn.execute(
                "select invitation_id from ledger.invitations where masked_on is not null"
            ).fetchall()
        }
        messages_deleted = 0
        if settings.outbox_dir.is_dir():
            for message in settings.outbox_dir.glob("*.eml"):
                if message.stem in masked_invitations:
                    message.unlink()
                    messages_deleted += 1
        # Write the masked pages out now rather than at some later checkpoint.
        conn.execute("checkpoint")

    records = {kind: counts.get(kind, 0) for kind in (*_UPDATES, "quarantined_file")}
    log.info(
        "masked before %s: %s; files deleted: %d, messages deleted: %d",
        planned,
        records,
        files_deleted,
        messages_deleted,
    )
    return MaskSummary(records, files_deleted, messages_deleted)
