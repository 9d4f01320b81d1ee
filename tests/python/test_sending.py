"""Sending: one complete message per invitation due, to the outbox or over SMTP, recorded once."""

import socket
from datetime import date
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from conftest import CONTACT_HEADER

from feedback.sending import Invitation, build_message

INVITATION = Invitation(
    invitation_id="inv-0123456789abcdef0123",
    contact_event_id="e-1",
    customer_id="k-1",
    contact_type="service_question",
    contact_date=date(2026, 3, 1),
    questionnaire_id="KCM-SQ-01",
    survey_url="https://vragenlijst.kcm.example/s/KCM-SQ-01?invitation_id=inv-0123456789abcdef0123",
    email="jan@example.nl",
    customer_name='Jan <b>"de Vries"</b> & Zn',
    contact_description="een vraag gesteld aan onze klantenservice",
)


def test_message_is_complete_dutch_text_and_html_with_the_name_escaped():
    raw = build_message(INVITATION, "Klanttevredenheid <kt@verzekeraar.example>", date(2026, 3, 2))
    message = message_from_bytes(raw.as_bytes(), policy=policy.default)

    assert message["From"] == "Klanttevredenheid <kt@verzekeraar.example>"
    assert message["To"].addresses[0].addr_spec == "jan@example.nl"
    assert message["Subject"] == "Hoe tevreden bent u over ons? Geef ons een rapportcijfer"
    assert message["Date"].datetime.isoformat() == "2026-03-02T08:00:00+01:00"
    assert message["Message-ID"] == "<inv-0123456789abcdef0123@verzekeraar.example>"
    assert message.get_content_type() == "multipart/alternative"

    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert text.startswith('Beste Jan <b>"de Vries"</b> & Zn,\n')
    assert "een vraag gesteld aan onze klantenservice" in text
    assert INVITATION.survey_url in text
    assert "<p>Beste Jan &lt;b&gt;&#34;de Vries&#34;&lt;/b&gt; &amp; Zn,</p>" in html
    assert f'href="{INVITATION.survey_url}"' in html


def test_a_customer_without_a_name_is_addressed_as_klant():
    nameless = Invitation(**{**INVITATION.__dict__, "customer_name": None})
    message = build_message(nameless, "kt@verzekeraar.example", date(2026, 3, 2))
    assert message["To"] == "jan@example.nl"
    assert message.get_body(("plain",)).get_content().startswith("Beste klant,\n")


def test_outbox_holds_one_parseable_message_per_invitation(data):
    data.land(
        "contact_events",
        "contacts-2026-03-01.csv",
        CONTACT_HEADER + "e-1,k-1,new_policy,2026-03-01 10:00:00,jan@example.nl,Jan,,web\n",
    )
    data.run("2026-03-02")

    (invitation_id,) = data.outbox()
    raw = (data.root / "outbox" / f"{invitation_id}.eml").read_bytes()
    message = message_from_bytes(raw, policy=policy.default)
    assert message["X-Feedback-Invitation-Id"] == invitation_id
    assert f"invitation_id={invitation_id}" in message.get_body(("plain",)).get_content()
    assert "een verzekering bij ons afgesloten" in message.get_body(("plain",)).get_content()
    assert data.query("select state, sent_on from ledger.invitations") == [
        ("sent", date(2026, 3, 2))
    ]
    assert not list((data.root / "outbox").glob("*.partial"))


class RecordingHandler:
    """An SMTP server's handler that keeps what it receives and refuses `refused@...`."""

    def __init__(self):
        self.received: list[tuple[list[str], bytes]] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("refused@"):
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.received.append((list(envelope.rcpt_tos), envelope.original_content))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server():
    handler = RecordingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, handler
    controller.stop()


SMTP_CONTACTS = CONTACT_HEADER + (
    "e-1,k-1,service_question,2026-03-01 10:00:00,jan@example.nl,Jan Jansen,,phone\n"
    "e-2,k-2,claim_reported,2026-03-01 11:00:00,refused@example.nl,Rik Refusé,,web\n"
)


def test_unreachable_server_fails_the_run_and_a_later_run_sends(data, smtp_server):
    controller, handler = smtp_server
    data.land("contact_events", "contacts-2026-03-01.csv", SMTP_CONTACTS)

    # Nothing listens on this port: the run fails and nothing counts as sent.
    down = {"FEEDBACK_SMTP_HOST": "127.0.0.1", "FEEDBACK_SMTP_PORT": str(free_port())}
    code, output = data.run("2026-03-02", env=down, expect_success=False)
    assert code == 1
    assert "feedback run failed: step sending__invitation_emails:" in output
    assert "SendFailed: cannot use the SMTP server 127.0.0.1:" in output
    assert "nothing was sent, a later run sends the invitations" in output
    assert data.query("select count(*) from ledger.invitations where state = 'sent'") == [(0,)]
    assert data.outbox() == []

    # The same run date once the server is back: the one it accepts is sent, the refused one
    # is recorded as failed, and neither is written to the outbox.
    up = {"FEEDBACK_SMTP_HOST": "127.0.0.1", "FEEDBACK_SMTP_PORT": str(controller.port)}
    _, output = data.run("2026-03-02", env=up)
    assert "1 sent to SMTP 127.0.0.1, 1 refused by the server" in output
    assert [recipients for recipients, _ in handler.received] == [["jan@example.nl"]]
    message = message_from_bytes(handler.received[0][1], policy=policy.default)
    invitation_id = message["X-Feedback-Invitation-Id"]
    assert f"invitation_id={invitation_id}" in message.get_body(("html",)).get_content()
    assert data.query(
        "select contact_event_id, state, sent_on, error from ledger.invitations"
        " order by contact_event_id"
    ) == [
        ("e-1", "sent", date(2026, 3, 2), None),
        ("e-2", "failed", None, "SMTPRecipientsRefused"),
    ]
    assert data.query("select contact_event_id from marts.feedback_invitations") == [("e-1",)]
    assert data.outbox() == []

    # Running the date again sends nothing twice.
    _, output = data.run("2026-03-02", env=up)
    assert "0 sent to SMTP 127.0.0.1" in output
    assert len(handler.received) == 1

    # Counts and ids only: no address or name in what the runs print or log.
    logs = "".join(p.read_text() for p in (data.root / "logs").glob("*.log"))
    for personal in ("jan@example.nl", "Jan Jansen", "refused@example.nl", "Rik"):
        assert personal not in output
        assert personal not in logs
