"""What a run materialises. `feedback run` executes the daily job in process.

Both jobs are partitioned by run date (see `orchestration.partitions`) and run their steps in one
process, one after the other: the run holds the data folder's lock from the first step to the
last (see `RunDate`), and DuckDB has one writer anyway.
"""

import dagster as dg

from feedback.core.crash_points import crash_point
from orchestration.assets.publishing import published_figure, quarterly_report
from orchestration.assets.reporting import reporting_copy
from orchestration.partitions import per_run_date


@dg.success_hook
def crash_point_after_step(context: dg.HookContext) -> None:
    """Where the tests stop a run between two steps (nothing happens outside them)."""
    crash_point(f"after:{context.step_key}")


# The whole graph for run date D: load, rules, send, mask, publish, marts, compact, copy.
daily_run = dg.define_asset_job(
    "feedback_daily_run",
    selection=dg.AssetSelection.all(),
    config=per_run_date,
    executor_def=dg.in_process_executor,
    hooks={crash_point_after_step},
)

# On the first of a quarter, after the daily run: publish (when the daily run has not), rebuild
# the quarterly marts and the publications' audit, write the report, and give BI tools the new
# copy.
quarter_close = dg.define_asset_job(
    "feedback_quarter_close",
    selection=dg.AssetSelection.assets(
        published_figure.key,
        ["marts", "quarterly_satisfaction"],
        ["marts", "quarterly_satisfaction_by_contact_type"],
        ["audit", "publications"],
        quarterly_report.key,
        reporting_copy.key,
    ),
    config=per_run_date,
    executor_def=dg.in_process_executor,
)
