"""Masking: three calendar months after a record's date its personal data is gone everywhere.

Runs on one data folder: 2 March 2026 (old contacts, an old KCM delivery with rejected and
unreadable rows, a file kept aside), 1 April (a response to the invitation of 2 March, and one
of 20 March; the quarter closes) and 3 June, whose cutoff is 3 March: what is dated before it is
masked, what is dated on 20 March or later is kept. On 4 June the old contacts come again, once
as the same file and once re-exported: nothing masked comes back.
"""

import json
import re
import shutil
from datetime import date
from decimal import Decimal

import duckdb
import pytest
from conftest import CONTACT_HEADER, KCM_HEADER, dbt, invitation_id

from feedback.core.warehouse import connect

OLD_CONTACTS = (
    "event_id,customer_id,contact_type,occurred_at,email,customer_name,product,channel,notitie\n"
    "c-olga,cust-olga-7781,service_question,2026-03-01 10:00:00,olga.oud@example.nl,"
    "Olga Oudhof,auto,phone,terugbellen olga.oud@example.nl\n"
    # The timestamp does not parse: rejected, and dated by the run that loaded it.
    "c-ria,cust-ria-3321,new_policy,maandag,ria.rejected@example.nl,Ria Rejected,,web,\n"
)
# Not UTF-8: kept aside whole, with the personal data in it.
QUARANTINED = CONTACT_HEADER + (
    "c-q,cust-quirijn-1,new_policy,2026-03-01 09:00:00,quirijn@example.nl,Quirijn Quarantaine"
    "\xe9,,web\n"
)
OLD_KCM = (
    "response_id;invitation_id;questionnaire_id;completed_at;grade;comment;q_toelichting\n"
    "r-old;inv-unknown;KCM-SQ-01;2026-02-20 10:00:00;8;"
    "Bel 06-87654321 of mail olga.oud@example.nl, IBAN NL20INGB0001234567. Cijfer 8.;"
    "mail kcm.toelichting@example.nl\n"
    "r-rej;inv-unknown;KCM-SQ-01;2026-02-21 10:00:00;11;mail rejected.grade@example.nl;\n"
    "r-notime;inv-unknown;KCM-SQ-01;gisteren;6;mail notime@example.nl;\n"
    "r-wide;inv-unknown;KCM-SQ-01;2026-02-22 10:00:00;7;unreadable.row@example.nl;x;y;z\n"
)
APRIL_KCM = KCM_HEADER + (
    f"r-olga;{invitation_id('c-olga')};KCM-SQ-01;2026-03-02T20:00:00+01:00;7;Prima geholpen\n"
    "r-kept;inv-other;KCM-CL-01;2026-03-20 10:00:00;10;Bel me gerust: 020-1234567\n"
)
# Olga's dated row of 1 March again, in a file of other bytes (a rejected row without a date of
# its own would count as new: it is dated by the run that loads it).
REEXPORTED = OLD_CONTACTS.split("\n")[0] + "\r\n" + OLD_CONTACTS.split("\n")[1] + "\r\n"
JUNE_CONTACTS = CONTACT_HEADER + (
    "c-nina,cust-nina-5512,claim_reported,2026-06-02 11:00:00,nina.nieuw@example.nl,"
    "Nina Nieuw,woon,web\n"
)

GONE = [
    "cust-olga-7781",
    "olga.oud@example.nl",
    "Olga Oudhof",
    "cust-ria-3321",
    "ria.rejected@example.nl",
    "Ria Rejected",
    "cust-quirijn-1",
    "quirijn@example.nl",
    "Quirijn",
    "06-87654321",
    "NL20INGB0001234567",
    "kcm.toelichting@example.nl",
    "rejected.grade@example.nl",
    "notime@example.nl",
    "unreadable.row@example.nl",
]
QUARTERS = "select * from marts.quarterly_satisfaction order by all"
QUARTERS_BY_TYPE = "select * from marts.quarterly_satisfaction_by_contact_type order by all"
KEPT = ["cust-nina-5512", "nina.nieuw@example.nl", "Nina Nieuw", "020-1234567"]
MASKED_ON = (
    "select 'contact', event_id, _masked_on from raw.contact_events"
    " union all select 'response', response_id, _masked_on from raw.kcm_responses"
    " union all select 'invitation', invitation_id, masked_on from ledger.invitations"
    " order by all"
)


