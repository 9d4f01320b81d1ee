"""The one Definitions object: `dagster dev` shows it, `feedback run` executes it."""

import dagster as dg

from orchestration.alerts import alert_on_completed_run, alert_on_failed_run
from orchestration.assets.dbt import dbt_marts, dbt_rules
from orchestration.assets.invitations import invitation_emails, ledger_settled
from orchestration.assets.landing import (
    deliveries_as_usual,
    load_landing_files,
    sources_not_silent,
)
from orchestration.assets.privacy import personal_data_masking, warehouse_compaction
from orchestration.assets.publishing import published_figure, quarterly_report
from orchestration.assets.reporting import reporting_copy
from orchestration.dbt_runner import DbtBuild
from orchestration.jobs import daily_run, quarter_close
from orchestration.project import dbt_project
from orchestration.resources import RunDate
from orchestration.schedules import daily_schedule, quarterly_schedule

defs = dg.Definitions(
    assets=[
        load_landing_files,
        ledger_settled,
        dbt_rules,
        invitation_emails,
        personal_data_masking,
        dbt_marts,
        warehouse_compaction,
        published_figure,
        quarterly_report,
        reporting_copy,
    ],
    asset_checks=[sources_not_silent, deliveries_as_usual],
    jobs=[daily_run, quarter_close],
    schedules=[daily_schedule, quarterly_schedule],
    sensors=[alert_on_failed_run, alert_on_completed_run],
    # Assets materialised by hand in the UI too: one process, under the run's lock.
    executor=dg.in_process_executor,
    resources={
        "dbt": DbtBuild(
            project_dir=str(dbt_project.project_dir),
            profiles_dir=str(dbt_project.profiles_dir),
        ),
        "run_date": RunDate(),
    },
)
