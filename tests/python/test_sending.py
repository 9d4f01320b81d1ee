"""Sending over a real SMTP server on 127.0.0.1: one e-mail per invitation, whatever fails.

The scenario: eight customers contacted on 1 March, each address choosing how the server (see
`smtp_server.Handler`) treats it. The run of 2 March sends what it can in one connection, retries
a greylisting and a dropped connection, fails only the invitations at fault and exits 3 for the
refusal; the run of 3 March sends what was deferred and tries nothing else again.
"""

from datetime import date
from email import message_from_bytes, policy

import dagster as dg
import pytest
from conftest import CONTACT_HEADER, invitation_id
from smtp_server import Authenticator, Handler, free_port, self_signed_certificate, start_server

from orchestration.instance import dagster_instance

CONTACTS = CONTACT_HEADER + (
    "e-ok,k-1,service_question,2026-03-01 10:00:00,jan@example.nl,Jan Jansen,,phone\n"
    "e-evil,k-2,claim_reported,2026-03-01 10:05:00,eve@example.nl,"
    '"Evil\r\nBcc: spy@example.org",,web\n'
    "e-grey,k-3,new_policy,2026-03-01 10:10:00,greylisted@example.nl,Gré,,web\n"
    "e-drop,k-4,new_policy,2026-03-01 10:15:00,dropped@example.nl,Dirk,,web\n"
    "e-refused,k-5,invoice_declared,2026-03-01 10:20:00,refused@example.nl,Rik Refusé,,web\n"
    "e-later,k-6,cancellation,2026-03-01 10:25:00,deferred@example.nl,Lea,,web\n"
    "e-idn,k-7,details_changed,2026-03-01 10:30:00,anna@bücher.example,Anna,,web\n"
    "e-badidn,k-8,details_changed,2026-03-01 10:35:00,bob@" + "ü" * 70 + ".example,Bob,,web\n"
)
PERSONAL = ("jan@example.nl", "Jan Jansen", "refused@example.nl", "Rik", "spy@example.org")


def smtp_env(controller, **extra) -> dict[str, str]:
    return {
        "FEEDBACK_SMTP_HOST": "127.0.0.1",
        "FEEDBACK_SMTP_PORT": str(controller.port),
        "FEEDBACK_SMTP_RETRY_SECONDS": "3",
        **extra,
    }


@pytest.fixture(scope="module")
def scenario(module_data):
    handler = Handler()
    controller = start_server(handler)
    try:
        module_data.land("contact_events", "contacts-2026-03-01.csv", CONTACTS)
        first = module_data.run("2026-03-02", env=smtp_env(controller), expect_success=False)
        after_first = {
            "received": handler.invitation_ids(),
            "sessions": len(handler.sessions),
            "rcpt_attempts": dict(handler.rcpt_attempts),
            "ledger": dict(
                module_data.query(
                    "select contact_event_id, state from ledger.invitations order by 1"
                )
            ),
        }
        handler.deferring = False
        second = module_data.run("2026-03-03", env=smtp_env(controller), expect_success=False)
        yield {"first": first, "second": second, "after_first": after_first, "handler": handler}
    finally:
        controller.stop()


def test_a_refusal_completes_the_run_with_exit_status_3_listing_ids_only(scenario):
    code, output = scenario["first"]
    assert code == 3, output
    assert "5 sent to SMTP 127.0.0.1, 1 refused by the server" in output, output
    listed = "(marts.invitation_deliveries): "
    assert f"1 refused for good by the mail server {listed}{invitation_id('e-refused')}" in output
    assert f"no valid message could be made {listed}{invitation_id('e-badidn')}" in output
    assert f"a later run retries {listed}{invitation_id('e-later')}" in output
    for personal in PERSONAL:
        assert personal not in output


