"""The invitation e-mail itself: complete, accepted by inbox providers, and safe from its data."""

from datetime import date, datetime
from email import message_from_bytes, policy

import pytest

from feedback.core.settings import BUSINESS_TIME_ZONE, Settings
from feedback.invitations.messages import InvalidMessage, Invitation, clean_name, compose

SETTINGS = Settings.from_env(
    {
        "FEEDBACK_SENDER_ADDRESS": "Klanttevredenheid <kt@verzekeraar.example>",
        "FEEDBACK_REPLY_TO_ADDRESS": "Klantenservice <service@verzekeraar.example>",
        "FEEDBACK_UNSUBSCRIBE_URL": "https://www.verzekeraar.example/afmelden",
    }
).messages
WRITTEN_AT = datetime(2026, 3, 2, 8, 0, tzinfo=BUSINESS_TIME_ZONE)
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


def parsed(invitation: Invitation = INVITATION, settings=SETTINGS):
    composed = compose(invitation, settings, WRITTEN_AT)
    return composed, message_from_bytes(composed.data, policy=policy.default)


def with_(**changes) -> Invitation:
    return Invitation(**{**INVITATION.__dict__, **changes})


def test_message_has_every_header_inbox_providers_ask_of_bulk_senders():
    composed, message = parsed()

    assert message["From"] == "Klanttevredenheid <kt@verzekeraar.example>"
    assert message["Reply-To"] == "Klantenservice <service@verzekeraar.example>"
    assert message["To"].addresses[0].addr_spec == "jan@example.nl"
    assert message["Subject"] == "Hoe tevreden bent u over ons? Geef ons een rapportcijfer"
    assert message["Date"].datetime.isoformat() == "2026-03-02T08:00:00+01:00"
    assert message["Message-ID"] == "<inv-0123456789abcdef0123@verzekeraar.example>"
    assert composed.message_id == message["Message-ID"]
    # RFC 2369 and 8058: the page with the invitation id (nothing personal) and a mailto.
    assert str(message["List-Unsubscribe"]) == (
        "<https://www.verzekeraar.example/afmelden?invitation_id=inv-0123456789abcdef0123>, "
        "<mailto:afmelden@verzekeraar.example?subject=afmelden%20inv-0123456789abcdef0123>"
    )
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert composed.envelope_sender == "kt@verzekeraar.example"
    assert composed.envelope_recipient == "jan@example.nl"
    # CRLF line ends throughout, no line longer than RFC 5322's limit.
    lines = composed.data.split(b"\r\n")
    assert b"\n" not in b"".join(lines)
    assert max(len(line) for line in lines) <= 998


def test_text_and_html_alternatives_in_utf8_with_the_name_escaped_in_html():
    _, message = parsed(with_(contact_description="uw gegevens gewijzigd (adres, IBAN…)"))
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert text.startswith('Beste Jan <b>"de Vries"</b> & Zn,\r\n') or text.startswith(
        'Beste Jan <b>"de Vries"</b> & Zn,\n'
    )
    assert "uw gegevens gewijzigd (adres, IBAN…)" in text
    assert INVITATION.survey_url in text
    assert "afmelden?invitation_id=inv-0123456789abcdef0123" in text
    assert "<p>Beste Jan &lt;b&gt;&#34;de Vries&#34;&lt;/b&gt; &amp; Zn,</p>" in html
    assert f'href="{INVITATION.survey_url}"' in html
    assert message.get_body(("html",)).get_content_charset() == "utf-8"


def test_a_line_break_in_the_name_never_adds_a_header():
    composed, message = parsed(with_(customer_name="Evil\r\nBcc: spy@example.org\n\tX-Y: z"))
    assert message["Bcc"] is None and message["X-Y"] is None
    assert message["To"].addresses[0].display_name == "Evil Bcc: spy@example.org X-Y: z"
    assert message["To"].addresses[0].addr_spec == "jan@example.nl"
    assert composed.envelope_recipient == "jan@example.nl"
    assert message.get_body(("plain",)).get_content().startswith("Beste Evil Bcc: spy@")


