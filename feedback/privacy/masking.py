"""Mask personal data older than the retention period, everywhere it is kept.

dbt decides what has expired (`intermediate.int_personal_data__expired`, one rule for the cutoff);
this module applies that list: customer id, e-mail and name become NULL in the raw tables, in
the staging tables dbt keeps from them and in the ledger, comments are redacted, unreadable lines
are emptied, and the files that held such data (archived and quarantined deliveries, outbox
messages) are deleted. The marts are rebuilt from the masked tables afterwards. Grades are never
touched; opt-outs are kept. After the marts, the warehouse file is rewritten whole, so that no
free block of it keeps a masked value.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from feedback.core.crash_points import crash_point
from feedback.core.settings import Settings
from feedback.core.warehouse import connect, open_duckdb, path_literal, remove_database
from feedback.invitations.transports import OutboxTransport

log = logging.getLogger(__name__)

EXPIRED = "intermediate.int_personal_data__expired"


@dataclass(frozen=True)
class _MaskedTable:
    """A table holding records of one kind: how its rows match `expired`, and what masking sets
    (expressions over `expired`; `$run_date` is the run's date)."""

    record_kind: str
    table: str
    match: dict[str, str]
    cleared: dict[str, str]

    def update(self) -> str:
        """The UPDATE, applied in the table's row order. DuckDB applies an UPDATE ... FROM in
        the order the join yields the rows; in the order of `expired`, a varchar set on rows
        scattered over a table whose order differs (a staging table) rewrites a block for
        nearly every row."""
        matched = " and ".join(
            f"target.{column} = expired.{key}" for column, key in self.match.items()
        )
        return f"""
            update {self.table} as target
            set {", ".join(f"{column} = changes.{column}" for column in self.cleared)}
            from (
                select
                    target.rowid as target_row,
                    {", ".join(f"{value} as {column}" for column, value in self.cleared.items())}
                from {self.table} as target
                inner join expired
                    on expired.record_kind = '{self.record_kind}' and {matched}
                order by target_row
            ) as changes
            where target.rowid = changes.target_row
        """


_RAW_ROW = {"_ingestion_id": "ingestion_id", "_line_number": "line_number"}
_STAGED_ROW = {"ingestion_id": "ingestion_id", "line_number": "line_number"}
_CLEARED_CONTACT = {"customer_id": "null", "email": "null", "customer_name": "null"}
_REDACTED_COMMENT = {"comment": "expired.redacted_comment"}

# Per record kind, the tables that hold it: the raw tables and the ledger, and the staging
# tables dbt keeps up to date from the raw ones (a day's build adds to them; it does not rebuild
# them from the masked raw rows).
_MASKED_TABLES = (
    _MaskedTable(
        "contact_event",
        "raw.contact_events",
        _RAW_ROW,
        {
            **_CLEARED_CONTACT,
            "_extra_columns": "null",
            "_masked_on": "$run_date",
            "_delivered_without_customer_id": "expired.delivered_without_customer_id",
        },
    ),
    # without its address a staged contact has no valid one, as when staged from the masked row
    _MaskedTable(
        "contact_event",
        "staging.stg_contacts__events",
        _STAGED_ROW,
        {**_CLEARED_CONTACT, "has_valid_email": "false"},
    ),
    _MaskedTable(
        "kcm_response",
        "raw.kcm_responses",
        _RAW_ROW,
        {
            **_REDACTED_COMMENT,
            "_extra_columns": "expired.redacted_extra_answers",
            "_masked_on": "$run_date",
        },
    ),
    _MaskedTable(
        "kcm_response",
        "staging.stg_kcm__responses",
        _STAGED_ROW,
        {**_REDACTED_COMMENT, "extra_answers": "expired.redacted_extra_answers"},
    ),
    _MaskedTable(
        "unreadable_row",
        "raw.unreadable_rows",
        _RAW_ROW,
        {"row_text": "null", "_masked_on": "$run_date"},
    ),
    _MaskedTable(
        "invitation",
        "ledger.invitations",
        {"invitation_id": "invitation_id"},
        {**_CLEARED_CONTACT, "masked_on": "$run_date"},
    ),
)

# Stored deliveries to delete: a quarantined file past the cutoff, or a loaded one any of whose
# rows is masked (its rows stay in the raw tables). Derived from state, so a run that stopped
# between masking and deleting finishes the job next time.
_FILES_TO_DELETE = """
    select ingestion_id, stored_path from raw.ingestions
    where stored_path is not null and (
        ingestion_id in (
            select ingestion_id from expired where record_kind = 'quarantined_file'
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
    cutoff: date
    # The retention window the cutoff stands for (dbt var `retention_months`).
    retention_months: int
    records_masked: dict[str, int]
    files_deleted: int
    messages_deleted: int


def mask_expired(settings: Settings, run_date: date) -> MaskSummary:
    """Mask what `int_personal_data__expired` lists, delete the files that held it, and log the
    counts per record kind with the cutoff in `privacy.masking_log`. Masking twice changes
    nothing: a masked record is not listed again."""
    masked_at = datetime.now(UTC)
    with connect(settings.warehouse_path, run_date) as conn:
        built_for, cutoff, months = conn.execute(
            "select run_date, masking_cutoff, retention_months"
            " from intermediate.int_masking__cutoff"
        ).fetchone()
        if built_for != run_date:
            raise RuntimeError(
                f"the masking rules were built for {built_for}, not for run date {run_date}:"
                " build the dbt models of this run first"
            )
        # The rules' view read once: masking changes what it would say.
        conn.execute(f"create or replace temp table expired as select * from {EXPIRED}")
        counts = dict(
            conn.execute(
                "select record_kind, count(*) from expired group by record_kind"
            ).fetchall()
        )
        kinds = dict.fromkeys(table.record_kind for table in _MASKED_TABLES)
        records = {kind: counts.get(kind, 0) for kind in (*kinds, "quarantined_file")}
        conn.begin()
        for masked in _MASKED_TABLES:
            statement = masked.update()
            parameters = {"run_date": run_date} if "$run_date" in statement else {}
            conn.execute(statement, parameters)
        _log(conn, run_date, masked_at, cutoff, records)
        conn.commit()

        crash_point("masking:before_deleting_files")
        files_deleted = 0
        for ingestion_id, stored_path in conn.execute(_FILES_TO_DELETE).fetchall():
            (settings.data_dir / stored_path).unlink(missing_ok=True)
            conn.execute(
                "update raw.ingestions set stored_path = null where ingestion_id = ?",
                [ingestion_id],
            )
            files_deleted += 1

        messages_deleted = 0
        for invitation_id in _masked_in_outbox(conn, settings.outbox_dir):
            (settings.outbox_dir / f"{invitation_id}.eml").unlink()
            messages_deleted += 1
        deleted = {"stored_file": files_deleted, "outbox_message": messages_deleted}
        _log(conn, run_date, masked_at, cutoff, deleted)

    log.info(
        "masked before %s: %s; files deleted: %d, messages deleted: %d",
        cutoff,
        records,
        files_deleted,
        messages_deleted,
    )
    return MaskSummary(cutoff, months, records, files_deleted, messages_deleted)


def _masked_in_outbox(conn, outbox: Path) -> list[str]:
    """The invitations with a message in `outbox` whose ledger record is masked. The outbox
    holds about 3 months of messages, the ledger every invitation ever made: the folder's names
    are looked up in the ledger, not the other way round."""
    return [
        row[0]
        for row in conn.execute(
            "select invitation_id from ledger.invitations"
            " where masked_on is not null and invitation_id in (select unnest(?::varchar[]))",
            [sorted(OutboxTransport(outbox).holds())],
        ).fetchall()
    ]


def _log(conn, run_date: date, masked_at: datetime, cutoff: date, counts: dict[str, int]) -> None:
    conn.executemany(
        "insert into privacy.masking_log"
        " (run_date, masked_at, record_kind, masking_cutoff, records_masked)"
        " values (?, ?, ?, ?, ?)",
        [(run_date, masked_at, kind, cutoff, n) for kind, n in counts.items()],
    )


def compact_warehouse(settings: Settings) -> bool:
    """Rewrite `warehouse.duckdb` whole when a masking has cleared values since it was last
    rewritten; returns whether it did.

    DuckDB reuses the blocks an UPDATE or a rebuilt table frees, but never blanks them: until
    they are reused they still hold the old values. A copy of the database holds only what the
    tables hold now. It is written beside the file and swapped in with one rename; a run stopped
    on the way leaves the old file (and the copy, removed next time), and the next run compacts.
    """
    path = settings.warehouse_path
    fresh = path.with_name(f"{path.name}.compacting")
    remove_database(fresh)
    with connect(path) as conn:
        due = conn.execute(
            "select count(*) from privacy.masking_log where records_masked > 0 and not compacted"
        ).fetchone()[0]
    if not due:
        return False
    try:
        _copy_warehouse(path, fresh)
    except Exception:
        # A copy cut short (by a full disk, most likely) would take the room the next run needs.
        remove_database(fresh)
        raise
    if Path(f"{path}.wal").exists():
        # Never happens after the checkpoint above; the WAL would otherwise be replayed onto
        # the copy.
        raise RuntimeError(f"{path.name} has a write-ahead log after a checkpoint; not compacted")
    crash_point("compaction:before_swap")
    os.replace(fresh, path)
    log.info("warehouse rewritten after masking: %d bytes", path.stat().st_size)
    return True


def _copy_warehouse(path: Path, fresh: Path) -> None:
    # In memory: it spills where the warehouse's own connections do.
    conn = open_duckdb(temp_directory=f"{path}.tmp")
    try:
        conn.execute(f"attach {path_literal(path)} as warehouse")
        conn.execute("checkpoint warehouse")
        conn.execute(f"attach {path_literal(fresh)} as compacted")
        conn.execute("copy from database warehouse to compacted")
        conn.execute("update compacted.privacy.masking_log set compacted = true")
        conn.execute("detach compacted")
        conn.execute("detach warehouse")
    finally:
        conn.close()
