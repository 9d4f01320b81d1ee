"""The tables dbt keeps up to date (the incremental models: the staging tables of contacts and
responses, marts.survey_responses and marts.response_details) hold, after a week of daily runs,
exactly what a full rebuild from the same raw tables and ledger holds; marts.contact_outcomes, a
view over them, shows what was kept.

The week is what production sees: each morning's delivery lands before its run, KCM delivers a
corrected response again, a source system delivers contacts again with other details (one
already decided for good and masked, one still open), a contact without a customer id is
rejected and masked, masking clears records crossing the 3-month line every day, and the last
date runs a second time after a late delivery.
"""

from __future__ import annotations

import csv
import io
import shutil
from datetime import date, timedelta

import pytest
from conftest import CONTACT_HEADER, KCM_HEADER, DataFolder, dbt

from feedback.core.warehouse import connect
from feedback.landing.synthetic import Population, SyntheticData

FIRST, LAST = date(2026, 2, 2), date(2026, 2, 8)
POPULATION = Population(customers=800, first_day=date(2025, 10, 1), last_day=LAST)
REDELIVERED_ON = date(2026, 2, 5)
CONTACT_COLUMNS = CONTACT_HEADER.strip()


def _redeliver(data: DataFolder, day: date) -> list[str]:
    """A delivery for `day` of two contacts delivered before, with another contact type and
    channel: one from November (decided and masked by now), one from the week before."""
    old = data.query(
        f"select {CONTACT_COLUMNS} from raw.contact_events"
        " where occurred_at < '2025-11-15' and contact_type = 'service_question'"
        " order by event_id limit 1"
    )
    recent = data.query(
        f"select {CONTACT_COLUMNS} from raw.contact_events where event_id = ("
        "  select min(event_id) from staging.stg_contacts__events"
        "  where contact_date >= ? and contact_type = 'service_question')",
        [day - timedelta(days=3)],
    )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    out.write(CONTACT_HEADER)
    # the source system still has the November contact's customer; masking clears it again
    writer.writerow([old[0][0], "K0000001", "claim_reported", old[0][3], "klant@example.nl",
                     "A. Klant", old[0][6], "phone"])  # fmt: skip
    row = recent[0]
    writer.writerow([*row[:2], "claim_reported", *row[3:7], "phone"])
    data.land("contact_events", f"contacts-{day}-corrections.csv", out.getvalue())
    return [old[0][0], recent[0][0]]


def _correct_a_response(data: DataFolder, day: date) -> str:
    """KCM's delivery for `day` of a response delivered before, its grade corrected."""
    ((response_id, invitation_id, questionnaire_id, completed_at, grade),) = data.query(
        "select response_id, invitation_id, questionnaire_id, completed_at, grade"
        " from raw.kcm_responses where response_id = ("
        "  select min(response_id) from staging.stg_kcm__responses where grade < 10)"
    )
    data.land(
        "kcm_responses",
        f"kcm-{day}-corrections.csv",
        KCM_HEADER
        + f"{response_id};{invitation_id};{questionnaire_id};{completed_at};{int(grade) + 1};\n",
    )
    return response_id


def _deliver_without_customer(data: DataFolder) -> str:
    """A contact of October without a customer id: rejected, and masked on the first run."""
    data.land(
        "contact_events",
        "contacts-october-no-customer.csv",
        CONTACT_HEADER + "nocustomer-1,,claim_reported,2025-10-20T10:00:00+02:00,"
        "zonder@example.nl,C. Zonder,car,web\n",
    )
    return "nocustomer-1"


def _deliver_late(data: DataFolder, day: date) -> str:
    """A delivery for `day` of a contact of three weeks before: past the catch-up bound."""
    occurred = (day - timedelta(days=21)).isoformat()
    data.land(
        "contact_events",
        f"contacts-{day}-late.csv",
        CONTACT_HEADER + f"late-1,K0000002,claim_reported,{occurred}T10:00:00+01:00,"
        "laat@example.nl,B. Laat,car,web\n",
    )
    return "late-1"


