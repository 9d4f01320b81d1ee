"""Run dates as Dagster's daily partitions: the UI lists the run of each day, and a range of days
is a backfill of the jobs, one run per date. The instance runs one run at a time, in the order
they were queued (see dagster.yaml), so a backfill runs its dates in date order.

The partition of a date is its run configuration: the assets themselves are not partitioned.
A run date is the state of the whole warehouse that morning, not a slice of it, and recording a
materialization of every model for every date of a range would cost more than the range run.
"""

from datetime import date

import dagster as dg

from feedback.core.settings import BUSINESS_TIME_ZONE
from orchestration.resources import run_config_for

# The first date the UI offers. `feedback run` runs any date; dates outside the partitions (before
# this one, or after today, as the tests and the benchmark simulate) are runs without a partition.
FIRST_PARTITION = "2024-01-01"

# One partition per day in Amsterdam. The partition of today exists from midnight (end_offset=1),
# so the 06:00 run of D is the partition of D.
run_dates = dg.DailyPartitionsDefinition(
    start_date=FIRST_PARTITION, timezone=str(BUSINESS_TIME_ZONE), end_offset=1
)

per_run_date = dg.PartitionedConfig(
    partitions_def=run_dates,
    run_config_for_partition_key_fn=lambda key: run_config_for(date.fromisoformat(key)),
)


def partition_of(run_date: date, until: date | None = None) -> str | None:
    """The partition of a single run date, when the UI lists it; None for a range."""
    key = run_date.isoformat()
    if until not in (None, run_date) or not run_dates.has_partition_key(key):
        return None
    return key
