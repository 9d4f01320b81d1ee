"""What a run materialises. `feedback run` executes the daily job in process.

Both jobs run their steps in one process, one after the other: the run holds the data folder's
lock from the first step to the last (see `RunDate`), and DuckDB has one writer anyway.
"""

import dagster as dg

from orchestration.assets.feedback import published_figure, reporting_copy

# The whole graph for run date D: load, rules, send, mask, marts, publish.
daily_run = dg.define_asset_job(
    "feedback_daily_run",
    selection=dg.AssetSelection.all(),
    executor_def=dg.in_process_executor,
)

# On the first of a quarter, after the daily run: rebuild the quarterly marts, publish, and give
# BI tools the new copy.
quarter_close = dg.define_asset_job(
    "feedback_quarter_close",
    selection=dg.AssetSelection.assets(
        ["marts", "quarterly_satisfaction"],
        ["marts", "quarterly_satisfaction_by_contact_type"],
        published_figure.key,
        reporting_copy.key,
    ),
    executor_def=dg.in_process_executor,
)
