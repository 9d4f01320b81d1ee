"""Send the invitations dbt found due on run date D, and record each in the ledger.

The sender never decides who is eligible: it reads `int_invitations__due` and the ledger
(`ledger.invitations`). An invitation moves due -> sending -> sent (or failed when the server
refuses its recipient). Messages go to an SMTP server when one is configured, otherwise to
`outbox/<invitation_id>.eml`. When the server cannot be reached the run fails and nothing is
recorded as sent, so a later run sends it.
"""

from __future__ import annotations

import logging
import os
import smtplib
import ssl
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr
from pathlib import Path
from typing import Protocol

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from feedback.settings import BUSINESS_TIME_ZONE, Settings, SmtpSettings
from feedback.warehouse import connect

log = logging.getLogger(__name__)

_templates = Environment(
    loader=PackageLoader("feedback", "templates"),
    autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)

SUBJECT = "Hoe tevreden bent u over ons? Geef ons een rapportcijfer"


@dataclass(frozen=True)
class Invitation:
    invitation_id: str
    contact_event_id: str
    customer_id: str
    contact_type: str
    contact_date: date
    questionnaire_id: str
    survey_url: str
    email: str
    customer_name: str | None
    contact_description: str


class SendFailed(Exception):
    """The mail server could not be used; nothing further was sent."""


class Transport(Protocol):
    def __enter__(self) -> Transport: ...
    def __exit__(self, *exc) -> None: ...
    def send(self, invitation_id: str, message: EmailMessage) -> None: ...


class RecipientRefused(Exception):
    """The server refused this one recipient; the others can still be sent."""


class OutboxTransport:
    """Writes each message as `outbox/<invitation_id>.eml`, atomically: never half a file."""

    def __init__(self, outbox: Path):
        self.outbox = outbox

    def __enter__(self) -> OutboxTransport:
        self.outbox.mkdir(parents=True, exist_ok=True)
        return self

    def __exit__(self, *exc) -> None:
        pass

    def send(self, invitation_id: str, message: EmailMessage) -> None:
        target = self.outbox / f"{invitation_id}.eml"
        partial = target.with_suffix(".eml.partial")
        partial.write_bytes(message.as_bytes())
        os.replace(partial, target)


class SmtpTransport:
    def __init__(self, smtp: SmtpSettings):
        self.settings = smtp
        self.client: smtplib.SMTP | None = None

    def __enter__(self) -> SmtpTransport:
        s = self.settings
        try:
            self.client = smtplib.SMTP(s.host, s.port, timeout=30)
            if s.starttls:
                self.client.starttls(context=ssl.create_default_context())
            if s.user:
                self.client.login(s.user, s.password or "")
        except (OSError, smtplib.SMTPException) as error:
            raise SendFailed(
                f"cannot use the SMTP server {s.host}:{s.port} ({type(error).__name__}: {error}); "
                "nothing was sent, a later run sends the invitations"
            ) from None
        return self

    def __exit__(self, *exc) -> None:
        if self.client is not None:
            try:
                self.client.quit()
            except (OSError, smtplib.SMTPException):
                self.client.close()

    def send(self, invitation_id: str, message: EmailMessage) -> None:
        assert self.client is not None
        try:
            self.client.send_message(message)
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused) as error:
            raise RecipientRefused(type(error).__name__) from None
        except (OSError, smtplib.SMTPException) as error:
            raise SendFailed(
                f"the SMTP server {self.settings.host}:{self.settings.port} failed while sending "
                f"invitation {invitation_id} ({type(error).__name__}); a later run sends the rest"
            ) from None


def build_message(invitation: Invitation, sender_address: str, run_date: date) -> EmailMessage:
    """The invitation as a complete RFC 5322 message with a Dutch text and HTML part."""
    context = {
        "customer_name": invitation.customer_name,
        "contact_description": invitation.contact_description,
        "survey_url": invitation.survey_url,
    }
    message = EmailMessage()
    message["From"] = sender_address
    message["To"] = formataddr((invitation.customer_name or "", invitation.email))
    message["Subject"] = SUBJECT
    message["Date"] = format_datetime(
        datetime.combine(run_date, time(8, 0), tzinfo=BUSINESS_TIME_ZONE)
    )
    sender_domain = parseaddr(sender_address)[1].rpartition("@")[2] or "localhost"
    # Derived from the invitation, so a message written twice is recognisably the same one.
    message["Message-ID"] = f"<{invitation.invitation_id}@{sender_domain}>"
    message["X-Feedback-Invitation-Id"] = invitation.invitation_id
    message.set_content(_templates.get_template("invitation.txt.j2").render(context))
    message.add_alternative(
        _templates.get_template("invitation.html.j2").render(context), subtype="html"
    )
    return message