@pytest.mark.parametrize(
    ("name", "cleaned"),
    [
        ("  Anne\u202e  de\tBoer\u0000 ", "Anne de Boer"),
        ("\r\n\t", None),
        (None, None),
        ("Zoë Ünal-Çelik", "Zoë Ünal-Çelik"),
        ("x" * 500, "x" * 80),
    ],
)
def test_names_are_cleaned_of_control_and_format_characters(name, cleaned):
    assert clean_name(name) == cleaned


def test_a_customer_without_a_name_is_addressed_as_klant():
    _, message = parsed(with_(customer_name=None))
    assert message["To"] == "jan@example.nl"
    assert message.get_body(("plain",)).get_content().startswith("Beste klant,")


def test_a_non_ascii_name_is_encoded_and_reads_back():
    _, message = parsed(with_(customer_name="Zoë Ünal"))
    assert message["To"].addresses[0].display_name == "Zoë Ünal"


def test_an_internationalised_domain_is_written_in_its_idna_form():
    composed, message = parsed(with_(email="anna@bücher.example"))
    assert composed.envelope_recipient == "anna@xn--bcher-kva.example"
    assert message["To"].addresses[0].addr_spec == "anna@xn--bcher-kva.example"


@pytest.mark.parametrize(
    ("email", "reason"),
    [
        ("jösé@example.nl", "non-ASCII characters before the @"),
        ("anna@" + "ü" * 70 + ".example", "domain cannot be encoded"),
        ("anna@exa mple.nl", "not one the email package accepts"),
        ("anna@", "no local part and domain"),
    ],
)
def test_an_address_that_cannot_make_a_message_says_why_without_the_address(email, reason):
    with pytest.raises(InvalidMessage) as problem:
        compose(with_(email=email), SETTINGS, WRITTEN_AT)
    assert reason in str(problem.value)
    assert email.split("@")[0] not in str(problem.value)


def test_a_missing_template_value_is_a_clear_error():
    with pytest.raises(InvalidMessage, match="KCM-SQ-01 has no contact description"):
        compose(with_(contact_description=None), SETTINGS, WRITTEN_AT)


def test_the_unsubscribe_url_may_place_the_invitation_id_itself():
    settings = Settings.from_env(
        {"FEEDBACK_UNSUBSCRIBE_URL": "https://x.example/afmelden/{invitation_id}/bevestig"}
    ).messages
    _, message = parsed(settings=settings)
    assert str(message["List-Unsubscribe"]).startswith(
        "<https://x.example/afmelden/inv-0123456789abcdef0123/bevestig>, <mailto:afmelden@"
    )


def test_a_message_composed_twice_is_the_same_bytes():
    assert (
        compose(INVITATION, SETTINGS, WRITTEN_AT).data
        == compose(INVITATION, SETTINGS, WRITTEN_AT).data
    )


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("FEEDBACK_SMTP_RATE", "fast", "FEEDBACK_SMTP_RATE='fast' is not a number"),
        ("FEEDBACK_SMTP_RATE", "-1", "must be at least 0"),
        ("FEEDBACK_REPLY_TO_ADDRESS", "nobody", "is not an e-mail address"),
        ("FEEDBACK_UNSUBSCRIBE_URL", "afmelden.html", "is not an http(s) URL"),
        ("FEEDBACK_UNSUBSCRIBE_URL", "https://", "is not an http(s) URL"),
        ("FEEDBACK_UNSUBSCRIBE_URL", "https:/www.example.nl/afmelden", "is not an http(s) URL"),
        ("FEEDBACK_UNSUBSCRIBE_URL", "https://www.example.nl/af melden", "is not an http(s) URL"),
        ("FEEDBACK_ALERT_ADDRESS", "beheer", "FEEDBACK_ALERT_ADDRESS='beheer' is not an e-mail"),
        ("FEEDBACK_UI_URL", "dagster:3000", "FEEDBACK_UI_URL='dagster:3000' is not an http(s) URL"),
    ],
)
def test_settings_that_make_no_sense_are_refused_with_the_variable_named(variable, value, message):
    env = {"FEEDBACK_SMTP_HOST": "127.0.0.1", variable: value}
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Settings.from_env(env)
