"""`feedback demo`: synthetic deliveries through a simulated period, then the result.

On a data folder without a warehouse it simulates the weeks before and the close of 2026-Q1:
before each weekly run it drops the contacts since the last run (and once, opt-outs) into
`landing/`, runs the same asset graph as `feedback run`, and lets KCM "answer" part of the
invitations sent, delivered with the next run. The last run, on 1 April, publishes 2026-Q1.
Weekly rather than daily runs keep the demo short; the 14-day catch-up bound makes them
equivalent for who is invited. A folder where runs already loaded deliveries is only shown.
"""

from __future__ import annotations

import csv
import random
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta

from faker import Faker

from feedback.loading import SOURCES
from feedback.publishing import FILE_NAME
from feedback.settings import BUSINESS_TIME_ZONE, Settings
from feedback.synthetic import COMMENTS
from feedback.warehouse import connect

FIRST_CONTACT_DAY = date(2026, 2, 16)
RUN_DATES = [date(2026, 2, 23) + timedelta(weeks=n) for n in range(6)] + [date(2026, 4, 1)]
CUSTOMERS = 400
CONTACT_TYPES = {
    "service_question": 30,
    "invoice_declared": 25,
    "claim_reported": 15,
    "details_changed": 12,
    "new_policy": 8,
    "cancellation": 5,
    "address_lookup": 5,  # a contact type that is stored but not surveyed
}
GRADES = {10: 8, 9: 18, 8: 30, 7: 22, 6: 10, 5: 5, 4: 3, 3: 2, 2: 1, 1: 1}


def run_demo(settings: Settings, verbose: bool = False) -> int:
    from feedback.cli import execute_run, print_summary

    if _has_deliveries(settings):
        print(f"{settings.data_dir} already holds loaded deliveries; showing them as they are.")
        print("Start over with `make clean` (or another FEEDBACK_DATA_DIR) to simulate again.")
        show_result(settings)
        return 0

    rng = random.Random(2026)
    fake = Faker("nl_NL")
    fake.seed_instance(2026)
    customers = _customers(fake, rng)
    contacts = _contacts(customers, rng)
    answered: list[tuple[date, list]] = []
    previous = FIRST_CONTACT_DAY
    for run_date in RUN_DATES:
        batch = [c for c in contacts if previous <= c["day"] < run_date]
        _write_contacts(settings, run_date, batch)
        if run_date == RUN_DATES[3]:
            _write_opt_outs(settings, run_date, customers[:6])
        _write_responses(settings, run_date, [row for day, row in answered if day < run_date])
        answered = [(day, row) for day, row in answered if day >= run_date]
        print(f"\n== simulated run {run_date} ==")
        started = datetime.now(UTC)
        metadata = execute_run(settings, run_date, verbose=verbose)
        print_summary(settings, run_date, metadata, started)
        answered += _answers(settings, run_date, rng)
        previous = run_date
    show_result(settings)
    return 0


def _has_deliveries(settings: Settings) -> bool:
    """Whether a run loaded files here (an empty warehouse, e.g. from `dbt build`, has none)."""
    if not settings.warehouse_path.exists():
        return False
    with connect(settings.warehouse_path) as conn:
        return conn.execute("select count(*) from raw.ingestions").fetchone()[0] > 0


def _customers(fake: Faker, rng: random.Random) -> list[dict]:
    customers = []
    for n in range(CUSTOMERS):
        email = fake.email()
        if rng.random() < 0.04:
            email = rng.choice(["", "geen e-mail", email.replace("@", " at ")])
        customers.append({"customer_id": f"K{100000 + n}", "name": fake.name(), "email": email})
    return customers


def _contacts(customers: list[dict], rng: random.Random) -> list[dict]:
    contacts = []
    day = FIRST_CONTACT_DAY
    types, weights = zip(*CONTACT_TYPES.items(), strict=True)
    while day < RUN_DATES[-1]:
        for _ in range(rng.randint(8, 16)):
            customer = rng.choice(customers)
            moment = datetime.combine(day, time(rng.randint(7, 22), rng.randint(0, 59)))
            contacts.append(
                {
                    "event_id": f"EV{len(contacts) + 1:06d}",
                    "customer": customer,
                    "contact_type": rng.choices(types, weights)[0],
                    "occurred_at": moment,
                    "day": day,
                    "product": rng.choice(["auto", "woon", "zorg", "reis", ""]),
                    "channel": rng.choice(["telefoon", "web", "app", "e-mail"]),
                }
            )
        day += timedelta(days=1)
    return contacts


@contextmanager
def _delivery(settings: Settings, source_name: str, name: str, extra_columns=(), kcm_style=False):
    """A CSV writer on a new file in `landing/<source>/`, its header already written."""
    source = next(source for source in SOURCES if source.name == source_name)
    folder = settings.landing_dir / source.name
    folder.mkdir(parents=True, exist_ok=True)
    # KCM writes a byte-order mark and CRLF line endings.
    encoding, line_end = ("utf-8-sig", "\r\n") if kcm_style else ("utf-8", "\n")
    with (folder / name).open("w", newline="", encoding=encoding) as out:
        writer = csv.writer(out, delimiter=source.delimiter, lineterminator=line_end)
        writer.writerow([*source.columns, *extra_columns])
        yield writer