@dataclass
class SendSummary:
    sent: int = 0
    refused: int = 0
    already_sent: int = 0


def _transport(settings: Settings) -> Transport:
    if settings.smtp is not None:
        return SmtpTransport(settings.smtp)
    return OutboxTransport(settings.outbox_dir)


def send_due_invitations(settings: Settings, run_date: date) -> SendSummary:
    summary = SendSummary()
    with connect(settings.warehouse_path) as conn:
        due = _take_on_due(conn, run_date)
        summary.already_sent = conn.execute(
            "select count(*) from ledger.invitations where sent_on = ? and state = 'sent'",
            [run_date],
        ).fetchone()[0]
        if not due:
            return summary
        with _transport(settings) as transport:
            for invitation in due:
                _set_state(conn, invitation.invitation_id, "sending")
                message = build_message(invitation, settings.sender_address, run_date)
                try:
                    transport.send(invitation.invitation_id, message)
                except RecipientRefused as refusal:
                    _set_state(conn, invitation.invitation_id, "failed", error=str(refusal))
                    summary.refused += 1
                    continue
                except BaseException:
                    _set_state(conn, invitation.invitation_id, "due")
                    raise
                _set_state(conn, invitation.invitation_id, "sent", sent_on=run_date)
                summary.sent += 1
    log.info("invitations sent: %d, refused: %d", summary.sent, summary.refused)
    return summary


def _take_on_due(conn, run_date: date) -> list[Invitation]:
    """Record dbt's due invitations in the ledger and return those not sent yet."""
    if not conn.execute(
        "select count(*) from information_schema.tables"
        " where table_schema = 'intermediate' and table_name = 'int_invitations__due'"
    ).fetchone()[0]:
        raise RuntimeError("intermediate.int_invitations__due is missing: dbt has not built it")
    planned = conn.execute(
        "select max(run_date) from intermediate.int_invitations__due"
    ).fetchone()[0]
    if planned is not None and planned != run_date:
        raise RuntimeError(
            f"int_invitations__due was built for {planned}, not for the run date {run_date}"
        )
    now = datetime.now(UTC)
    conn.execute(
        """
        insert into ledger.invitations (
            invitation_id, contact_event_id, customer_id, contact_type, contact_date,
            questionnaire_id, survey_url, email, customer_name, state, run_date, updated_at
        )
        select
            invitation_id, contact_event_id, customer_id, contact_type, contact_date,
            questionnaire_id, survey_url, email, customer_name, 'due', run_date, ?
        from intermediate.int_invitations__due
        on conflict (invitation_id) do update set
            email = excluded.email,
            customer_name = excluded.customer_name,
            survey_url = excluded.survey_url,
            state = 'due',
            run_date = excluded.run_date,
            updated_at = excluded.updated_at
        where ledger.invitations.state != 'sent'
        """,
        [now],
    )
    rows = conn.execute(
        """
        select
            ledger.invitation_id, ledger.contact_event_id, ledger.customer_id,
            ledger.contact_type, ledger.contact_date, ledger.questionnaire_id,
            ledger.survey_url, ledger.email, ledger.customer_name,
            questionnaires.contact_description
        from ledger.invitations as ledger
        inner join intermediate.int_invitations__due as due
            on ledger.invitation_id = due.invitation_id
        inner join reference.kcm_questionnaires as questionnaires
            on ledger.contact_type = questionnaires.contact_type
        where ledger.state != 'sent'
        order by ledger.invitation_id
        """
    ).fetchall()
    return [Invitation(*row) for row in rows]


def _set_state(conn, invitation_id: str, state: str, *, sent_on=None, error=None) -> None:
    conn.execute(
        "update ledger.invitations set state = ?, sent_on = ?, error = ?, updated_at = ?"
        " where invitation_id = ?",
        [state, sent_on, error, datetime.now(UTC), invitation_id],
    )
