"""Landing: the new files under landing/, each loaded once into the raw tables (or kept aside).

Like every Python asset, a thin step over a function of the `feedback` package: it passes the run
date and reports counts as metadata (Dagster's event log is kept for good: no personal data and
no ids go there).
"""

from dataclasses import asdict

import dagster as dg

from feedback.core.progress import log
from feedback.landing.anomalies import contact_anomalies, response_anomalies
from feedback.landing.freshness import source_ages
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


# The sources whose days are checked, once the rules' staging is built: the checks read the
# records' staged dates.
CHECKED_SOURCES = ("contact_events", "kcm_responses")
STAGED = [
    dg.AssetKey(["staging", "stg_contacts__events"]),
    dg.AssetKey(["staging", "stg_kcm__responses"]),
]


@dg.multi_asset_check(
    specs=[
        dg.AssetCheckSpec("newest_record_recent", asset=["raw", source], additional_deps=STAGED)
        for source in CHECKED_SOURCES
    ],
    can_subset=True,
)
def sources_not_silent(context: dg.AssetCheckExecutionContext, run_date: RunDate):
    """Whether a source went silent: its newest record against the days the settings allow.
    A warning or an error here never stops the run; the summary and the alert name it."""
    ages = {age.source: age for age in source_ages(settings(), run_date.last())}
    for key in context.selected_asset_check_keys:
        source = key.asset_key.path[-1]
        age = ages.get(source)
        if age is None:
            yield dg.AssetCheckResult(
                asset_key=key.asset_key,
                check_name=key.name,
                passed=True,
                description="not checked: its thresholds are off",
            )
            continue
        if age.level != "ok":
            log.warning("%s: %s", source, age.describe())
        yield dg.AssetCheckResult(
            asset_key=key.asset_key,
            check_name=key.name,
            passed=age.level == "ok",
            severity=dg.AssetCheckSeverity.ERROR
            if age.level == "error"
            else dg.AssetCheckSeverity.WARN,
            description=age.describe(),
            metadata={"days_without": age.age_days if age.age_days is not None else -1},
        )


@dg.multi_asset_check(
    specs=[
        dg.AssetCheckSpec("as_usual", asset=["raw", source], additional_deps=STAGED)
        for source in CHECKED_SOURCES
    ],
    can_subset=True,
)
def deliveries_as_usual(context: dg.AssetCheckExecutionContext, run_date: RunDate):
    """Whether the day before the run looks like the same weekday of the weeks before: a
    delivery cut short, a contact type missing, KCM's grades moved beyond chance. Warnings only,
    with their numbers."""
    find = {"contact_events": contact_anomalies, "kcm_responses": response_anomalies}
    for key in context.selected_asset_check_keys:
        found = find[key.asset_key.path[-1]](settings(), run_date.last())
        for finding in found:
            log.warning("%s: %s", key.asset_key.path[-1], finding)
        yield dg.AssetCheckResult(
            asset_key=key.asset_key,
            check_name=key.name,
            passed=not found,
            severity=dg.AssetCheckSeverity.WARN,
            description="; ".join(found) or "as on the same weekday of the weeks before",
            metadata={"findings": len(found)},
        )
