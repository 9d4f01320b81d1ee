"""When runs happen, in Europe/Amsterdam: every morning, and on the first of each quarter."""

import dagster as dg

from feedback.core.settings import BUSINESS_TIME_ZONE
from orchestration.jobs import daily_run, quarter_close


def _run_for_scheduled_date(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    """The run of that morning's date: its partition (and so its run configuration)."""
    run_date = context.scheduled_execution_time.astimezone(BUSINESS_TIME_ZONE).date()
    return dg.RunRequest(run_key=run_date.isoformat(), partition_key=run_date.isoformat())


daily_schedule = dg.ScheduleDefinition(
    name="daily_run_schedule",
    job=daily_run,
    cron_schedule="0 6 * * *",
    execution_timezone="Europe/Amsterdam",
    execution_fn=_run_for_scheduled_date,
)

quarterly_schedule = dg.ScheduleDefinition(
    name="quarter_close_schedule",
    job=quarter_close,
    cron_schedule="0 7 1 1,4,7,10 *",
    execution_timezone="Europe/Amsterdam",
    execution_fn=_run_for_scheduled_date,
)
