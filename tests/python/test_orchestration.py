"""The Dagster definitions: one asset graph, its jobs and schedules, executed in process."""

from datetime import date, datetime, timedelta
from decimal import Decimal

import dagster as dg
import duckdb
import pytest
import yaml
from conftest import CONTACT_HEADER, KCM_HEADER
from dagster._utils.schedules import cron_string_iterator

from feedback.core.settings import BUSINESS_TIME_ZONE, today_in_amsterdam
from orchestration.definitions import defs
from orchestration.partitions import FIRST_PARTITION, partition_of, per_run_date, run_dates
from orchestration.project import REPO_ROOT
from orchestration.resources import run_config_for


def key(path: str) -> dg.AssetKey:
    return dg.AssetKey(path.split("/"))


def upstream(asset: str) -> set[str]:
    graph = defs.resolve_asset_graph()
    return {k.to_user_string() for k in graph.get(key(asset)).parent_keys}


def test_the_graph_holds_loading_the_dbt_models_sending_masking_and_publishing():
    keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert {
        "raw/contact_events",
        "raw/kcm_responses",
        "raw/opt_outs",
        "reference/kcm_questionnaires",
        "staging/stg_contacts__events",
        "staging/stg_kcm__responses",
        "intermediate/int_contacts__outcomes",
        "intermediate/int_invitations__due",
        "intermediate/int_personal_data__expired",
        "invitations/invitation_emails",
        "privacy/personal_data_masking",
        "marts/feedback_invitations",
        "marts/survey_responses",
        "marts/quarterly_satisfaction",
        "marts/quarterly_satisfaction_by_contact_type",
        "marts/contact_outcomes",
        "audit/rejected_records",
        "audit/ingested_files",
        "intermediate/int_quarters__figures",
        "public/klanttevredenheid",
        "audit/publications",
    } <= keys


def test_marts_are_built_after_sending_masking_and_publishing():
    assert "intermediate/int_invitations__due" in upstream("invitations/invitation_emails")
    assert {"invitations/invitation_emails", "intermediate/int_personal_data__expired"} <= upstream(
        "privacy/personal_data_masking"
    )
    for mart in ("marts/feedback_invitations", "audit/rejected_records"):
        assert "privacy/personal_data_masking" in upstream(mart)
    # The publication fixes the quarter's figure from the rules; the marts show what it fixed.
    assert "intermediate/int_quarters__figures" in upstream("public/klanttevredenheid")
    for mart in ("marts/quarterly_satisfaction", "audit/publications"):
        assert "public/klanttevredenheid" in upstream(mart)
    # The warehouse is rewritten after the marts are rebuilt from masked data, and BI tools get
    # their copy after that.
    assert {"privacy/personal_data_masking", "marts/feedback_invitations"} <= upstream(
        "privacy/warehouse_compaction"
    )
    assert "privacy/warehouse_compaction" in upstream("reporting/bi_copy")


@pytest.mark.parametrize(
    ("schedule", "after", "fire_times"),
    [
        # 06:00 Amsterdam is 05:00 UTC in winter and 04:00 UTC from 29 March (summer time).
        (
            "daily_run_schedule",
            "2026-03-28T00:00:00+00:00",
            ["2026-03-28T05:00:00+00:00", "2026-03-29T04:00:00+00:00"],
        ),
        # 07:00 Amsterdam on 1 January, April, July and October.
        (
            "quarter_close_schedule",
            "2026-02-01T00:00:00+00:00",
            [
                "2026-04-01T05:00:00+00:00",
                "2026-07-01T05:00:00+00:00",
                "2026-10-01T05:00:00+00:00",
                "2027-01-01T06:00:00+00:00",
            ],
        ),
    ],
)
def test_schedules_fire_in_amsterdam_time_for_that_days_date(schedule, after, fire_times):
    definition = defs.resolve_schedule_def(schedule)
    assert definition.execution_timezone == "Europe/Amsterdam"
    ticks = cron_string_iterator(
        datetime.fromisoformat(after).timestamp(),
        definition.cron_schedule,
        definition.execution_timezone,
    )
    expected = [datetime.fromisoformat(t) for t in fire_times]
    assert [next(ticks) for _ in expected] == expected
    for fire_time in expected:
        with dg.build_schedule_context(
            scheduled_execution_time=fire_time, repository_def=defs.get_repository_def()
        ) as context:
            (request,) = definition.evaluate_tick(context).run_requests
        run_date = fire_time.astimezone(BUSINESS_TIME_ZONE).date().isoformat()
        assert (request.run_key, request.partition_key) == (run_date, run_date)
        assert request.run_config == {"resources": {"run_date": {"config": {"as_of": run_date}}}}


def test_run_dates_are_the_jobs_daily_partitions():
    for job in ("feedback_daily_run", "feedback_quarter_close"):
        partitions = defs.resolve_job_def(job).partitions_def
        assert partitions == run_dates
    today = today_in_amsterdam()
    keys = run_dates.get_partition_keys()
    # From the first date the UI offers to today: the 06:00 run of today has its partition.
    assert (keys[0], keys[-1]) == (FIRST_PARTITION, today.isoformat())
    assert len(keys) == (today - date.fromisoformat(FIRST_PARTITION)).days + 1
    assert per_run_date.get_run_config_for_partition_key("2026-03-29") == run_config_for(
        date(2026, 3, 29)
    )
    # `feedback run` lists a single date under its partition; a range, a date not listed yet
    # (as the tests and the benchmark simulate) or one before the first are runs without one.
    assert partition_of(date(2026, 3, 29)) == "2026-03-29"
    assert partition_of(date(2026, 3, 29), until=date(2026, 3, 29)) == "2026-03-29"
    assert partition_of(date(2026, 3, 1), until=date(2026, 3, 29)) is None
    assert partition_of(today + timedelta(days=1)) is None
    assert partition_of(date(2023, 12, 31)) is None


