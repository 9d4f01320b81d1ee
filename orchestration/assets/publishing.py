"""Publishing: the quarter just ended, published once, and its report for internal readers."""

import dagster as dg

from feedback.core.progress import log
from feedback.publishing.publication import publish_quarters
from feedback.publishing.quarterly_report import write_missing_reports
from orchestration.assets.dbt import PUBLICATION_KEY, dbt_marts
from orchestration.resources import RunDate, settings


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
