"""Reporting: what BI tools read, swapped in as the run's last step."""

import dagster as dg

from feedback.core.progress import log
from feedback.reporting.bi_copy import write_reporting
from orchestration.assets.dbt import dbt_marts
from orchestration.assets.privacy import warehouse_compaction
from orchestration.assets.publishing import published_figure
from orchestration.resources import RunDate, settings


@dg.asset(
    key=["reporting", "bi_copy"],
    deps=[published_figure.key, warehouse_compaction.key, *dbt_marts.keys],
    group_name="reporting",
)
def reporting_copy(context: dg.AssetExecutionContext, run_date: RunDate):
    """reporting.duckdb and reporting/marts/*.parquet for BI tools: the marts and audit of this
    completed run, swapped in whole as the run's last step."""
    log.info("writing reporting.duckdb for BI tools")
    rows = write_reporting(settings())
    return dg.MaterializeResult(metadata={"tables": len(rows), "rows": sum(rows.values())})
