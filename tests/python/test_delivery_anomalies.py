"""A short or odd delivery is seen, as a warning with its numbers that stops nothing: a day's
contacts far below the same weekday of the weeks before, a day without a contact type that
normally has them, KCM's grades of a day moved beyond chance. Generated weeks raise none.

Ten weeks of generated deliveries for 8,000 customers, with three days spoilt: the contacts of
4 March cut to a tenth, those of 11 March without any service question, and every answer KCM
delivered on 10 March (completed on the 9th, mostly) turned into a 1.
"""

from __future__ import annotations

import csv
from datetime import date, timedelta

import pytest
from conftest import DataFolder

from feedback.core.settings import Settings
from feedback.landing.anomalies import contact_anomalies, poisson_at_most, response_anomalies
from feedback.landing.synthetic import Population, SyntheticData

FIRST, LAST = date(2026, 1, 2), date(2026, 3, 15)
POPULATION = Population(customers=8000, first_day=date(2026, 1, 1), last_day=LAST)
CUT_SHORT, TYPE_MISSING, GRADES_MOVED = date(2026, 3, 5), date(2026, 3, 12), date(2026, 3, 10)


def _rewrite(path, delimiter: str, keep, change=lambda row: row) -> None:
    with path.open(encoding="utf-8-sig", newline="") as file:
        header, *rows = list(csv.reader(file, delimiter=delimiter))
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file, delimiter=delimiter, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(change(row) for n, row in enumerate(rows) if keep(n, row))


@pytest.fixture(scope="module")
def spoilt(tmp_path_factory) -> DataFolder:
    data = DataFolder(tmp_path_factory.mktemp("anomalies"))
    landing = data.root / "landing"
    with SyntheticData(POPULATION) as synthetic:
        synthetic.write(landing, FIRST, LAST)
    contacts = landing / "contact_events"
    _rewrite(contacts / f"contacts-{CUT_SHORT}.csv", ",", lambda n, row: n % 10 == 0)
    _rewrite(
        contacts / f"contacts-{TYPE_MISSING}.csv", ",", lambda n, row: row[2] != "service_question"
    )
    (answers,) = (landing / "kcm_responses").glob(f"*{GRADES_MOVED}*.csv")
    _rewrite(answers, ";", lambda n, row: True, lambda row: [*row[:4], "1", *row[5:]])
    data.run_range(FIRST.isoformat(), LAST.isoformat())
    return data


def test_a_day_cut_short_a_type_missing_and_grades_moved_are_found(spoilt):
    settings = Settings.from_env({"FEEDBACK_DATA_DIR": str(spoilt.root)})
    # A tenth of the day's contacts; with them, the types that were many that day are gone too.
    cut_short, *types_gone = contact_anomalies(settings, CUT_SHORT)
    assert cut_short.startswith(f"{spoilt_count(spoilt, '2026-03-04')} contacts dated 2026-03-04")
    assert cut_short.endswith("on the same weekday of the 8 weeks before: a delivery cut short?")
    assert all(finding.startswith("no contacts of type ") for finding in types_gone)
    (missing,) = contact_anomalies(settings, TYPE_MISSING)
    assert missing.startswith("no contacts of type service_question dated 2026-03-11, against")
    (moved,) = response_anomalies(settings, GRADES_MOVED)
    assert "KCM responses completed on 2026-03-09 average 1.00, against" in moved


def spoilt_count(data: DataFolder, day: str) -> int:
    return data.query(
        "select count(*) from staging.stg_contacts__events where contact_date = ?", [day]
    )[0][0]


def test_the_other_generated_days_raise_nothing(spoilt):
    settings = Settings.from_env({"FEEDBACK_DATA_DIR": str(spoilt.root)})
    spoilt_days = {CUT_SHORT, TYPE_MISSING, GRADES_MOVED}
    day, found = FIRST, {}
    while day <= LAST:
        if day not in spoilt_days:
            findings = contact_anomalies(settings, day) + response_anomalies(settings, day)
            if findings:
                found[day] = findings
        day += timedelta(days=1)
    assert found == {}


def test_the_runs_summary_names_the_warning_and_the_run_completes(spoilt):
    # The range's run checked its last date only; a run for the spoilt date names it.
    code, output = spoilt.run(CUT_SHORT.isoformat(), options=("--dry-run",))
    assert code == 0
    assert "warn: raw/contact_events: " in output and "a delivery cut short?" in output


def test_the_poisson_tail_is_that_of_the_distribution():
    # P(X <= 0) = e^-4; P(X <= 1) = 5 e^-4; for a large rate the tail at its mean is near 1/2.
    assert poisson_at_most(0, 4) == pytest.approx(0.0183156, rel=1e-5)
    assert poisson_at_most(1, 4) == pytest.approx(0.0915782, rel=1e-5)
    assert poisson_at_most(10_000, 10_000) == pytest.approx(0.5027, abs=1e-3)