@pytest.fixture(scope="module")
def week(tmp_path_factory) -> tuple[DataFolder, list[str], str]:
    data = DataFolder(tmp_path_factory.mktemp("week"))
    landing = data.root / "landing"
    redelivered: list[str] = []
    corrected = ""
    with SyntheticData(POPULATION) as synthetic:
        synthetic.write(landing, POPULATION.first_day + timedelta(days=1), FIRST, one_file=True)
        without_customer = _deliver_without_customer(data)
        data.run(FIRST.isoformat())
        # rejected for good: masking emptied its e-mail and name, not its reason
        assert data.query(
            "select raw.email, raw._masked_on, rejected.rejection_reason"
            " from raw.contact_events as raw inner join staging.stg_landing__rejected_rows"
            " as rejected on raw._ingestion_id = rejected.ingestion_id"
            " and raw._line_number = rejected.line_number where raw.event_id = ?",
            [without_customer],
        ) == [(None, FIRST, "missing customer_id")]
        day = FIRST + timedelta(days=1)
        while day <= LAST:
            synthetic.write(landing, day, day)
            if day == REDELIVERED_ON:
                redelivered = _redeliver(data, day)
                corrected = _correct_a_response(data, day)
            data.run(day.isoformat())
            day += timedelta(days=1)
    # A second run of the last date, after a late delivery: that run keeps the contact's outcome.
    late = _deliver_late(data, LAST)
    data.run(LAST.isoformat())
    assert data.query(
        "select decided_on from ledger.contact_outcomes where contact_event_id = ?", [late]
    ) == [(LAST,)]
    assert data.query(
        "select evaluated_for_run_date from marts.contact_outcomes where contact_event_id = ?",
        [late],
    ) == [(LAST,)]
    return data, redelivered, corrected


def _kept_tables(data: DataFolder) -> list[str]:
    return [
        f"{schema}.{name}"
        for schema, name in data.query(
            "select table_schema, table_name from information_schema.tables"
            " where table_schema in ('staging', 'marts') and table_type = 'BASE TABLE'"
            " order by all"
        )
    ]


def test_the_week_has_what_the_comparison_needs(week):
    data, redelivered, corrected = week
    assert len(redelivered) == 2
    assert data.query(
        "select event_id, contact_type, channel from staging.stg_contacts__events"
        " where event_id in (?, ?) order by event_id",
        redelivered,
    ) == [(event_id, "claim_reported", "phone") for event_id in sorted(redelivered)]
    # the November contact was kept as decided and is masked: its row is replaced all the same
    assert data.query(
        "select outcomes.contact_type, outcomes.customer_id is null"
        " from marts.contact_outcomes as outcomes"
        " inner join ledger.contact_outcomes as kept using (contact_event_id)"
        " where contact_event_id = ?",
        [redelivered[0]],
    ) == [("claim_reported", True)]
    masked_on = data.query("select distinct _masked_on from raw.contact_events order by 1")
    assert len(masked_on) >= 7
    (delivered,), (staged,) = data.query(
        "select grade from raw.kcm_responses where response_id = ? order by _ingestion_id",
        [corrected],
    )
    assert (
        data.query(
            "select grade from staging.stg_kcm__responses where response_id = ?", [corrected]
        )
        == [(int(staged),)]
        != [(int(delivered),)]
    )
    assert {"staging.stg_contacts__events", "marts.survey_responses"} <= set(_kept_tables(data))
    # each keep says what it covered: its date's catch-up bound, and the deliveries staged then
    # (the late contact came in the last one)
    assert data.query(
        "select decided_on - catch_up_bound, max(seen_through_ingestion_id)"
        " from ledger.contact_outcomes group by all"
    ) == [(14, data.query("select max(ingestion_id) from staging.stg_contacts__events")[0][0])]