@pytest.fixture(scope="module")
def scenario(module_data):
    data = module_data
    data.land("contact_events", "contacts-2026-03-01.csv", OLD_CONTACTS)
    data.land("contact_events", "contacts-2026-03-01-b.csv", QUARANTINED, encoding="latin-1")
    data.land("kcm_responses", "kcm-2026-03-01.csv", OLD_KCM)
    data.land("opt_outs", "opt-outs-2026-03-01.csv", "customer_id,opted_out_at\ncust-opt-9,\n")
    data.run("2026-03-02")
    assert data.outbox() == [invitation_id("c-olga")]
    assert "olga.oud@example.nl" in found_in_warehouse(data, ["olga.oud@example.nl"])
    bytes_before_masking = found_in_files(data, GONE)

    data.land("kcm_responses", "kcm-2026-03-31.csv", APRIL_KCM)
    data.run("2026-04-01")
    before = {
        "grades": data.query("select response_id, grade from marts.survey_responses order by 1"),
        "quarter": data.query(QUARTERS),
        "by_type": data.query(QUARTERS_BY_TYPE),
        "published": data.published(),
    }

    data.land("contact_events", "contacts-2026-06-02.csv", JUNE_CONTACTS)
    _, output = data.run("2026-06-03")
    masked_on = data.query(MASKED_ON)

    data.land("contact_events", "contacts-2026-03-01.csv", OLD_CONTACTS)
    data.land("contact_events", "contacts-2026-03-01-export.csv", REEXPORTED)
    _, again = data.run("2026-06-04")
    return {
        "before": before,
        "bytes_before_masking": bytes_before_masking,
        "output": output,
        "masked_on": masked_on,
        "again": again,
    }


def nina_message() -> str:
    return f"outbox/{invitation_id('c-nina')}.eml"


def found_in_warehouse(data, needles: list[str]) -> dict[str, list[str]]:
    """Every text and JSON column of every table and view, searched for each needle."""
    conn = duckdb.connect(str(data.root / "warehouse.duckdb"), read_only=True)
    try:
        columns = conn.execute(
            "select table_schema, table_name, column_name from information_schema.columns"
            " where data_type in ('VARCHAR', 'JSON')"
        ).fetchall()
        found: dict[str, list[str]] = {}
        for schema, table, column in columns:
            for needle in needles:
                hits = conn.execute(
                    f'select count(*) from "{schema}"."{table}"'
                    f' where cast("{column}" as varchar) ilike ?',
                    [f"%{needle}%"],
                ).fetchone()[0]
                if hits:
                    found.setdefault(needle, []).append(f"{schema}.{table}.{column}")
        return found
    finally:
        conn.close()


def found_in_files(data, needles: list[str]) -> dict[str, list[str]]:
    """The raw bytes of every file in the data folder (the DuckDB files, their write-ahead
    logs, Dagster's instance and the logs included), in UTF-8 and Latin-1."""
    found: dict[str, list[str]] = {}
    for path in sorted(data.root.rglob("*")):
        if not path.is_file():
            continue
        content = path.read_bytes()
        for needle in needles:
            if needle.encode("utf-8") in content or needle.encode("latin-1") in content:
                found.setdefault(needle, []).append(str(path.relative_to(data.root)))
    return found


def test_no_personal_data_past_three_months_in_any_table_or_view(scenario, module_data):
    assert found_in_warehouse(module_data, GONE) == {}


def test_no_personal_data_past_three_months_in_any_file(scenario, module_data):
    # Before masking the scan finds them, in the bytes of the warehouse file too.
    assert "warehouse.duckdb" in scenario["bytes_before_masking"]["olga.oud@example.nl"]
    assert found_in_files(module_data, GONE) == {}
    assert not list((module_data.root / "quarantine").rglob("*.csv"))
    assert module_data.outbox() == [invitation_id("c-nina")]


