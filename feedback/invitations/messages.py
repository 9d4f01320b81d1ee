"""The invitation e-mail: one complete RFC 5322 message per invitation.

What the e-mail says lives in the Jinja2 templates beside this module. A record's fault stays
with that record: a name is cosmetic and is cleaned (it can never add a header, and the HTML part
escapes it); what cannot become a valid message raises `InvalidMessage` with a reason a person
can act on, and never with the address or name in it, because the reason is stored and printed.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from email.charset import QP, Charset
from email.headerregistry import Address
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import Compat32
from email.utils import format_datetime, formataddr, parseaddr
from urllib.parse import quote

from jinja2 import Environment, PackageLoader, StrictUndefined, TemplateError, select_autoescape

from feedback.core.settings import MessageSettings

SUBJECT = "Hoe tevreden bent u over ons? Geef ons een rapportcijfer"
# A display name longer than this is cut: it is a salutation, not a record.
NAME_LIMIT = 80

_templates = Environment(
    loader=PackageLoader("feedback.invitations", "templates"),
    autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)


class _InvitationPolicy(Compat32):
    """The email package's compat32 classes are three times faster than `EmailMessage` on the
    same headers, which the outbox benchmark needs. A short ASCII header is written as it is,
    as compat32 would, without its folding machinery (most of the time left); List-Unsubscribe
    is written as composed, one entry a line, where compat32 would start it with an empty one."""

    def fold_binary(self, name, value):
        short = isinstance(value, str) and len(name) + len(value) + 2 <= 78
        if name.lower() == "list-unsubscribe" or (
            short and value.isascii() and not {"\r", "\n"} & set(value)
        ):
            return f"{name}: {value}{self.linesep}".encode("ascii")
        return super().fold_binary(name, value)


# CRLF line ends: the bytes go to an SMTP server or an .eml file as they are. Both parts are
# quoted-printable, so no line is ever too long.
_POLICY = _InvitationPolicy(linesep="\r\n")
_UTF8_QP = Charset("utf-8")
_UTF8_QP.body_encoding = QP


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
    contact_description: str | None


@dataclass(frozen=True)
class ComposedMessage:
    invitation_id: str
    message_id: str
    envelope_sender: str
    envelope_recipient: str
    data: bytes


class InvalidMessage(ValueError):
    """This one invitation cannot become a valid message; the text says why (no personal data)."""


def clean_name(name: str | None) -> str | None:
    """A name fit for a salutation and a `To` header: control and format characters (line
    breaks, tabs, bidi overrides) become spaces, runs of space one, and it is cut to a sane
    length. Nothing left means no name."""
    if not name:
        return None
    kept = "".join(" " if unicodedata.category(c).startswith("C") else c for c in name)
    cleaned = " ".join(kept.split())[:NAME_LIMIT].strip()
    return cleaned or None


def recipient_address(email: str) -> str:
    """The address as an SMTP server takes it: ASCII, with an internationalised domain in its
    IDNA form (`bücher.de` -> `xn--bcher-kva.de`)."""
    local, at, domain = email.strip().rpartition("@")
    if not at or not local or not domain:
        raise InvalidMessage("the e-mail address has no local part and domain")
    if not local.isascii():
        raise InvalidMessage(
            "the e-mail address has non-ASCII characters before the @, which this sender "
            "cannot deliver (no SMTPUTF8)"
        )
    try:
        ascii_domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        raise InvalidMessage(
            "the e-mail address's domain cannot be encoded for the mail server (IDNA)"
        ) from None
    address = f"{local}@{ascii_domain}"
    try:
        parsed = Address(addr_spec=address)
    except (ValueError, IndexError):
        raise InvalidMessage("the e-mail address is not one the email package accepts") from None
    if parsed.addr_spec != address or any(c.isspace() or ord(c) < 32 for c in address):
        raise InvalidMessage("the e-mail address is not one the email package accepts")
    return address


def unsubscribe_url(settings: MessageSettings, invitation_id: str) -> str:
    """The unsubscribe page for this invitation: its id, and nothing personal."""
    url = settings.unsubscribe_url
    if "{invitation_id}" in url:
        return url.replace("{invitation_id}", invitation_id)
    return f"{url}{'&' if '?' in url else '?'}invitation_id={invitation_id}"


def message_id(settings: MessageSettings, invitation_id: str) -> str:
    """Derived from the invitation, so a message sent twice is recognisably the same one."""
    domain = parseaddr(settings.sender_address)[1].rpartition("@")[2] or "localhost"
    return f"<{invitation_id}@{domain}>"


def compose(
    invitation: Invitation, settings: MessageSettings, written_at: datetime
) -> ComposedMessage:
    """The invitation as a complete message with a Dutch text and HTML part."""
    recipient = recipient_address(invitation.email)
    name = clean_name(invitation.customer_name)
    if not invitation.contact_description or not invitation.survey_url:
        raise InvalidMessage(
            f"questionnaire {invitation.questionnaire_id} has no contact description or survey "
            "link in seeds/kcm_questionnaires.csv"
        )
    unsubscribe = unsubscribe_url(settings, invitation.invitation_id)
    context = {
        "customer_name": name,
        "contact_description": invitation.contact_description,
        "survey_url": invitation.survey_url,
        "unsubscribe_url": unsubscribe,
    }
    try:
        text = _templates.get_template("invitation.txt.j2").render(context)
        html = _templates.get_template("invitation.html.j2").render(context)
    except TemplateError as error:
        raise InvalidMessage(f"the e-mail template could not be filled in: {error}") from None

    mailto = (
        f"mailto:{settings.unsubscribe_mailbox}"
        f"?subject={quote('afmelden ' + invitation.invitation_id)}"
    )
    identifier = message_id(settings, invitation.invitation_id)
    # Quoted-printable writes '=' as '=3D', so this boundary cannot occur in either part; being
    # derived from the invitation, it also keeps a resent message byte for byte the same.
    message = MIMEMultipart("alternative", boundary=f"==feedback-{invitation.invitation_id}==")
    message["From"] = settings.sender_address
    message["Reply-To"] = settings.reply_to_address
    message["To"] = formataddr((name or "", recipient), charset="utf-8")
    message["Subject"] = SUBJECT
    message["Date"] = format_datetime(written_at)
    message["Message-ID"] = identifier
    # RFC 2369 and RFC 8058: a link and a mailto, and one-click unsubscribing by POST.
    message["List-Unsubscribe"] = f"<{unsubscribe}>,{_POLICY.linesep} <{mailto}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["X-Feedback-Invitation-Id"] = invitation.invitation_id
    message.attach(MIMEText(text, "plain", _UTF8_QP))
    message.attach(MIMEText(html, "html", _UTF8_QP))
    return ComposedMessage(
        invitation_id=invitation.invitation_id,
        message_id=identifier,
        envelope_sender=parseaddr(settings.sender_address)[1],
        envelope_recipient=recipient,
        data=message.as_bytes(policy=_POLICY),
    )


_ADDRESS_LIKE = re.compile(r"""[^\s<>()\[\]:;,'"]+@[^\s<>()\[\]:;,'"]+""")


def without_addresses(text: str) -> str:
    """A mail server's reply often quotes the recipient: keep the reply, drop the address."""
    return _ADDRESS_LIKE.sub("[address]", text)
