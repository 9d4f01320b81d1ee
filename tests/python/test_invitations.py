"""The 28-day rule end to end: who gets an e-mail on run date D, and why the others do not.

One warehouse, three runs: 2 March 2026 (winter time), 2 March again, and 31 March (summer
time since 29 March). Customers are named by what the scenario does with them.
"""

from datetime import date

import pytest
from conftest import CONTACT_HEADER, invitation_id


def contacts(*rows: str) -> str:
    return CONTACT_HEADER + "".join(f"{row}\n" for row in rows)


# Seen by the run of 2 March: contacts before 2 March 00:00 Amsterdam (1 March 23:00 UTC).
BEFORE_2_MARCH = contacts(
    "a-1,day27,service_question,2026-03-01 10:00:00,day27@example.nl,Anna,,phone",
    "b-1,day28,new_policy,2026-02-20T09:00:00+01:00,day28@example.nl,Bram,,web",
    "c-old,two_contacts,claim_reported,2026-02-25 11:00:00,two@example.nl,Cor,,web",
    "c-new,two_contacts,invoice_declared,2026-03-01 09:00:00,two@example.nl,Cor,,web",
    "d-morning,same_day,service_question,2026-03-01 09:00:00,same@example.nl,Dirk,,phone",
    "d-evening,same_day,details_changed,2026-03-01 15:00:00,same@example.nl,Dirk,,web",
    # 23:30 local time on 1 March (no offset means Amsterdam time): dated 1 March.
    "e-1,late_winter,service_question,2026-03-01 23:30:00,late@example.nl,Eva,,phone",
    # 23:30 UTC is 00:30 on 2 March in Amsterdam: the run of 2 March does not see it yet.
    "f-1,after_midnight_winter,service_question,2026-03-01T23:30:00Z,f@example.nl,Fee,,phone",
    "i-1,opted_out,cancellation,2026-03-01 10:00:00,i@example.nl,Ineke,,web",
    "j-1,invalid_email,new_policy,2026-03-01 10:00:00,jan@,Jan,,web",
    "k-1,no_email,new_policy,2026-03-01 10:00:00,,Kees,,web",
    "l-1,unsurveyed,complaint,2026-03-01 10:00:00,l@example.nl,Lot,,phone",
    # 1 March minus 14 days is 16 February: a contact on 15 February is past the bound.
    "m-1,past_bound,new_policy,2026-02-15 12:00:00,m@example.nl,Mies,,web",
)

# Delivered for the run of 31 March: contacts before 31 March 00:00 Amsterdam (30 March 22:00 UTC).
BEFORE_31_MARCH = contacts(
    # Day 27 after the e-mail of 2 March: 29 March - 27 days = 2 March, so still blocked.
    "a-2,day27,service_question,2026-03-29 10:00:00,day27@example.nl,Anna,,phone",
    # A contact of 27 February delivered late: the e-mail of 2 March already followed it.
    "a-0,day27,new_policy,2026-02-27 10:00:00,day27@example.nl,Anna,,web",
    # Day 28 after the e-mail of 2 March: 30 March - 27 days = 3 March, so invited.
    "b-2,day28,service_question,2026-03-30 10:00:00,day28@example.nl,Bram,,phone",
    # 21:30 UTC is 23:30 summer time on 30 March; 22:30 UTC is 00:30 on 31 March.
    "g-1,late_summer,claim_reported,2026-03-30T21:30:00Z,g@example.nl,Gijs,,web",
    "h-1,after_midnight_summer,claim_reported,2026-03-30T22:30:00Z,h@example.nl,Hans,,web",
)

# Whatever its timestamp (here a later one), a loaded opt-out stops every invitation.
OPT_OUTS = "customer_id,opted_out_at\nopted_out,2026-04-15T10:00:00+02:00\n"


@pytest.fixture(scope="module")
def runs(module_data):
    data = module_data
    data.land("contact_events", "contacts-2026-03-01.csv", BEFORE_2_MARCH)
    data.land("opt_outs", "opt-outs-2026-03-01.csv", OPT_OUTS)
    outputs = {"first": data.run("2026-03-02")[1]}
    outputs["outbox_after_first"] = data.outbox()
    outputs["outcomes_after_first"] = dict(
        data.query("select contact_event_id, outcome from marts.contact_outcomes")
    )
    outputs["again"] = data.run("2026-03-02")[1]
    outputs["outbox_after_again"] = data.outbox()
    data.land("contact_events", "contacts-2026-03-30.csv", BEFORE_31_MARCH)
    outputs["31_march"] = data.run("2026-03-31")[1]
    return outputs