def test_recent_personal_data_is_kept(scenario, module_data):
    kept = found_in_warehouse(module_data, KEPT)
    assert "marts.feedback_invitations.customer_id" in kept["cust-nina-5512"]
    assert "ledger.invitations.email" in kept["nina.nieuw@example.nl"]
    assert "marts.survey_responses.comment" in kept["020-1234567"]
    # The June delivery stays archived; the message to Nina stays in the outbox; BI tools'
    # copy of the marts keeps Nina's customer id and the recent comment.
    june = "archive/contact_events/000006-contacts-2026-06-02.csv"
    found = {
        needle: [re.sub(r"^reporting/marts-[0-9T]+/", "reporting/marts/", f) for f in files]
        for needle, files in found_in_files(module_data, KEPT).items()
    }
    assert found == {
        "cust-nina-5512": [
            june,
            "reporting/marts/contact_outcomes.parquet",
            "reporting/marts/feedback_invitations.parquet",
            "reporting.duckdb",
            "warehouse.duckdb",
        ],
        "020-1234567": [
            "reporting/marts/survey_responses.parquet",
            "reporting.duckdb",
            "warehouse.duckdb",
        ],
        "nina.nieuw@example.nl": [*sorted([june, nina_message()]), "warehouse.duckdb"],
        "Nina Nieuw": [*sorted([june, nina_message()]), "warehouse.duckdb"],
    }


def test_ids_read_null_and_comments_are_redacted(scenario, module_data):
    data = module_data
    assert data.query(
        "select invitation_id, customer_id, contact_event_id, sent_on"
        " from marts.feedback_invitations order by sent_on"
    ) == [
        (invitation_id("c-olga"), None, "c-olga", date(2026, 3, 2)),
        (invitation_id("c-nina"), "cust-nina-5512", "c-nina", date(2026, 6, 3)),
    ]
    assert data.query(
        "select customer_id, email, customer_name, masked_on from ledger.invitations"
        " where contact_event_id = 'c-olga'"
    ) == [(None, None, None, date(2026, 6, 3))]
    comment, extra = data.query(
        "select comment, extra_answers from marts.survey_responses where response_id = 'r-old'"
    )[0]
    assert comment == (
        "Bel [telefoonnummer verwijderd] of mail [e-mailadres verwijderd],"
        " IBAN [IBAN verwijderd]. Cijfer 8."
    )
    assert json.loads(extra) == {"q_toelichting": "mail [e-mailadres verwijderd]"}
    rejected = data.query(
        "select file_name, line_number, reason from audit.rejected_records order by 1, 2"
    )
    assert rejected[:3] == [
        ("contacts-2026-03-01.csv", 3, "occurred_at is not an ISO 8601 timestamp"),
        ("kcm-2026-03-01.csv", 3, "grade is not a whole number from 1 to 10"),
        ("kcm-2026-03-01.csv", 4, "completed_at is not an ISO 8601 timestamp"),
    ]
    assert rejected[3][:2] == ("kcm-2026-03-01.csv", 5)
    assert rejected[3][2].startswith("TOO MANY COLUMNS: Expected Number of Columns: 7")


def test_grades_and_averages_do_not_change_by_masking(scenario, module_data):
    data = module_data
    before = scenario["before"]
    assert before["grades"] == [("r-kept", 10), ("r-old", 8), ("r-olga", 7)]
    # (8 + 7 + 10) / 3 = 8.333..., published as 8.3.
    assert [row[:6] for row in before["quarter"]] == [
        ("2026-Q1", date(2026, 1, 1), date(2026, 3, 31), 3, pytest.approx(25 / 3), Decimal("8.3"))
    ]
    assert (
        data.query("select response_id, grade from marts.survey_responses order by 1")
        == (before["grades"])
    )
    assert data.query(QUARTERS) == before["quarter"]
    assert data.query(QUARTERS_BY_TYPE) == (before["by_type"])
    assert data.published() == before["published"]
    assert before["published"]["published_on"] == "2026-04-01"


def test_opt_outs_are_kept(scenario, module_data):
    assert module_data.query("select customer_id from raw.opt_outs") == [("cust-opt-9",)]


def test_the_run_summary_counts_what_was_masked(scenario):
    # Two contact rows, four KCM rows, one unreadable line, one invitation and the file kept
    # aside; the four files that held them (three archived, one quarantined) and one message.
    assert (
        "masking: 9 record(s) past 3 months masked, 4 stored file(s) and 1 message(s) deleted"
        in scenario["output"]
    )