def test_each_invitation_reaches_the_server_once_over_one_connection_plus_a_reconnect(scenario):
    first = scenario["after_first"]
    assert sorted(first["received"]) == sorted(
        invitation_id(e) for e in ("e-ok", "e-evil", "e-grey", "e-drop", "e-idn")
    )
    # One connection for the batch, one more after the server dropped it.
    assert first["sessions"] == 2
    assert first["rcpt_attempts"]["greylisted@example.nl"] == 2
    assert first["rcpt_attempts"]["dropped@example.nl"] == 2
    assert first["rcpt_attempts"]["refused@example.nl"] == 1
    assert first["ledger"] == {
        "e-badidn": "failed",
        "e-drop": "sent",
        "e-evil": "sent",
        "e-grey": "sent",
        "e-idn": "sent",
        "e-later": "due",
        "e-ok": "sent",
        "e-refused": "failed",
    }


def test_a_line_break_in_a_name_is_cleaned_and_the_customer_still_invited(scenario):
    handler = scenario["handler"]
    (raw,) = [data for to, data in handler.received if to == "eve@example.nl"]
    message = message_from_bytes(raw, policy=policy.default)
    assert message["Bcc"] is None
    assert message["To"].addresses[0].display_name == "Evil Bcc: spy@example.org"
    assert [to for to, _ in handler.received].count("spy@example.org") == 0
    (idn,) = [to for to, _ in handler.received if to.startswith("anna@")]
    assert idn == "anna@xn--bcher-kva.example"


def test_the_next_run_sends_what_was_deferred_and_retries_no_failure(scenario):
    code, output = scenario["second"]
    assert code == 0, output
    assert "1 sent to SMTP 127.0.0.1, 0 refused by the server" in output
    handler = scenario["handler"]
    assert handler.invitation_ids().count(invitation_id("e-later")) == 1
    assert handler.rcpt_attempts["refused@example.nl"] == 1
    assert len(handler.received) == 6


def test_operations_see_every_invitation_with_state_attempts_and_reply_code(scenario, module_data):
    rows = module_data.query(
        "select invitation_id, state, attempts, last_reply_code, last_error, sent_on"
        " from marts.invitation_deliveries order by contact_event_id"
    )
    by_id = {row[0]: row[1:] for row in rows}
    assert by_id[invitation_id("e-refused")][:3] == ("failed", 1, 550)
    assert by_id[invitation_id("e-refused")][3] == (
        "550 5.1.1 <[address]>: Recipient address rejected"
    )
    assert by_id[invitation_id("e-grey")] == ("sent", 2, 250, None, date(2026, 3, 2))
    assert by_id[invitation_id("e-drop")] == ("sent", 2, 250, None, date(2026, 3, 2))
    later = by_id[invitation_id("e-later")]
    assert later[0] == "sent" and later[1] >= 3 and later[4] == date(2026, 3, 3)
    bad = by_id[invitation_id("e-badidn")]
    assert bad[:2] == ("failed", 1) and "domain cannot be encoded" in bad[3]
    assert module_data.query(
        "select outcome from marts.contact_outcomes where contact_event_id = 'e-refused'"
    ) == [("invitation_failed",)]
    assert module_data.query("select count(*) from marts.feedback_invitations") == [(6,)]


def test_no_personal_data_in_the_logs_or_in_dagsters_run_history(scenario, module_data):
    files = [
        path
        for folder in ("logs", "dagster")
        for path in (module_data.root / folder).rglob("*")
        if path.is_file()
    ]
    assert any(path.name == "runs.db" for path in files)
    for path in files:
        content = path.read_bytes()
        for personal in PERSONAL:
            assert personal.encode() not in content, path


ONE_CONTACT = CONTACT_HEADER + ("e-1,k-1,new_policy,2026-03-01 10:00:00,jan@example.nl,Jan,,web\n")


