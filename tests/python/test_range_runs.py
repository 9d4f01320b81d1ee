"""`feedback run --from D1 --to D2` does exactly what `feedback run --as-of D` for every date D1..D2
in order does: the same invitations with the same `sent_on`, the same masking, publications and
marts (the contract).

Two data folders get the same synthetic deliveries (`feedback.landing.synthetic`: about 1,500
customers, every delivery from October to the end of the range present at the start, so both load
them all on D1). One runs the 60 dates of the range in one run; the other runs each date. The range
crosses the close of 2026-Q1 (a publication), masks records crossing the 3-month line every day, and
sees contacts arrive every day, some blocked by the 28-day rule.
"""

from __future__ import annotations

from datetime import date, timedelta

import dagster as dg
import pytest
from conftest import DataFolder

from feedback.landing.synthetic import Population, SyntheticData
from feedback_cli import main as cli
from orchestration.instance import dagster_instance

# 60 days, to the week after the close of 2026-Q1.
FIRST, LAST = date(2026, 2, 8), date(2026, 4, 8)
# From October: records cross the 3-month line on every date of the range.
POPULATION = Population(customers=1500, first_day=date(2025, 10, 1), last_day=LAST)


def _land(data: DataFolder) -> None:
    with SyntheticData(POPULATION) as synthetic:
        synthetic.write(data.root / "landing", POPULATION.first_day + timedelta(days=1), LAST)


@pytest.fixture(scope="module")
def day_by_day(tmp_path_factory) -> DataFolder:
    data = DataFolder(tmp_path_factory.mktemp("day-by-day"))
    _land(data)
    day = FIRST
    while day <= LAST:
        data.run(day.isoformat())
        day += timedelta(days=1)
    return data


@pytest.fixture(scope="module")
def as_a_range(tmp_path_factory) -> tuple[DataFolder, str]:
    data = DataFolder(tmp_path_factory.mktemp("range"))
    _land(data)
    output = data.run_range(FIRST.isoformat(), LAST.isoformat())
    return data, output


def test_the_dates_hold_what_the_comparison_needs(day_by_day):
    days = (LAST - FIRST).days + 1
    sent_on = day_by_day.query(
        "select distinct sent_on from ledger.invitations where sent_on >= ?", [FIRST]
    )
    assert len(sent_on) >= days - 3
    outcomes = {
        outcome
        for (outcome,) in day_by_day.query("select distinct outcome from marts.contact_outcomes")
    }
    assert {"invited", "emailed_within_quiet_period", "past_catch_up_bound"} <= outcomes
    masked_days = day_by_day.query(
        "select distinct run_date from privacy.masking_log where records_masked > 0"
    )
    assert len(masked_days) >= days - 3
    assert day_by_day.published()["quarter"] == "2026-Q1"


def test_a_range_run_ends_where_the_runs_of_its_dates_end(day_by_day, as_a_range):
    expected, actual = day_by_day.state(), as_a_range[0].state()
    assert actual["tables"].keys() == expected["tables"].keys()
    for name, rows in expected["tables"].items():
        assert actual["tables"][name] == rows, name
    for part in ("masking_log", "files", "published"):
        assert actual[part] == expected[part], part


def test_a_range_run_says_what_it_did(as_a_range):
    output = as_a_range[1]
    assert f"feedback run for {FIRST} to {LAST}: completed" in output
    assert "published: 2026-Q1 average" in output


def test_the_ui_lists_each_dates_run_under_its_partition_and_a_range_under_none(
    day_by_day, as_a_range
):
    def partitions(data: DataFolder) -> list[str]:
        with dagster_instance(data.root) as instance:
            return sorted(
                run.tags.get("dagster/partition", "none")
                for run in instance.get_runs()
                if run.status == dg.DagsterRunStatus.SUCCESS
            )

    days = (LAST - FIRST).days + 1
    assert partitions(day_by_day) == [(FIRST + timedelta(days=n)).isoformat() for n in range(days)]
    assert partitions(as_a_range[0]) == ["none"]


def test_no_generated_source_looks_silent_on_any_of_the_days(day_by_day):
    """The sources' checks raise no false alarm over 60 days of generated deliveries run day by
    day (contacts every day, KCM's answers mostly the next morning)."""
    with dagster_instance(day_by_day.root) as instance:
        runs = instance.get_runs()
        evaluations = [
            (
                run.tags["feedback/run_date"],
                record.event_log_entry.dagster_event.event_specific_data,
            )
            for run in runs
            for record in instance.get_records_for_run(
                run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION, limit=1000
            ).records
        ]
    sources = [e for _, e in evaluations if e.check_name == "newest_record_recent"]
    assert len(sources) == 2 * len(runs) == 2 * ((LAST - FIRST).days + 1)
    assert [(day, e.description) for day, e in evaluations if not e.passed] == []


def test_a_range_must_be_a_range(data, capsys, monkeypatch):
    monkeypatch.setenv("FEEDBACK_DATA_DIR", str(data.root))
    for argv, message in (
        (["--from", "2026-04-02", "--to", "2026-04-01"], "--to 2026-04-01 is before --from"),
        (["--from", "2026-04-01"], "a range needs both --from D1 and --to D2"),
        (["--as-of", "2026-04-01", "--from", "2026-04-01", "--to", "2026-04-02"], "not both"),
    ):
        with pytest.raises(SystemExit) as exit_:
            cli.main(["run", *argv])
        assert exit_.value.code == 2
        assert message in capsys.readouterr().err
    assert cli.main(["run", "--from", "2026-04-01", "--to", "1 april"]) == 1
    assert "'1 april' is not a date like" in capsys.readouterr().err
    assert not (data.root / "warehouse.duckdb").exists()
