"""Privacy: personal data past the retention window masked, then the warehouse file rewritten so
that no free block keeps a masked value."""

from collections import Counter

import dagster as dg

from feedback.core.progress import date_by_date, log
from feedback.core.warehouse import held
from feedback.privacy.masking import compact_warehouse, mask_expired
from orchestration.assets.dbt import MASKING_KEY, dbt_marts
from orchestration.assets.invitations import invitation_emails
from orchestration.resources import RunDate, settings


@dg.asset(
    key=MASKING_KEY,
    deps=[invitation_emails.key, dg.AssetKey(["intermediate", "int_personal_data__expired"])],
    group_name="privacy",
)
def personal_data_masking(context: dg.AssetExecutionContext, run_date: RunDate):
    """Personal data past the retention window masked in the raw tables, the ledger and the
    files; over a range, date by date."""
    log.info("masking personal data past the retention window")
    with held(settings().warehouse_path):
        summaries = date_by_date(
            run_date.dates(),
            lambda day: mask_expired(settings(), day),
            lambda so_far: f"{sum(sum(s.records_masked.values()) for s in so_far)} records masked",
            "masking",
        )
    records = Counter()
    for summary in summaries:
        records.update(summary.records_masked)
    return dg.MaterializeResult(
        metadata={
            "cutoff": summaries[-1].cutoff.isoformat(),
            "retention_months": summaries[-1].retention_months,
            **{f"masked_{kind}": n for kind, n in records.items()},
            "files_deleted": sum(summary.files_deleted for summary in summaries),
            "messages_deleted": sum(summary.messages_deleted for summary in summaries),
        }
    )


@dg.asset(
    key=["privacy", "warehouse_compaction"],
    deps=[MASKING_KEY, *dbt_marts.keys],
    group_name="privacy",
)
def warehouse_compaction(context: dg.AssetExecutionContext, run_date: RunDate):
    """warehouse.duckdb rewritten whole after a masking cleared values, once the marts are
    rebuilt: none of its free blocks keeps a masked value."""
    log.info("rewriting the warehouse file, when masking cleared values")
    compacted = compact_warehouse(settings())
    return dg.MaterializeResult(
        metadata={
            "compacted": compacted,
            "bytes": settings().warehouse_path.stat().st_size,
        }
    )