def test_each_run_logs_what_it_masked_per_record_kind_with_its_cutoff(scenario, module_data):
    logged = module_data.query(
        "select run_date, masking_cutoff, record_kind, records_masked, is_compacted"
        " from audit.personal_data_maskings where records_masked > 0 order by all"
    )
    assert logged == [
        (date(2026, 6, 3), date(2026, 3, 3), kind, n, True)
        for kind, n in sorted(
            {
                "contact_event": 2,
                "kcm_response": 4,
                "unreadable_row": 1,
                "invitation": 1,
                "quarantined_file": 1,
                "stored_file": 4,
                "outbox_message": 1,
            }.items()
        )
    ] + [
        # The re-exported old contacts, masked in the run that loaded them; their file deleted.
        (date(2026, 6, 4), date(2026, 3, 4), "contact_event", 1, True),
        (date(2026, 6, 4), date(2026, 3, 4), "stored_file", 1, True),
    ]
    # Every run logs every kind, zeros included, with the cutoff it used.
    assert module_data.query(
        "select run_date, min(masking_cutoff), count(*) from audit.personal_data_maskings"
        " group by run_date order by run_date"
    ) == [
        (date(2026, 3, 2), date(2025, 12, 2), 7),
        (date(2026, 4, 1), date(2026, 1, 1), 7),
        (date(2026, 6, 3), date(2026, 3, 3), 7),
        (date(2026, 6, 4), date(2026, 3, 4), 7),
    ]


def test_masking_again_changes_nothing_and_a_redelivery_brings_nothing_back(scenario, module_data):
    data = module_data
    # What 3 June masked stays as it was: the next run does not mask it again.
    first = {row for row in scenario["masked_on"] if row[2] is not None}
    assert first <= set(data.query(MASKED_ON))
    assert "1 repeated delivery(ies)" in scenario["again"]
    assert (
        "masking: 1 record(s) past 3 months masked, 1 stored file(s) and 0 message(s) deleted"
        in scenario["again"]
    )
    assert data.query(
        "select event_id, customer_id, email, customer_name, _masked_on from raw.contact_events"
        " where _file_name = 'contacts-2026-03-01-export.csv' order by 1"
    ) == [("c-olga", None, None, None, date(2026, 6, 4))]
    assert not list((data.root / "archive").rglob("*contacts-2026-03-01*"))


def test_a_masked_contact_keeps_the_outcome_the_rules_gave_it(data):
    # Two contacts of one customer on 1 March (the later one is invited) and one without a valid
    # address. On 3 June, past the catch-up bound, their outcomes are kept, then their personal
    # data goes; why they were not invited must stay.
    data.land(
        "contact_events",
        "contacts-2026-03-01.csv",
        CONTACT_HEADER
        + "c-early,cust-a,service_question,2026-03-01 08:00:00,a@example.nl,A,,phone\n"
        "c-late,cust-a,claim_reported,2026-03-01 10:00:00,a@example.nl,A,,phone\n"
        "c-bad,cust-b,service_question,2026-03-01 09:00:00,geen e-mail,B,,phone\n",
    )
    outcomes = (
        "select contact_event_id, customer_id, outcome, blocking_sent_on, evaluated_for_run_date"
        " from marts.contact_outcomes order by contact_event_id"
    )
    data.run("2026-03-02")
    assert data.query(outcomes) == [
        ("c-bad", "cust-b", "no_valid_email", None, date(2026, 3, 2)),
        ("c-early", "cust-a", "later_contact_chosen", date(2026, 3, 2), date(2026, 3, 2)),
        ("c-late", "cust-a", "invited", None, date(2026, 3, 2)),
    ]

    data.run("2026-06-03")
    assert data.query(outcomes) == [
        ("c-bad", None, "no_valid_email", None, date(2026, 6, 3)),
        ("c-early", None, "later_contact_chosen", date(2026, 3, 2), date(2026, 6, 3)),
        ("c-late", None, "invited", None, date(2026, 6, 3)),
    ]
    # What is kept holds no personal data: ids, outcomes and dates.
    assert [
        column
        for (column,) in data.query(
            "select column_name from information_schema.columns"
            " where table_schema = 'ledger' and table_name = 'contact_outcomes'"
        )
    ] == [
        "contact_event_id",
        "outcome",
        "invitation_id",
        "invitation_sent_on",
        "blocking_invitation_id",
        "blocking_sent_on",
        "decided_on",
        "recorded_at",
        "catch_up_bound",
        "seen_through_ingestion_id",
    ]


