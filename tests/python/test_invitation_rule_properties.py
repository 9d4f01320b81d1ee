"""The 28-day rule against a small, obviously correct model of the contract's words, for random
contact histories and random sequences of run dates (hypothesis).

The warehouse is built once by a real run (dbt's views of the rules); each example then replaces
the contacts (and their staging table), opt-outs and ledger and lets the real sender go through
its run dates, each evaluated by the same views a range run uses, keeping the outcomes decided
after each date as a run does. The model, from the contract: on run date D a customer gets at
most one invitation, for their most recent eligible contact; a contact on date C is eligible
when its type is surveyed, D - 14 <= C <= D - 1, the customer got no invitation sent on any
date >= C - 27, and the customer has a valid address on that contact and has not opted out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import pairwise

import duckdb
import pytest
from conftest import DataFolder
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from feedback.core.settings import Settings
from feedback.core.warehouse import held
from feedback.invitations.outcomes import keep_decided
from feedback.invitations.sending import send_due_invitations

START = date(2026, 1, 5)
SURVEYED = {"service_question", "claim_reported"}
TYPES = ["service_question", "claim_reported", "address_lookup"]
CUSTOMERS = ["k-1", "k-2", "k-3"]


@dataclass(frozen=True)
class Contact:
    event_id: str
    customer_id: str
    contact_type: str
    moment: datetime
    has_valid_email: bool

    @property
    def day(self) -> date:
        return self.moment.date()


def model(contacts: list[Contact], opted_out: set[str], run_dates: list[date]) -> dict[str, date]:
    """The contract's rule, word for word: invitation per contact event, by the date sent."""
    sent: dict[str, date] = {}
    sent_to: dict[str, list[date]] = {customer: [] for customer in CUSTOMERS}
    for run_date in run_dates:
        for customer in CUSTOMERS:
            eligible = [
                contact
                for contact in contacts
                if contact.customer_id == customer
                and contact.contact_type in SURVEYED
                and run_date - timedelta(days=14) <= contact.day <= run_date - timedelta(days=1)
                and not any(day >= contact.day - timedelta(days=27) for day in sent_to[customer])
                and contact.has_valid_email
                and customer not in opted_out
            ]
            if eligible:
                chosen = max(eligible, key=lambda contact: (contact.moment, contact.event_id))
                sent[chosen.event_id] = run_date
                sent_to[customer].append(run_date)
    return sent


# Gaps between a customer's contacts, around the rule's edges (a day, the 14-day catch-up bound,
# the 28 days) and anywhere.
GAPS = st.sampled_from([0, 1, 2, 13, 14, 15, 27, 28, 29, 30]) | st.integers(0, 45)


@st.composite
def contact_histories(draw) -> list[Contact]:
    contacts = []
    for customer in CUSTOMERS:
        day = draw(st.integers(0, 10))
        for _ in range(draw(st.integers(1, 6))):
            day += draw(GAPS)
            contacts.append(
                Contact(
                    f"e{len(contacts):03d}",
                    customer,
                    draw(st.sampled_from(TYPES)),
                    datetime.combine(START + timedelta(days=day), datetime.min.time())
                    + timedelta(minutes=draw(st.integers(8 * 60, 21 * 60))),
                    draw(st.integers(0, 4).map(lambda n: n > 0)),  # mostly a valid address
                )
            )
    return contacts


# Daily runs (as scheduled), or runs on random days (missed days, a late start).
run_dates_strategy = st.one_of(
    st.tuples(st.integers(1, 10), st.integers(20, 70)).map(
        lambda start_days: [START + timedelta(days=start_days[0] + n) for n in range(start_days[1])]
    ),
    st.lists(st.integers(1, 120), min_size=1, max_size=25, unique=True).map(
        lambda days: [START + timedelta(days=day) for day in sorted(days)]
    ),
)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> DataFolder:
    """A warehouse with the rules' views, made by a real run on an empty landing folder."""
    data = DataFolder(tmp_path_factory.mktemp("rule"))
    data.run(START.isoformat())
    return data


def _stage_contacts(conn: duckdb.DuckDBPyConnection, data: DataFolder) -> None:
    """staging.stg_contacts__events made again from the raw rows, as its first build did (the
    model's full SELECT, as dbt compiled it for that build)."""
    compiled = data.root / "dbt" / "compiled" / "feedback_warehouse" / "models" / "staging"
    select = (compiled / "contacts" / "stg_contacts__events.sql").read_text()
    conn.execute("delete from staging.stg_contacts__events")
    conn.execute(f"insert into staging.stg_contacts__events {select}")


