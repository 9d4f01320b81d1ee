"""The generator of synthetic landing files: the same seed gives the same files, and the files
look like the deliveries they stand in for (and load as such)."""

from __future__ import annotations

import csv
import hashlib
from collections import Counter
from datetime import date
from pathlib import Path

import duckdb
import pytest

from feedback.core.settings import Settings
from feedback.landing.loading import load_landing
from feedback.landing.synthetic import CONTACT_TYPES, RESPONSE_RATES, Population, SyntheticData

POPULATION = Population(customers=3000, first_day=date(2026, 1, 1), last_day=date(2026, 6, 30))


def _digests(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*.csv"))
    }


@pytest.fixture(scope="module")
def landed(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("synthetic")
    with SyntheticData(POPULATION) as data:
        data.write(folder / "landing", date(2026, 1, 2), date(2026, 5, 31), one_file=True)
        data.write(folder / "landing", date(2026, 6, 1), date(2026, 7, 1))
    return folder


def _rows(path: Path, delimiter: str = ",", encoding: str = "utf-8") -> list[dict]:
    with path.open(encoding=encoding, newline="") as source:
        return list(csv.DictReader(source, delimiter=delimiter))


def test_the_same_seed_gives_the_same_files_and_another_seed_others(tmp_path, landed):
    with SyntheticData(POPULATION) as data:
        data.write(tmp_path / "again", date(2026, 1, 2), date(2026, 5, 31), one_file=True)
        data.write(tmp_path / "again", date(2026, 6, 1), date(2026, 7, 1))
    assert _digests(tmp_path / "again") == _digests(landed / "landing")
    other = Population(**{**POPULATION.__dict__, "seed": 7})
    with SyntheticData(other) as data:
        data.write(tmp_path / "other", date(2026, 6, 1), date(2026, 6, 1))
    assert _digests(tmp_path / "other") != {
        name: digest
        for name, digest in _digests(landed / "landing").items()
        if "2026-06-01" in name
    }


def test_contacts_follow_the_week_and_every_type_occurs(landed):
    rows = _rows(next((landed / "landing" / "contact_events").glob("*-to-*.csv")))
    assert list(rows[0]) == [
        "event_id",
        "customer_id",
        "contact_type",
        "occurred_at",
        "email",
        "customer_name",
        "product",
        "channel",
    ]
    contacts = [row for row in rows if row["event_id"].startswith(("C2", "F2"))]
    # about 5 contacts per customer a year, over five months
    assert 5000 < len(contacts) < 8000
    assert set(Counter(row["contact_type"] for row in contacts)) == set(CONTACT_TYPES)
    weekdays = Counter(
        date(
            int(row["event_id"][1:5]), int(row["event_id"][5:7]), int(row["event_id"][7:9])
        ).isoweekday()
        for row in contacts
        if row["event_id"].startswith("C")
    )
    assert weekdays[1] > 3 * weekdays[6] > 0
    # repeat contacts: some customers have several, the follow-up questions among them
    per_customer = Counter(row["customer_id"] for row in contacts)
    assert max(per_customer.values()) >= 6
    assert any(row["event_id"].startswith("F") for row in contacts)
    # a few bad addresses and both time formats
    emails = [row["email"] for row in contacts]
    assert 0 < sum("@" not in email or " " in email for email in emails) < len(emails) * 0.05
    assert any(row["occurred_at"].endswith("Z") for row in contacts)
    assert any(" " in row["occurred_at"] for row in contacts)


def test_kcm_answers_like_kcm_delivers_them(landed):
    files = sorted((landed / "landing" / "kcm_responses").glob("kcm-2026-06-*.csv"))
    raw = files[0].read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfresponse_id;invitation_id;") and b"\r\n" in raw
    history = _rows(
        next((landed / "landing" / "kcm_responses").glob("*-to-*.csv")), ";", "utf-8-sig"
    )
    grades = Counter(row["grade"] for row in history)
    assert set(grades) <= {str(n) for n in range(1, 11)} | {"tien"}
    assert grades["8"] > grades["4"] > 0
    assert all(row["invitation_id"].startswith("inv-") for row in history)
    assert {row["questionnaire_id"][:6] for row in history} >= {"KCM-CL", "KCM-NP", "KCM-SQ"}
    # some corrected answers, delivered again under the same response_id
    repeated = Counter(row["response_id"] for row in history)
    assert any(n > 1 for n in repeated.values())
    assert len(RESPONSE_RATES) == len(CONTACT_TYPES) - 1  # one type is not surveyed


def test_the_files_load_with_their_malformed_rows_set_aside(landed, tmp_path):
    settings = Settings(data_dir=tmp_path, messages=None, smtp=None)
    for path in (landed / "landing").rglob("*.csv"):
        target = settings.landing_dir / path.relative_to(landed / "landing")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.read_bytes())
    summary = load_landing(settings, date(2026, 7, 1))
    assert summary.files_quarantined == []
    conn = duckdb.connect(str(settings.warehouse_path))
    contacts = conn.execute("select count(*) from raw.contact_events").fetchone()[0]
    bad_times = conn.execute(
        "select count(*) from raw.contact_events where occurred_at = 'gisteren'"
    ).fetchone()[0]
    unreadable = conn.execute("select count(*) from raw.unreadable_rows").fetchone()[0]
    answers = conn.execute("select count(*) from raw.kcm_responses").fetchone()[0]
    opt_outs = conn.execute("select count(*) from raw.opt_outs").fetchone()[0]
    conn.close()
    assert summary.rows_read == contacts + unreadable + answers + opt_outs
    assert bad_times > 0 and unreadable > 0 and opt_outs > 0
    assert answers > contacts * 0.1