def test_the_daily_job_holds_every_asset_and_the_quarter_job_the_publication():
    daily = defs.resolve_job_def("feedback_daily_run")
    graph = defs.resolve_asset_graph()
    assert daily.asset_layer.selected_asset_keys == {
        k for k in graph.get_all_asset_keys() if graph.get(k).is_materializable
    }
    # The ledger is settled (what a stopped run left open) before the rules read it.
    assert graph.get(key("ledger/invitations")).is_materializable
    assert "ledger/invitations" in upstream("staging/stg_ledger__invitations")
    assert "ledger/invitations" in upstream("invitations/invitation_emails")
    quarter = defs.resolve_job_def("feedback_quarter_close")
    assert {k.to_user_string() for k in quarter.asset_layer.selected_asset_keys} == {
        "public/klanttevredenheid",
        "marts/quarterly_satisfaction",
        "marts/quarterly_satisfaction_by_contact_type",
        "audit/publications",
        "reports/quarterly_report",
        "reporting/bi_copy",
    }


def test_the_quarter_job_executes_in_process_and_publishes(data, monkeypatch):
    data.land(
        "kcm_responses",
        "kcm-2026-03-30.csv",
        KCM_HEADER + "r1;inv-a;KCM-SQ-01;2026-03-30 10:00:00;9;\n"
        "r2;inv-b;KCM-SQ-01;2026-03-30 11:00:00;6;\n",
    )
    data.run("2026-03-31")
    assert data.published() is None

    monkeypatch.setenv("FEEDBACK_DATA_DIR", str(data.root))
    result = defs.resolve_job_def("feedback_quarter_close").execute_in_process(
        run_config=run_config_for(datetime(2026, 4, 1).date()),
        instance=dg.DagsterInstance.ephemeral(),
    )
    assert result.success
    assert data.published() == {
        "quarter": "2026-Q1",
        "average_grade": 7.5,
        "display": "7,5",
        "response_count": 2,
        "published_on": "2026-04-01",
    }
    # The marts rebuilt after the publication show what it recorded.
    assert data.query(
        "select quarter, published_grade, published_on, current_response_count"
        " from marts.quarterly_satisfaction"
    ) == [("2026-Q1", Decimal("7.5"), date(2026, 4, 1), 2)]


def test_the_constraints_the_marts_contracts_declare_are_in_the_warehouse(data):
    """The marts' `not_null`, `check` and `primary_key` constraints stand in for `not_null`,
    `accepted_values` and `unique` data tests: DuckDB checks them as each table is built."""
    data.run("2026-03-02")
    marts = yaml.safe_load((REPO_ROOT / "models" / "marts" / "_marts__models.yml").read_text())
    declared = {
        (model["name"], column["name"])
        for model in marts["models"]
        for column in model.get("columns", [])
        if {"type": "not_null"} in column.get("constraints", [])
    }
    enforced = data.query(
        "select table_name, column_name from information_schema.columns"
        " where table_schema = 'marts' and is_nullable = 'NO'"
    )
    assert len(declared) > 10
    assert declared <= set(enforced)
    checks = {
        (model["name"], constraint["type"])
        for model in marts["models"]
        for column in model.get("columns", [])
        for constraint in column.get("constraints", [])
        if constraint["type"] in ("check", "primary_key")
    }
    kinds = {"check": "CHECK", "primary_key": "PRIMARY KEY"}
    assert {(table, kinds[kind]) for table, kind in checks} <= set(
        data.query(
            "select table_name, constraint_type from duckdb_constraints()"
            " where schema_name = 'marts'"
        )
    )
    assert len(checks) == 3


@pytest.mark.parametrize(
    "env", [{}, {"FEEDBACK_PUBLIC_APIS_ONLY": "1"}], ids=["in process", "public APIs only"]
)
def test_a_failing_dbt_build_fails_the_run_before_anything_is_sent(data, env):
    # A contact of 2 March, loaded on 2 March: the run of 3 March invites.
    data.land(
        "contact_events",
        "contacts-2026-03-02.csv",
        CONTACT_HEADER + "e-1,k-1,new_policy,2026-03-02 10:00:00,klant@example.nl,,,web\n",
    )
    data.run("2026-03-02", env=env)
    # The raw contacts lose a column: the staging models cannot be built any more.
    conn = duckdb.connect(str(data.root / "warehouse.duckdb"))
    conn.execute("alter table raw.contact_events drop column channel")
    conn.close()

    code, output = data.run("2026-03-03", env=env, expect_success=False)
    assert code == 1
    assert "feedback run failed: step dbt_rules:" in output
    assert "dbt build failed: model base_contacts__events: error" in output
    assert "dbt.log" in output and "klant@example.nl" not in output
    # dbt's log keeps no debug lines by default, but the database's message is there.
    last_build = (data.root / "dbt" / "dbt.log").read_text().split("Running with dbt")[-1]
    assert 'Binder Error: Column "channel"' in last_build
    assert "[debug]" not in last_build
    assert data.outbox() == []
    assert data.query("select count(*) from ledger.invitations") == [(0,)]