def test_a_warehouse_with_a_key_on_the_kept_outcomes_loses_the_key_and_keeps_the_rows(tmp_path):
    """Warehouses made before kept ledger.contact_outcomes with a primary key, which made every
    compaction rebuild its index; the first connection makes the table again without it."""
    path = tmp_path / "warehouse.duckdb"
    made_before = duckdb.connect(str(path))
    made_before.execute(
        "create schema ledger; create table ledger.contact_outcomes ("
        " contact_event_id varchar primary key, outcome varchar not null, invitation_id varchar,"
        " invitation_sent_on date, blocking_invitation_id varchar, blocking_sent_on date,"
        " decided_on date not null, recorded_at timestamptz not null);"
        " insert into ledger.contact_outcomes values"
        " ('c1', 'invited', 'inv-1', '2026-03-02', null, null, '2026-04-30', now()),"
        " ('c2', 'opted_out', null, null, null, null, '2026-04-30', now())"
    )
    # the columns it had; those added since read NULL
    rows = (
        "select * exclude (catch_up_bound, seen_through_ingestion_id)"
        " from ledger.contact_outcomes order by 1"
    )
    kept = made_before.execute("select * from ledger.contact_outcomes order by 1").fetchall()
    made_before.close()

    constraints = (
        "select constraint_type, constraint_column_names from duckdb_constraints()"
        " where schema_name = 'ledger' and table_name = 'contact_outcomes' order by all"
    )
    for _ in range(2):
        with connect(path) as conn:
            assert conn.execute(rows).fetchall() == kept
            assert conn.execute(
                "select distinct catch_up_bound, seen_through_ingestion_id"
                " from ledger.contact_outcomes"
            ).fetchall() == [(None, None)]
            assert conn.execute(constraints).fetchall() == [
                ("NOT NULL", [column])
                for column in ("contact_event_id", "decided_on", "outcome", "recorded_at")
            ]
            assert not conn.execute(
                "select * from duckdb_tables() where table_name = 'contact_outcomes_keyed'"
            ).fetchall()


def test_a_row_dated_years_ahead_is_rejected_and_masked_three_months_after_its_run(data):
    # A mistyped year and KCM's placeholder: waiting for their dates, these rows would keep
    # their personal data for decades. Rejected, they count from the run that loaded them.
    ahead = ["cust-tom-4410", "tom.toekomst@example.nl", "Tom Toekomst", "kcm.later@example.nl"]
    data.land(
        "contact_events",
        "contacts-2026-03-01.csv",
        CONTACT_HEADER
        + "c-tom,cust-tom-4410,claim_reported,2062-03-01 10:00:00,tom.toekomst@example.nl,"
        "Tom Toekomst,woon,web\n",
    )
    data.land(
        "kcm_responses",
        "kcm-2026-03-01.csv",
        KCM_HEADER + "r-later;inv-unknown;KCM-CL-01;9999-12-31;9;mail kcm.later@example.nl\n",
    )
    data.run("2026-03-02")
    assert data.query(
        "select file_name, line_number, reason from audit.rejected_records order by 1"
    ) == [
        (
            "contacts-2026-03-01.csv",
            2,
            "occurred_at is more than a year after the delivery was loaded",
        ),
        ("kcm-2026-03-01.csv", 2, "completed_at is more than a year after the delivery was loaded"),
    ]
    assert data.query("select count(*) from marts.contact_outcomes") == [(0,)]
    assert set(found_in_warehouse(data, ahead)) == set(ahead)

    data.run("2026-06-03")
    assert found_in_warehouse(data, ahead) == {}
    assert found_in_files(data, ahead) == {}


def test_dbt_build_for_a_later_date_warns_of_what_masking_missed_only(
    scenario, module_data, tmp_path, monkeypatch
):
    # The last run, 4 June, masked before 4 March. A bare `dbt build` months later (today's
    # date) is held to that cutoff, not to its own, which no masking step has reached.
    data = tmp_path / "data"
    shutil.copytree(module_data.root, data)
    monkeypatch.setenv("FEEDBACK_DATA_DIR", str(data))
    check = "assert_no_personal_data_past_the_cutoff_in_marts"

    def found() -> int:
        result = dbt(["build", "--select", "feedback_invitations", check], tmp_path / "dbt")
        assert result.success, result.exception
        return next(run.failures for run in result.result if run.node.name == check)

    assert found() == 0
    # Olga's invitation of 2 March, as if masking had missed it.
    with connect(data / "warehouse.duckdb") as conn:
        conn.execute(
            "update ledger.invitations set customer_id = 'cust-olga-7781'"
            " where contact_event_id = 'c-olga'"
        )
    assert found() == 1