def test_unreachable_server_fails_the_run_and_a_later_run_sends(data):
    data.land("contact_events", "contacts-2026-03-01.csv", ONE_CONTACT)
    down = {
        "FEEDBACK_SMTP_HOST": "127.0.0.1",
        "FEEDBACK_SMTP_PORT": str(free_port()),
        "FEEDBACK_SMTP_RETRY_SECONDS": "1",
    }
    code, output = data.run("2026-03-02", env=down, expect_success=False)
    assert code == 1
    assert "feedback run failed: step invitations__invitation_emails:" in output
    assert "cannot use the SMTP server 127.0.0.1:" in output
    assert "nothing was sent, a later run sends the invitations" in output
    assert data.query("select state from ledger.invitations") == [("due",)]

    handler = Handler()
    controller = start_server(handler)
    try:
        data.run("2026-03-02", env=smtp_env(controller))
    finally:
        controller.stop()
    assert handler.invitation_ids() == [invitation_id("e-1")]
    assert data.query("select state, sent_on from ledger.invitations") == [
        ("sent", date(2026, 3, 2))
    ]

    # Both runs are in the data folder's Dagster instance, as the UI shows them: the failure
    # with its cause, per-asset counts, and the dbt tests as asset checks.
    with dagster_instance(data.root) as instance:
        succeeded, failed = instance.get_runs()
        assert (succeeded.status, failed.status) == (
            dg.DagsterRunStatus.SUCCESS,
            dg.DagsterRunStatus.FAILURE,
        )
        assert succeeded.tags["feedback/run_date"] == "2026-03-02"
        # The UI lists both under the partition of their date.
        assert {run.tags["dagster/partition"] for run in (succeeded, failed)} == {"2026-03-02"}
        failures = [
            event.dagster_event.step_failure_data.error.to_string()
            for event in instance.all_logs(failed.run_id)
            if event.dagster_event and event.dagster_event.is_step_failure
        ]
        assert len(failures) == 1 and "cannot use the SMTP server" in failures[0]
        sending = instance.fetch_materializations(
            dg.AssetKey(["invitations", "invitation_emails"]), limit=5
        ).records
        assert len(sending) == 1
        counts = {k: v.value for k, v in sending[0].asset_materialization.metadata.items()}
        assert counts == {
            "sent": 1,
            "already_sent": 0,
            "refused": 0,
            "invalid": 0,
            "deferred": 0,
            "uncertain": 0,
            # the contact of 1 March is not past the catch-up bound yet
            "outcomes_decided": 0,
        }
        # the failed run stopped at sending: the marts' tests were planned, never run
        check = dg.AssetCheckKey(
            dg.AssetKey(["marts", "quarterly_satisfaction"]),
            "assert_quarter_counts_every_response_of_the_quarter",
        )
        history = instance.event_log_storage.get_asset_check_execution_history(check, limit=5)
        assert [record.status.value for record in history] == ["SUCCEEDED", "PLANNED"]


def test_starttls_and_login_with_a_certificate_made_by_the_test_and_the_rate_kept(data, tmp_path):
    import ssl

    cert, key = self_signed_certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    handler = Handler()
    controller = start_server(
        handler,
        tls_context=context,
        require_starttls=True,
        authenticator=Authenticator("feedback", "geheim"),
        auth_require_tls=True,
    )
    contacts = CONTACT_HEADER + "".join(
        f"e-{n},k-{n},new_policy,2026-03-01 10:0{n}:00,klant{n}@example.nl,,,web\n"
        for n in range(5)
    )
    data.land("contact_events", "contacts-2026-03-01.csv", contacts)
    env = smtp_env(
        controller,
        FEEDBACK_SMTP_STARTTLS="1",
        FEEDBACK_SMTP_USER="feedback",
        FEEDBACK_SMTP_PASSWORD="geheim",
        FEEDBACK_SMTP_RATE="10",
        SSL_CERT_FILE=str(cert),
    )
    try:
        wrong = {**env, "FEEDBACK_SMTP_PASSWORD": "fout"}
        code, output = data.run("2026-03-02", env=wrong, expect_success=False)
        assert code == 1
        assert "refused the login of FEEDBACK_SMTP_USER (535)" in output
        assert handler.received == []

        times = []
        original = handler.handle_DATA

        async def timed(server, session, envelope):
            import time

            times.append(time.monotonic())
            return await original(server, session, envelope)

        handler.handle_DATA = timed
        _, output = data.run("2026-03-02", env=env)
    finally:
        controller.stop()
    assert "5 sent to SMTP 127.0.0.1" in output
    assert len(handler.received) == 5 and len(handler.sessions) == 1
    # At most 10 per second: five messages span at least four tenths of a second.
    assert times[-1] - times[0] >= 0.39


