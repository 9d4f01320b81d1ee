"""Landing: the new files under landing/, each loaded once into the raw tables (or kept aside).

Like every Python asset, a thin step over a function of the `feedback` package: it passes the run
date and reports counts as metadata (Dagster's event log is kept for good: no personal data and
no ids go there).
"""

from dataclasses import asdict

import dagster as dg

from feedback.core.progress import log
from feedback.landing.loading import load_landing
from orchestration.resources import RunDate, settings

RAW_TABLES = (
    "contact_events",
    "kcm_responses",
    "opt_outs",
    "unsubscribes",
    "ingestions",
    "unreadable_rows",
)


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