def invitations_sent(
    data: DataFolder, contacts: list[Contact], opted_out: set[str], run_dates: list[date]
) -> dict[str, date]:
    conn = duckdb.connect(str(data.root / "warehouse.duckdb"))
    try:
        for table in (
            "raw.contact_events",
            "raw.opt_outs",
            "raw.ingestions",
            "ledger.invitations",
            "ledger.contact_outcomes",
        ):
            conn.execute(f"delete from {table}")
        conn.execute(
            "insert into raw.ingestions values"
            " (1, 'contact_events', 'contacts.csv', 'x', $1, now(), $2, null, null),"
            " (2, 'opt_outs', 'opt-outs.csv', 'y', 1, now(), $2, null, null)",
            [len(contacts), run_dates[0]],
        )
        contact_rows = [
            (
                contact.event_id,
                contact.customer_id,
                contact.contact_type,
                contact.moment.strftime("%Y-%m-%d %H:%M:%S"),
                f"{contact.customer_id}@example.nl" if contact.has_valid_email else "",
                line,
            )
            for line, contact in enumerate(contacts, 2)
        ]
        if contact_rows:
            conn.executemany(
                "insert into raw.contact_events values (?, ?, ?, ?, ?, 'Naam', 'auto', 'web',"
                " 1, 'contacts.csv', ?, now(), null, null, null)",
                contact_rows,
            )
        if opted_out:
            conn.executemany(
                "insert into raw.opt_outs values"
                " (?, '2026-01-01 09:00:00', 2, 'opt-outs.csv', ?, now(), null, null)",
                [(customer, line) for line, customer in enumerate(sorted(opted_out), 2)],
            )
        _stage_contacts(conn, data)
    finally:
        conn.close()
    for message in (data.root / "outbox").glob("*.eml"):
        message.unlink()
    settings_ = Settings.from_env({"FEEDBACK_DATA_DIR": str(data.root)})
    # As the sending step of a run does each date, on one connection: send, then keep the
    # outcomes decided (which the rules then no longer evaluate).
    with held(settings_.warehouse_path):
        for run_date in run_dates:
            send_due_invitations(settings_, run_date)
            keep_decided(settings_, run_date)
    return {
        event_id: sent_on
        for event_id, sent_on in data.query(
            "select contact_event_id, sent_on from ledger.invitations where state = 'sent'"
        )
    }


def _history(*days: int) -> list[Contact]:
    """One customer's service questions at 10:00 on these days after START."""
    return [
        Contact(
            f"e{n:03d}",
            "k-1",
            "service_question",
            datetime.combine(START + timedelta(days=day), datetime.min.time())
            + timedelta(hours=10),
            True,
        )
        for n, day in enumerate(days)
    ]


DAILY = [START + timedelta(days=n) for n in range(1, 80)]


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    contacts=contact_histories(),
    opted_out=st.sets(st.sampled_from(CUSTOMERS), max_size=1),
    run_dates=run_dates_strategy,
)
# The edges, always tried: an e-mail on day 1 after a contact on day 0; a contact 27 days after
# that e-mail is not invited, one 28 days after it is; a contact the runs first see 14 days
# after it is invited, one they first see 15 days after it is not.
@example(contacts=_history(0, 28), opted_out=set(), run_dates=DAILY)
@example(contacts=_history(0, 29), opted_out=set(), run_dates=DAILY)
@example(contacts=_history(20), opted_out=set(), run_dates=DAILY[33:])
@example(contacts=_history(20), opted_out=set(), run_dates=DAILY[34:])
def test_the_rule_does_what_the_contract_says(built, contacts, opted_out, run_dates):
    sent = invitations_sent(built, contacts, opted_out, run_dates)
    assert sent == model(contacts, opted_out, run_dates)
    # and so no customer ever gets two invitations less than 28 days apart
    by_customer: dict[str, list[date]] = {}
    customer_of = {contact.event_id: contact.customer_id for contact in contacts}
    for event_id, sent_on in sent.items():
        by_customer.setdefault(customer_of[event_id], []).append(sent_on)
    for days in by_customer.values():
        days.sort()
        assert all(later - earlier >= timedelta(days=28) for earlier, later in pairwise(days))