@pytest.mark.parametrize(
    ("settings", "missing"),
    [
        ({"FEEDBACK_SMTP_USER": "feedback"}, "a login (AUTH), which FEEDBACK_SMTP_USER asks for"),
        ({"FEEDBACK_SMTP_STARTTLS": "1"}, "STARTTLS, which FEEDBACK_SMTP_STARTTLS asks for"),
    ],
)
def test_a_setting_the_server_does_not_offer_is_named_and_nothing_is_sent(data, settings, missing):
    """smtplib raises one error for a missing STARTTLS and a missing AUTH; the run says which
    setting asked for what this server (a plain one, neither on offer) lacks."""
    data.land("contact_events", "contacts-2026-03-01.csv", ONE_CONTACT)
    handler = Handler()
    controller = start_server(handler)
    try:
        code, output = data.run(
            "2026-03-02", env=smtp_env(controller, **settings), expect_success=False
        )
    finally:
        controller.stop()
    assert code == 1
    assert f"does not offer {missing}; nothing was sent" in output
    assert handler.received == []
    assert data.query("select state from ledger.invitations") == [("due",)]


def test_dry_run_changes_nothing_and_says_what_it_would_do(data):
    handler = Handler()
    controller = start_server(handler)
    landed = data.land("contact_events", "contacts-2026-03-01.csv", ONE_CONTACT)
    try:
        code, output = data.run("2026-03-02", env=smtp_env(controller), options=("--dry-run",))
    finally:
        controller.stop()
    assert code == 0
    assert "dry run: nothing was changed, moved, recorded or sent" in output
    assert "landing: 1 file(s) loaded, 1 row(s) loaded" in output
    assert "invitations: 1 sent to SMTP 127.0.0.1" in output
    assert handler.received == [] and handler.sessions == set()
    assert landed.exists()
    # The lock file is the only trace: a dry run holds the folder like any run.
    assert sorted(p.name for p in data.root.iterdir()) == [".run.lock", "landing"]


def test_the_sender_refuses_a_due_list_with_two_invitations_to_a_customer(tmp_path):
    """Whatever the rules say, the sender takes on nothing of a list that would e-mail a
    customer twice on one date, and names the fault by invitation id."""
    from feedback.core.warehouse import connect
    from feedback.invitations.ledger import Journal, Ledger

    run_date = date(2026, 3, 2)
    with connect(tmp_path / "warehouse.duckdb") as conn:
        conn.execute("create schema intermediate")
        conn.execute(
            """
            create table intermediate.int_invitations__due as
            select
                invitation_id, contact_event_id, customer_id, md5(customer_id) as customer_key,
                'new_policy' as contact_type, date '2026-03-01' as contact_date,
                'q-1' as questionnaire_id,
                'https://kcm.example/q?invitation_id=' || invitation_id as survey_url,
                email, 'Klant' as customer_name, date '2026-03-02' as run_date
            from (values
                ('inv-1', 'e-1', 'k-1', 'klant1@example.nl'),
                ('inv-2', 'e-2', 'k-1', 'klant1@example.nl'),
                ('inv-3', 'e-3', 'k-3', 'klant3@example.nl')
            ) as due (invitation_id, contact_event_id, customer_id, email)
            """
        )
        ledger = Ledger(conn, run_date, Journal(tmp_path / "journal"))
        with pytest.raises(RuntimeError) as refused:
            ledger.take_on_due()
        message = str(refused.value)
        assert "two invitations to a customer: 2 (e.g. invitation inv-1)" in message
        assert "klant1" not in message and "k-1" not in message
        assert conn.execute("select count(*) from ledger.invitations").fetchone() == (0,)
