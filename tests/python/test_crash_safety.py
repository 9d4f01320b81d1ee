"""Exactly once, crash-safe: `feedback run` killed with SIGKILL in the middle of a batch to a
real SMTP server, at several points, then run again until it completes.

The server holds the client at a chosen point of a chosen message (`smtp_server.Pause`) and the
test kills the process there. Worked out by hand for ten invitations, in invitation-id order:
- killed while the server holds message 2 after its final "." (DATA): the server has 1 and 2;
  the ledger says 1 sent and 2 `sending`, so the next run marks 2 uncertain and never resends it;
- killed while the server holds message 3 of the second run at RCPT: the server has message 2 of
  that run (the fourth invitation), whose 'sent' was not written yet, so it becomes uncertain;
  the fifth, at RCPT, never reached the server and stays due;
- killed while the server holds message 2 of the third run at MAIL: likewise the fifth
  invitation, accepted as message 1, becomes uncertain;
- the fourth run completes. No recipient has two messages; every invitation reached the server;
  the ledger's `sent` and `uncertain` together are exactly what the server has.
"""

import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from conftest import CONTACT_HEADER
from smtp_server import Handler, Pause, start_server

REPO = Path(__file__).resolve().parents[2]
CONTACTS = CONTACT_HEADER + "".join(
    f"e-{n:02d},k-{n:02d},service_question,2026-03-01 10:{n:02d}:00,klant{n:02d}@example.nl,"
    f"Klant {n},,web\n"
    for n in range(10)
)


def start_run(data_root: Path, port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "FEEDBACK_DATA_DIR": str(data_root),
        "FEEDBACK_SMTP_HOST": "127.0.0.1",
        "FEEDBACK_SMTP_PORT": str(port),
        "FEEDBACK_SMTP_RETRY_SECONDS": "5",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "feedback_cli.main", "run", "--as-of", "2026-03-02"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def kill_at(data_root: Path, handler: Handler, port: int, pause: Pause) -> None:
    handler.pause = pause
    handler.counts.clear()
    process = start_run(data_root, port)
    try:
        assert pause.reached.wait(180), process.communicate(timeout=30)[0]
        process.send_signal(signal.SIGKILL)
        process.wait(30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == -signal.SIGKILL


@pytest.fixture(scope="module")
def killed_three_times(module_data):
    handler = Handler()
    controller = start_server(handler)
    module_data.land("contact_events", "contacts-2026-03-01.csv", CONTACTS)
    port = controller.port
    try:
        kill_at(module_data.root, handler, port, Pause("DATA", 2))
        kill_at(module_data.root, handler, port, Pause("RCPT", 3))
        kill_at(module_data.root, handler, port, Pause("MAIL", 2))
        handler.pause = None
        final = start_run(module_data.root, port)
        output = final.communicate(timeout=300)[0]
        yield handler, final.returncode, output
    finally:
        controller.stop()


def test_after_three_kills_the_run_completes(killed_three_times):
    _, code, output = killed_three_times
    assert code == 0, output
    assert "feedback run for 2026-03-02: completed" in output


def test_no_recipient_has_two_messages_and_none_is_lost(killed_three_times):
    handler, _, _ = killed_three_times
    per_recipient = Counter(recipient for recipient, _ in handler.received)
    assert per_recipient == Counter(f"klant{n:02d}@example.nl" for n in range(10))


def test_the_ledger_never_claims_more_than_the_server_accepted(killed_three_times, module_data):
    handler, _, output = killed_three_times
    states = dict(module_data.query("select invitation_id, state from ledger.invitations"))
    received = set(handler.invitation_ids())
    assert set(states) == received
    ids = sorted(states)
    # One message in flight per kill: the one after the final "." of the first, and the
    # accepted one whose 'sent' the second and third kill stopped from being written.
    assert sorted(i for i, state in states.items() if state == "uncertain") == [
        ids[1],
        ids[3],
        ids[4],
    ]
    assert Counter(states.values()) == Counter({"sent": 7, "uncertain": 3})
    # The run after a kill reports what that kill left uncertain, by id.
    assert (
        f"1 of uncertain fate after a stop; not sent again (marts.invitation_deliveries): {ids[4]}"
        in output
    )
    assert module_data.query(
        "select count(*) from marts.contact_outcomes where outcome = 'delivery_uncertain'"
    ) == [(3,)]
