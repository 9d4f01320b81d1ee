"""An unsubscribe (the page behind List-Unsubscribe) opts its customer out, like an opt-out.

Olga was e-mailed on 2 March. By 3 June that invitation is past 3 months and its personal data
is masked; she then follows the unsubscribe link of that old e-mail. Piet follows his on 10
March. Both contact the insurer again in June: neither gets an e-mail. An unsubscribe naming an
invitation that was never sent is a rejected row with its reason.
"""

from datetime import date

import pytest
from conftest import CONTACT_HEADER, invitation_id

UNSUBSCRIBE_HEADER = "invitation_id,unsubscribed_at\n"


@pytest.fixture(scope="module")
def scenario(module_data):
    data = module_data
    data.land(
        "contact_events",
        "contacts-2026-03-01.csv",
        CONTACT_HEADER
        + "c-olga,k-olga,new_policy,2026-03-01 10:00:00,olga@example.nl,Olga,,web\n"
        + "c-piet,k-piet,new_policy,2026-03-01 11:00:00,piet@example.nl,Piet,,web\n"
        + "c-rosa,k-rosa,new_policy,2026-03-01 12:00:00,rosa@example.nl,Rosa,,web\n",
    )
    data.run("2026-03-02")
    data.land(
        "unsubscribes",
        "unsubscribes-2026-03-10.csv",
        UNSUBSCRIBE_HEADER + f"{invitation_id('c-piet')},2026-03-10T09:12:00+01:00\n",
    )
    data.run("2026-06-03")
    data.land(
        "unsubscribes",
        "unsubscribes-2026-06-08.csv",
        UNSUBSCRIBE_HEADER
        + f"{invitation_id('c-olga')},2026-06-08 20:00:00\n"
        + "inv-00000000000000000000,2026-06-08 20:01:00\n"
        + ",2026-06-08 20:02:00\n",
    )
    data.land(
        "contact_events",
        "contacts-2026-06-09.csv",
        CONTACT_HEADER
        + "c-olga2,k-olga,service_question,2026-06-09 10:00:00,olga@example.nl,Olga,,web\n"
        + "c-piet2,k-piet,service_question,2026-06-09 10:00:00,piet@example.nl,Piet,,web\n"
        + "c-rosa2,k-rosa,service_question,2026-06-09 10:00:00,rosa@example.nl,Rosa,,web\n",
    )
    data.run("2026-06-10")
    return data


def test_an_unsubscribe_opts_the_customer_out_whatever_the_invitations_age(scenario):
    assert scenario.query(
        "select invitation_id, customer_id, email from ledger.invitations"
        " where contact_event_id = 'c-olga'"
    ) == [(invitation_id("c-olga"), None, None)]
    assert scenario.query(
        "select contact_event_id, outcome from marts.contact_outcomes"
        " where contact_event_id like '%2' order by 1"
    ) == [("c-olga2", "opted_out"), ("c-piet2", "opted_out"), ("c-rosa2", "invited")]
    assert scenario.query(
        "select contact_event_id, sent_on from marts.feedback_invitations order by 2, 1"
    ) == [
        ("c-olga", date(2026, 3, 2)),
        ("c-piet", date(2026, 3, 2)),
        ("c-rosa", date(2026, 3, 2)),
        ("c-rosa2", date(2026, 6, 10)),
    ]


def test_an_unknown_or_missing_invitation_id_is_a_rejected_row(scenario):
    assert scenario.query(
        "select file_name, line_number, reason from audit.rejected_records"
        " where source = 'unsubscribes' order by 2"
    ) == [
        (
            "unsubscribes-2026-06-08.csv",
            3,
            "unknown invitation_id: no invitation with this id was sent",
        ),
        ("unsubscribes-2026-06-08.csv", 4, "missing invitation_id"),
    ]