FIRST_RUN_INVITED = ["a-1", "b-1", "c-new", "d-evening", "e-1"]


def test_first_run_invites_the_most_recent_eligible_contact_per_customer(runs, module_data):
    assert "5 sent to outbox/" in runs["first"]
    assert runs["outbox_after_first"] == sorted(invitation_id(e) for e in FIRST_RUN_INVITED)
    assert runs["outcomes_after_first"] == {
        "a-1": "invited",
        "b-1": "invited",
        "c-old": "later_contact_chosen",
        "c-new": "invited",
        "d-morning": "later_contact_chosen",
        "d-evening": "invited",
        "e-1": "invited",
        "f-1": "awaiting_next_run",
        "i-1": "opted_out",
        "j-1": "no_valid_email",
        "k-1": "no_valid_email",
        "l-1": "not_surveyed_type",
        "m-1": "past_catch_up_bound",
    }


def test_running_the_same_date_again_sends_nothing_twice(runs, module_data):
    assert "0 sent to outbox/, 0 refused by the server, 5 sent on this date before" in runs["again"]
    assert runs["outbox_after_again"] == runs["outbox_after_first"]
    assert module_data.query(
        "select count(*), count(distinct contact_event_id) from ledger.invitations"
        " where sent_on = date '2026-03-02' and state = 'sent'"
    ) == [(5, 5)]


def test_day_27_after_an_email_is_blocked_and_day_28_is_invited(runs, module_data):
    assert "2 sent to outbox/" in runs["31_march"]
    invited = module_data.query(
        "select contact_event_id, customer_id, contact_type, contact_date, sent_on, invitation_id"
        " from marts.feedback_invitations where sent_on = date '2026-03-31'"
        " order by contact_event_id"
    )
    assert [row[:5] for row in invited] == [
        (
            "b-2",
            "day28",
            "service_question",
            date(2026, 3, 30),
            date(2026, 3, 31),
        ),
        (
            "g-1",
            "late_summer",
            "claim_reported",
            date(2026, 3, 30),
            date(2026, 3, 31),
        ),
    ]
    assert [row[5] for row in invited] == [invitation_id("b-2"), invitation_id("g-1")]
    assert module_data.query(
        "select outcome, blocking_invitation_id, blocking_sent_on, outcome_explanation"
        " from marts.contact_outcomes where contact_event_id = 'a-2'"
    ) == [
        (
            "emailed_within_quiet_period",
            invitation_id("a-1"),
            date(2026, 3, 2),
            "an invitation was sent on 2026-03-02, less than 28 days before",
        )
    ]


def test_a_contact_that_an_earlier_email_already_followed_gets_none(runs, module_data):
    assert module_data.query(
        "select outcome, blocking_sent_on from marts.contact_outcomes"
        " where contact_event_id = 'a-0'"
    ) == [("emailed_after_contact", date(2026, 3, 2))]


def test_the_date_of_a_contact_is_its_amsterdam_date_in_winter_and_summer(runs, module_data):
    outcomes = dict(
        module_data.query(
            "select contact_event_id, contact_date from marts.contact_outcomes"
            " where contact_event_id in ('e-1', 'f-1', 'g-1', 'h-1')"
        )
    )
    assert outcomes == {
        "e-1": date(2026, 3, 1),
        "f-1": date(2026, 3, 2),
        "g-1": date(2026, 3, 30),
        "h-1": date(2026, 3, 31),
    }
    # 00:30 on 31 March waits for the next run; 00:30 on 2 March was not seen by the run of
    # 2 March and, with no run in between, is past the 14-day bound by 31 March.
    assert dict(
        module_data.query(
            "select contact_event_id, outcome from marts.contact_outcomes"
            " where contact_event_id in ('f-1', 'h-1')"
        )
    ) == {"f-1": "past_catch_up_bound", "h-1": "awaiting_next_run"}


def test_why_no_email_is_one_query_per_customer(runs, module_data):
    explanations = module_data.query(
        "select contact_event_id, outcome_explanation from marts.contact_outcomes"
        " where customer_id in ('opted_out', 'invalid_email', 'unsurveyed', 'past_bound',"
        " 'two_contacts') order by contact_event_id"
    )
    assert explanations == [
        ("c-new", "invited; e-mail sent on 2026-03-02"),
        ("c-old", "a more recent contact of the customer was chosen, invited on 2026-03-02"),
        ("i-1", "the customer opted out of invitations"),
        ("j-1", "no valid e-mail address on this contact"),
        ("l-1", "contact type complaint is not surveyed"),
        ("m-1", "older than the catch-up bound of 14 days before it could be invited"),
    ]
