"""The Python steps of a run: load the landing files, settle the ledger, send, mask, compact,
publish.

A run over a range of dates loads once, on the first date; sending, masking and publishing then
go through the dates in order, each as the run of that date would (the rules' views answer for
the date asked: see `feedback.warehouse.connect`), on one connection to the warehouse.

Each is a thin asset over a function of the `feedback` package; the asset only passes the run
date and reports counts as metadata (Dagster's event log is kept for good: no personal data and
no ids go there).
"""

from collections import Counter
from dataclasses import asdict

import dagster as dg

from feedback.loading import load_landing
from feedback.masking import compact_warehouse, mask_expired
from feedback.outcomes import keep_decided
from feedback.progress import date_by_date, log
from feedback.publishing import publish_quarters
from feedback.report import write_missing_reports
from feedback.reporting import write_reporting
from feedback.sending import SendSummary, send_due_invitations, settle_interrupted
from feedback.transports import DryRunTransport
from feedback.warehouse import held
from orchestration.assets.dbt import MASKING_KEY, PUBLICATION_KEY, dbt_marts
from orchestration.resources import RunDate, settings

RAW_TABLES = (
    "contact_events",
    "kcm_responses",
    "opt_outs",
    "unsubscribes",
    "ingestions",
    "unreadable_rows",
)
LEDGER_KEY = dg.AssetKey(["ledger", "invitations"])


@dg.multi_asset(
    specs=[dg.AssetSpec(["raw", table], group_name="landing") for table in RAW_TABLES],
    name="load_landing_files",
)
def load_landing_files(context: dg.AssetExecutionContext, run_date: RunDate):
    """New files under landing/, each loaded once into the raw tables (or kept aside)."""
    log.info("loading the files in landing/")
    summary = load_landing(settings(), run_date.date())
    metadata = asdict(summary) | {
        "files_quarantined": len(summary.files_quarantined),
        "files_left_in_landing": _listed(summary.files_left_in_landing),
        "passed_over": _listed(summary.passed_over),
    }
    for table in RAW_TABLES:
        yield dg.MaterializeResult(asset_key=["raw", table], metadata=metadata)


def _listed(names: list[str], most: int = 10) -> str:
    """Names for the run's summary: the first `most`, and how many more."""
    more = f" and {len(names) - most} more" if len(names) > most else ""
    return ", ".join(names[:most]) + more


@dg.asset(key=LEDGER_KEY, group_name="sending")
def ledger_settled(context: dg.AssetExecutionContext, run_date: RunDate):
    """The sender's ledger with what a stopped run left open settled, before the rules read it:
    messages found in outbox/ are sent, one left `sending` is `uncertain` (never sent again)."""
    confirmed, uncertain = settle_interrupted(settings(), run_date.date())
    return dg.MaterializeResult(
        metadata={"recovered_as_sent": len(confirmed), "uncertain": len(uncertain)}
    )


@dg.asset(
    key=["sending", "invitation_emails"],
    deps=[dg.AssetKey(["intermediate", "int_invitations__due"]), LEDGER_KEY],
    group_name="sending",
)
def invitation_emails(context: dg.AssetExecutionContext, run_date: RunDate):
    """The invitations due on D, sent (SMTP or outbox/) and recorded in ledger.invitations; then
    the contact outcomes decided for good kept in ledger.contact_outcomes. Over a range, date
    by date."""
    transport = DryRunTransport() if run_date.dry_run else None

    def send_and_keep_decided(day):
        sent = send_due_invitations(settings(), day, transport)
        return sent, keep_decided(settings(), day)

    log.info("sending the invitations due")
    with held(settings().warehouse_path):
        results = date_by_date(
            run_date.dates(),
            send_and_keep_decided,
            lambda so_far: f"{SendSummary.total([sent for sent, _ in so_far]).sent} sent",
            "sending",
        )
    total = SendSummary.total([sent for sent, _ in results])
    return dg.MaterializeResult(
        metadata={**asdict(total), "outcomes_decided": sum(kept for _, kept in results)}
    )


@dg.asset(
    key=MASKING_KEY,
    deps=[invitation_emails.key, dg.AssetKey(["intermediate", "int_personal_data__expired"])],
    group_name="privacy",
)
def personal_data_masking(context: dg.AssetExecutionContext, run_date: RunDate):
    """Personal data past 3 months masked in the raw tables, the ledger and the files; over a
    range, date by date."""
    log.info("masking personal data past 3 months")
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


@dg.asset(
    key=PUBLICATION_KEY,
    deps=[dg.AssetKey(["intermediate", "int_quarters__figures"])],
    group_name="publishing",
)
def published_figure(context: dg.AssetExecutionContext, run_date: RunDate):
    """The quarter just ended, published once in ledger.publications and
    public/klanttevredenheid.json; a published figure stands. Over a range, date by date."""
    log.info("publishing the quarter just ended")
    publications = publish_quarters(settings(), run_date.dates())
    published = [p for p in publications if p.status == "published"]
    publication = published[-1] if published else publications[-1]
    metadata = {
        "status": publication.status,
        "quarter": publication.quarter,
        "quarters_published": ", ".join(p.quarter for p in published),
    }
    if publication.figure:
        metadata["average_grade"] = publication.figure["average_grade"]
        metadata["response_count"] = publication.figure["response_count"]
    return dg.MaterializeResult(metadata=metadata)


@dg.asset(
    key=["reports", "quarterly_report"],
    deps=[PUBLICATION_KEY, *dbt_marts.keys],
    group_name="publishing",
)
def quarterly_report(context: dg.AssetExecutionContext, run_date: RunDate):
    """reports/klanttevredenheid-<quarter>.html for internal readers, made from the marts by
    the run that publishes the quarter (or the next run, when the file is missing)."""
    written = write_missing_reports(settings(), run_date.last())
    if written:
        log.info("wrote the report of %s", ", ".join(written))
    return dg.MaterializeResult(metadata={"reports_written": ", ".join(written)})


@dg.asset(
    key=["reporting", "bi_copy"],
    deps=[published_figure.key, warehouse_compaction.key, *dbt_marts.keys],
    group_name="publishing",
)
def reporting_copy(context: dg.AssetExecutionContext, run_date: RunDate):
    """reporting.duckdb and reporting/marts/*.parquet for BI tools: the marts and audit of this
    completed run, swapped in whole as the run's last step."""
    log.info("writing reporting.duckdb for BI tools")
    rows = write_reporting(settings())
    return dg.MaterializeResult(metadata={"tables": len(rows), "rows": sum(rows.values())})
