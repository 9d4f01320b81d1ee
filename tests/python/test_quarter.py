"""The quarter: the plain mean of the grades whose Amsterdam date falls in it, rounded half up,
published on the first run of the next quarter and rewritten only when the figure changes."""

import os
from datetime import date
from decimal import Decimal

import pytest
from conftest import CONTACT_HEADER, KCM_HEADER, invitation_id


def kcm(*rows: str) -> str:
    return KCM_HEADER + "".join(f"{row}\n" for row in rows)


JANUARY_CONTACTS = CONTACT_HEADER + (
    "e-k1,k1,service_question,2026-01-02 10:00:00,k1@example.nl,,,phone\n"
    "e-k2,k2,claim_reported,2026-01-03 10:00:00,k2@example.nl,,,web\n"
)
# 23:30 on 31 December in Amsterdam: the last moment of 2025-Q4.
Q4_RESPONSE = kcm("r-q4;inv-x;KCM-SQ-01;2025-12-31T23:30:00+01:00;1;")
Q1_RESPONSES = kcm(
    f"r-k1;{invitation_id('e-k1')};KCM-SQ-01;2026-01-05 10:00:00;7;",
    f"r-k2;{invitation_id('e-k2')};KCM-CL-01;2026-03-31T21:30:00Z;8;23:30 zomertijd",
    "r-new-year;inv-y;KCM-SQ-01;2026-01-01T00:30:00+01:00;7;net na middernacht",
    "r-feb;inv-z;KCM-SQ-01;2026-02-15 12:00:00;7;",
    # 22:30 UTC on 31 March is 00:30 on 1 April in Amsterdam: 2026-Q2, not complete yet.
    "r-q2;inv-w;KCM-SQ-01;2026-03-31T22:30:00Z;2;",
)
# Two late grades that move the mean (7.25 to 7.33) but not the published 7.3.
LATE_SAME_FIGURE = kcm(
    "r-late-1;inv-v;KCM-SQ-01;2026-03-30 10:00:00;7;",
    "r-late-2;inv-u;KCM-SQ-01;2026-03-30 11:00:00;8;",
)
# One more that does move it: (44 + 1) / 7 = 6.43.
LATE_NEW_FIGURE = kcm("r-late-3;inv-t;KCM-SQ-01;2026-03-30 12:00:00;1;")


@pytest.fixture(scope="module")
def runs(module_data):
    data = module_data
    data.land("contact_events", "contacts-2026-01-04.csv", JANUARY_CONTACTS)
    data.land("kcm_responses", "kcm-2026-01-04.csv", Q4_RESPONSE)
    states = {}
    data.run("2026-01-05")
    states["5 January"] = data.published()

    data.land("kcm_responses", "kcm-2026-03-31.csv", Q1_RESPONSES)
    _, output = data.run("2026-04-01")
    states["1 April"] = data.published()
    states["1 April output"] = output
    states["quarters"] = data.query(
        "select quarter, quarter_start, quarter_end, response_count, average_grade,"
        " published_grade from marts.quarterly_satisfaction order by quarter"
    )
    states["by type"] = data.query(
        "select quarter, contact_type, response_count, average_grade"
        " from marts.quarterly_satisfaction_by_contact_type order by quarter, contact_type"
    )
    states["responses"] = data.query(
        "select response_id, contact_type, completed_on, quarter from marts.survey_responses"
        " order by response_id"
    )
    published_file = data.root / "public" / "klanttevredenheid.json"
    states["1 April mtime"] = os.stat(published_file).st_mtime_ns

    data.land("kcm_responses", "kcm-2026-04-01.csv", LATE_SAME_FIGURE)
    _, output = data.run("2026-04-02")
    states["2 April"] = data.published()
    states["2 April output"] = output
    states["2 April mtime"] = os.stat(published_file).st_mtime_ns
    states["2 April Q1"] = data.query(
        "select response_count, published_grade from marts.quarterly_satisfaction"
        " where quarter = '2026-Q1'"
    )

    data.land("kcm_responses", "kcm-2026-04-02.csv", LATE_NEW_FIGURE)
    data.run("2026-04-03")
    states["3 April"] = data.published()
    return states


def test_first_run_on_or_after_a_quarter_start_publishes_the_quarter_just_ended(runs):
    assert runs["5 January"] == {
        "quarter": "2025-Q4",
        "average_grade": 1.0,
        "display": "1,0",
        "response_count": 1,
        "published_on": "2026-01-05",
    }


def test_the_quarter_is_the_plain_mean_rounded_half_up(runs):
    # (7 + 8 + 7 + 7) / 4 = 7.25, which rounds half up to 7.3 (Python's round gives 7.2).
    assert runs["quarters"] == [
        ("2025-Q4", date(2025, 10, 1), date(2025, 12, 31), 1, 1.0, Decimal("1.0")),
        ("2026-Q1", date(2026, 1, 1), date(2026, 3, 31), 4, 7.25, Decimal("7.3")),
    ]
    assert runs["1 April"] == {
        "quarter": "2026-Q1",
        "average_grade": 7.3,
        "display": "7,3",
        "response_count": 4,
        "published_on": "2026-04-01",
    }
    assert "published: 2026-Q1 average 7.3 over 4 response(s)" in runs["1 April output"]


def test_by_contact_type_splits_the_same_grades(runs):
    # Not used for the figure: a mean of these means would be (8 + 7 + 7) / 3 = 7.33.
    assert runs["by type"] == [
        ("2025-Q4", None, 1, 1.0),
        ("2026-Q1", "claim_reported", 1, 8.0),
        ("2026-Q1", "service_question", 1, 7.0),
        ("2026-Q1", None, 2, 7.0),
    ]


def test_a_response_belongs_to_the_quarter_of_its_amsterdam_date(runs):
    assert runs["responses"] == [
        ("r-feb", None, date(2026, 2, 15), "2026-Q1"),
        ("r-k1", "service_question", date(2026, 1, 5), "2026-Q1"),
        ("r-k2", "claim_reported", date(2026, 3, 31), "2026-Q1"),
        ("r-new-year", None, date(2026, 1, 1), "2026-Q1"),
        ("r-q2", None, date(2026, 4, 1), "2026-Q2"),
        ("r-q4", None, date(2025, 12, 31), "2025-Q4"),
    ]


def test_the_file_is_not_rewritten_while_the_published_figure_stays(runs):
    assert runs["2 April Q1"] == [(6, Decimal("7.3"))]
    assert runs["2 April"] == runs["1 April"]
    assert runs["2 April mtime"] == runs["1 April mtime"]
    assert "publication of 2026-Q1: unchanged" in runs["2 April output"]


def test_the_file_is_rewritten_when_the_figure_changes(runs):
    assert runs["3 April"] == {
        "quarter": "2026-Q1",
        "average_grade": 6.4,
        "display": "6,4",
        "response_count": 7,
        "published_on": "2026-04-03",
    }
