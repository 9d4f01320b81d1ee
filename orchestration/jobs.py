"""What a run materialises. `feedback run` executes the daily job in process."""

import dagster as dg

from orchestration.assets.feedback import published_figure

# The whole graph for run date D: load, rules, send, mask, marts, publish.
daily_run = dg.define_asset_job("feedback_daily_run", selection=dg.AssetSelection.all())

# On the first of a quarter, after the daily run: rebuild the quarterly marts and publish.
quarter_close = dg.define_asset_job(
    "feedback_quarter_close",
    selection=dg.AssetSelection.assets(
        ["marts", "quarterly_satisfaction"],
        ["marts", "quarterly_satisfaction_by_contact_type"],
        published_figure.key,
    ),
)
