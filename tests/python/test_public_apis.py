"""`FEEDBACK_PUBLIC_APIS_ONLY=1` runs dbt and Dagster through their public APIs alone (a `dbt`
process per build through dagster-dbt's `DbtCliResource`, Dagster's own event log storage), and
a run gives the same Dagster events and the same warehouse, files and figure as a run through
`orchestration.private_speedups`, the default.

Two data folders get the same synthetic deliveries (about 300 customers from October); each runs
31 March and 1 April 2026, the second publishing 2026-Q1 and masking what crossed the 3-month
line. The private path writes through the pooled event log; the public one through Dagster's.
"""

from __future__ import annotations

from datetime import date, timedelta

import dagster as dg
import pytest
from conftest import DataFolder

from feedback.landing.synthetic import Population, SyntheticData
from orchestration.instance import dagster_instance
from orchestration.private_speedups import PooledSqliteEventLogStorage

RUN_DATES = ("2026-03-31", "2026-04-01")
POPULATION = Population(customers=300, first_day=date(2025, 10, 1), last_day=date(2026, 3, 31))


def _run(data: DataFolder, env: dict[str, str]) -> list[str]:
    with SyntheticData(POPULATION) as synthetic:
        synthetic.write(
            data.root / "landing", POPULATION.first_day + timedelta(days=1), date(2026, 4, 1)
        )
    return [data.run(day, env=env)[1] for day in RUN_DATES]


@pytest.fixture(scope="module")
def private(tmp_path_factory) -> DataFolder:
    data = DataFolder(tmp_path_factory.mktemp("private"))
    _run(data, {})
    return data


@pytest.fixture(scope="module")
def public(tmp_path_factory) -> DataFolder:
    data = DataFolder(tmp_path_factory.mktemp("public"))
    _run(data, {"FEEDBACK_PUBLIC_APIS_ONLY": "1"})
    return data


def events(data: DataFolder, env: dict[str, str], monkeypatch) -> tuple[type, list[dict]]:
    """The storage class the instance writes through, and per run (oldest first) the assets it
    materialized and the checks it evaluated with their outcome."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with dagster_instance(data.root) as instance:
        runs = []
        for run in reversed(instance.get_runs()):
            materialized = instance.get_records_for_run(
                run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION, limit=1000
            ).records
            checked = instance.get_records_for_run(
                run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION, limit=1000
            ).records
            runs.append(
                {
                    "status": run.status,
                    "date": run.tags["feedback/run_date"],
                    "materialized": sorted(
                        r.event_log_entry.dagster_event.asset_key.to_user_string()
                        for r in materialized
                    ),
                    "checks": sorted(
                        (
                            evaluation.asset_key.to_user_string(),
                            evaluation.check_name,
                            evaluation.passed,
                        )
                        for r in checked
                        if (evaluation := r.event_log_entry.dagster_event.event_specific_data)
                    ),
                }
            )
        return type(instance.event_log_storage), runs


def test_the_public_path_gives_the_same_dagster_events(private, public, monkeypatch):
    private_storage, private_runs = events(private, {}, monkeypatch)
    public_storage, public_runs = events(public, {"FEEDBACK_PUBLIC_APIS_ONLY": "1"}, monkeypatch)
    assert private_storage is PooledSqliteEventLogStorage
    assert public_storage is not PooledSqliteEventLogStorage
    assert [run["date"] for run in public_runs] == list(RUN_DATES)
    assert all(run["status"] == dg.DagsterRunStatus.SUCCESS for run in public_runs)
    # Every model a materialization, every data test of the run a passed check.
    assert "marts/quarterly_satisfaction" in public_runs[0]["materialized"]
    assert public_runs[0]["checks"] and all(passed for *_, passed in public_runs[0]["checks"])
    assert public_runs == private_runs


def test_the_public_path_gives_the_same_warehouse_files_and_figure(private, public):
    published = public.published()
    assert published and published["quarter"] == "2026-Q1"
    assert public.query("select count(*) from ledger.invitations where sent_on = '2026-04-01'")[0][
        0
    ]
    assert public.state() == private.state()
    assert public.files("reports") == private.files("reports")


def test_the_public_path_writes_no_dbt_state_of_the_in_process_path(public):
    """The public path runs `dbt` as a process: dbt's own artifacts are in the data folder's dbt
    state, which the in-process path does not write."""
    assert (public.root / "dbt" / "run_results.json").exists()