def test_the_incremental_tables_equal_a_full_rebuild(week, tmp_path, monkeypatch):
    data, _, _ = week
    rebuilt = DataFolder(tmp_path)
    shutil.copyfile(data.root / "warehouse.duckdb", rebuilt.root / "warehouse.duckdb")
    monkeypatch.setenv("FEEDBACK_DATA_DIR", str(rebuilt.root))
    monkeypatch.setenv("FEEDBACK_RUN_DATE", LAST.isoformat())
    result = dbt(
        ["run", "--quiet", "--full-refresh", "--select", "config.materialized:incremental"],
        tmp_path / "dbt",
    )
    assert result.success, result.exception
    rebuilt_models = {node.node.name for node in result.result.results}
    assert {"stg_contacts__events", "stg_kcm__responses", "survey_responses"} <= rebuilt_models

    tables = _kept_tables(data)
    assert _kept_tables(rebuilt) == tables
    for table in tables:
        assert rebuilt.table(table) == data.table(table), table


@pytest.mark.parametrize(
    ("model", "table", "column", "values"),
    [
        # the valid and the not valid, as staged or masked
        ("stg_contacts__events", "staging.stg_contacts__events", "has_valid_email", 2),
        # every row built by this build
        ("survey_responses", "marts.survey_responses", "built_at", 1),
    ],
)
def test_a_table_made_before_a_column_gets_it_on_the_next_build(
    week, tmp_path, monkeypatch, model, table, column, values
):
    """A table made before one of its columns: the next build adds it (`add_column`). The
    staging table sets it on the rows it holds as staging and masking would have; the mart
    builds every row again once, its rows as a build would have made them."""
    data, _, _ = week
    before = DataFolder(tmp_path)
    shutil.copyfile(data.root / "warehouse.duckdb", before.root / "warehouse.duckdb")
    with connect(before.root / "warehouse.duckdb") as conn:
        conn.execute(f"alter table {table} drop column {column}")
    monkeypatch.setenv("FEEDBACK_DATA_DIR", str(before.root))
    monkeypatch.setenv("FEEDBACK_RUN_DATE", LAST.isoformat())
    result = dbt(["run", "--quiet", "--select", model], tmp_path / "dbt")
    assert result.success, result.exception
    assert before.table(table) == data.table(table)
    assert before.query(
        f"select count(*) filter ({column} is null), count(distinct {column}) from {table}"
    ) == [(0, values)]


@pytest.mark.parametrize("stamp", ["the last build's", "an earlier one"])
def test_a_response_twice_in_the_mart_fails_the_unique_test_of_the_last_build(
    week, tmp_path, monkeypatch, stamp
):
    """survey_responses' unique test reads the keys the last build wrote: a second row of one
    of them fails it, whether stamped with that build or an earlier one."""
    data, _, _ = week
    copy = DataFolder(tmp_path)
    shutil.copyfile(data.root / "warehouse.duckdb", copy.root / "warehouse.duckdb")
    monkeypatch.setenv("FEEDBACK_DATA_DIR", str(copy.root))
    monkeypatch.setenv("FEEDBACK_RUN_DATE", LAST.isoformat())
    unique_test = ["test", "--quiet", "--select", "survey_responses,test_name:unique_where_rebuilt"]

    passed = dbt(unique_test, tmp_path / "dbt")
    assert passed.success, passed.exception
    assert [result.status for result in passed.result.results] == ["pass"]

    built_at = "built_at" if stamp == "the last build's" else "built_at - interval 1 day"
    with connect(copy.root / "warehouse.duckdb") as conn:
        conn.execute(
            f"insert into marts.survey_responses by name select * replace ({built_at} as built_at)"
            " from marts.survey_responses"
            " where built_at = (select max(built_at) from marts.survey_responses) limit 1"
        )
    failed = dbt(unique_test, tmp_path / "dbt")
    assert not failed.success
    assert [(result.status, result.failures) for result in failed.result.results] == [("fail", 1)]