def _write_contacts(settings: Settings, run_date: date, batch: list[dict]) -> None:
    with _delivery(settings, "contact_events", f"contacts-{run_date}.csv") as writer:
        for n, contact in enumerate(batch):
            customer = contact["customer"]
            # Half the source systems send UTC with an offset, half Amsterdam local time.
            occurred = contact["occurred_at"].replace(tzinfo=BUSINESS_TIME_ZONE)
            stamp = (
                occurred.astimezone().strftime("%Y-%m-%dT%H:%M:%S%z")
                if n % 2
                else occurred.strftime("%Y-%m-%d %H:%M:%S")
            )
            writer.writerow(
                [
                    contact["event_id"],
                    customer["customer_id"],
                    contact["contact_type"],
                    stamp,
                    customer["email"],
                    customer["name"],
                    contact["product"],
                    contact["channel"],
                ]
            )
        # One row from a source system with a broken clock, to show a rejection.
        writer.writerow(
            [f"EV-BAD-{run_date}", "K100001", "service_question", "gisteren", "", "", "", ""]
        )


def _write_opt_outs(settings: Settings, run_date: date, customers: list[dict]) -> None:
    with _delivery(settings, "opt_outs", f"opt-outs-{run_date}.csv") as writer:
        for customer in customers:
            writer.writerow([customer["customer_id"], f"{run_date - timedelta(days=2)}T09:00:00Z"])


def _answers(settings: Settings, run_date: date, rng: random.Random) -> list[tuple[date, list]]:
    """KCM's side: about 45% of the invitations sent on `run_date` are answered within a week.

    Each answer is its completion date and its row in KCM's file.
    """
    with connect(settings.warehouse_path) as conn:
        sent = conn.execute(
            "select invitation_id, questionnaire_id from ledger.invitations"
            " where state = 'sent' and sent_on = ? order by invitation_id",
            [run_date],
        ).fetchall()
    grades, weights = zip(*GRADES.items(), strict=True)
    answers = []
    for invitation_id, questionnaire_id in sent:
        if rng.random() < 0.45:
            completed = datetime.combine(
                run_date + timedelta(days=rng.randint(0, 6)),
                time(rng.randint(8, 23), rng.randint(0, 59)),
                tzinfo=BUSINESS_TIME_ZONE,
            )
            row = [
                f"R-{invitation_id[4:16]}",
                invitation_id,
                questionnaire_id,
                completed.isoformat(),
                rng.choices(grades, weights)[0],
                rng.choice((*COMMENTS, "")),
                rng.choice(["ja", "nee", ""]),
            ]
            answers.append((completed.date(), row))
    return answers


def _write_responses(settings: Settings, run_date: date, rows: list[list]) -> None:
    if not rows:
        return
    name = f"kcm-{run_date}.csv"
    with _delivery(settings, "kcm_responses", name, ["zou_aanbevelen"], kcm_style=True) as writer:
        writer.writerows(rows)


def show_result(settings: Settings) -> None:
    with connect(settings.warehouse_path) as conn:
        quarters = conn.execute(
            "select quarter, response_count, average_grade, published_grade"
            " from marts.quarterly_satisfaction order by quarter"
        ).fetchall()
        outcomes = conn.execute(
            "select outcome, count(*) from marts.contact_outcomes group by outcome order by 2 desc"
        ).fetchall()
        by_type = conn.execute(
            "select quarter, coalesce(contact_type, '(unknown)'), response_count, average_grade"
            " from marts.quarterly_satisfaction_by_contact_type order by quarter, 2"
        ).fetchall()
        invitations = conn.execute("select count(*) from marts.feedback_invitations").fetchone()[0]
        rejected = conn.execute("select count(*) from audit.rejected_records").fetchone()[0]
    print("\n== result ==")
    print(f"warehouse: {settings.warehouse_path}")
    print(f"invitations sent: {invitations}; rejected rows: {rejected} (audit.rejected_records)")
    print("contact outcomes (marts.contact_outcomes):")
    for outcome, n in outcomes:
        print(f"  {outcome:32} {n:5}")
    print("quarterly satisfaction (marts.quarterly_satisfaction):")
    for quarter, count, average, published in quarters:
        print(f"  {quarter}: {published} (mean {average:.4f} over {count} responses)")
    for quarter, contact_type, count, average in by_type:
        print(f"    {quarter} {contact_type:20} {count:4} responses, mean {average:.2f}")
    published = settings.public_dir / FILE_NAME
    if published.exists():
        print(f"published ({published}):\n{published.read_text(encoding='utf-8')}")
