"""`make bench-send`: the sender's throughput on 10,000 invitations, and its crash safety.

Measures messages per second to the outbox and over one loopback SMTP connection (aiosmtpd in a
process of its own, so client and server do not share an interpreter), each through the real
ledger in a real DuckDB file. Then kills a sending process (SIGKILL) halfway through a batch and
checks the ledger against what the server received. Prints each goal as met or not met.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from feedback.core.settings import Settings  # noqa: E402
from feedback.core.warehouse import ensure_schema  # noqa: E402
from feedback.invitations.sending import settle_interrupted  # noqa: E402

RUN_DATE = date(2026, 3, 2)
GOALS = {"outbox": 500.0, "smtp": 200.0}


def make_warehouse(data_dir: Path, invitations: int) -> None:
    """The tables the sender reads, as dbt would have built them for the run date."""
    data_dir.mkdir(parents=True, exist_ok=True)
    conn = duckdb.connect(str(data_dir / "warehouse.duckdb"))
    ensure_schema(conn)
    seed = str(REPO / "seeds" / "kcm_questionnaires.csv")
    conn.execute(f"""
        create schema reference;
        create table reference.kcm_questionnaires as select * from read_csv('{seed}');
        create schema intermediate;
        create table intermediate.int_invitations__due as
        select
            'inv-' || lpad(i::varchar, 20, '0') as invitation_id,
            'e-' || i as contact_event_id,
            'k-' || i as customer_id,
            md5('feedback-customer:k-' || i) as customer_key,
            q.contact_type,
            date '{RUN_DATE}' - 1 as contact_date,
            q.questionnaire_id,
            q.survey_link || '?invitation_id=inv-' || lpad(i::varchar, 20, '0') as survey_url,
            'klant' || i || '@example.nl' as email,
            'Klant ' || i as customer_name,
            date '{RUN_DATE}' as run_date
        from range({invitations}) as t(i)
        join (select *, row_number() over () - 1 as n from reference.kcm_questionnaires) as q
            on q.n = i % 6
    """)  # fmt: skip
    conn.close()


def settings_for(data_dir: Path, port: int | None) -> Settings:
    env = {"FEEDBACK_DATA_DIR": str(data_dir)}
    if port is not None:
        env |= {"FEEDBACK_SMTP_HOST": "127.0.0.1", "FEEDBACK_SMTP_PORT": str(port)}
    return Settings.from_env(env)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve(port: int, log_path: str) -> None:
    """An SMTP server that accepts everything and appends each message's invitation id."""
    from aiosmtpd.controller import Controller

    log = open(log_path, "a", buffering=1)  # noqa: SIM115 - open for the server's life

    class Counting:
        async def handle_DATA(self, server, session, envelope):
            for line in envelope.original_content.split(b"\r\n"):
                if line.startswith(b"X-Feedback-Invitation-Id: "):
                    log.write(line.split(b": ", 1)[1].decode() + "\n")
                    break
            return "250 OK"

    controller = Controller(Counting(), hostname="127.0.0.1", port=port)
    controller.start()
    signal.sigwait({signal.SIGTERM})
    controller.stop()


def start_server(port: int, log_path: Path) -> subprocess.Popen:
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(port), str(log_path)])
    for _ in range(100):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return server
        time.sleep(0.1)
    raise RuntimeError("the benchmark's SMTP server did not start")


def send(data_dir: Path, port: int | None) -> tuple[float, object]:
    from feedback.invitations.sending import send_due_invitations

    started = time.perf_counter()
    summary = send_due_invitations(settings_for(data_dir, port), RUN_DATE)
    return time.perf_counter() - started, summary


def ledger_states(data_dir: Path) -> dict[str, set[str]]:
    conn = duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)
    try:
        rows = conn.execute("select state, invitation_id from ledger.invitations").fetchall()
    finally:
        conn.close()
    states: dict[str, set[str]] = {}
    for state, invitation_id in rows:
        states.setdefault(state, set()).add(invitation_id)
    return states


def received(log_path: Path) -> list[str]:
    return log_path.read_text().split() if log_path.exists() else []


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT MET"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--invitations", type=int, default=10_000)
    parser.add_argument("--serve", nargs=2, metavar=("PORT", "LOG"), help=argparse.SUPPRESS)
    parser.add_argument("--send-only", metavar="DATA_DIR", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(int(args.serve[0]), args.serve[1])
        return 0
    if args.send_only:
        send(Path(args.send_only), args.port)
        return 0

    n = args.invitations
    goals: list[tuple[str, object, bool]] = []
    with tempfile.TemporaryDirectory(prefix="bench-send-") as folder:
        root = Path(folder)

        make_warehouse(root / "outbox-run", n)
        seconds, summary = send(root / "outbox-run", None)
        rate = summary.sent / seconds
        written = len(list((root / "outbox-run" / "outbox").glob("*.eml")))
        print(f"outbox: {summary.sent} messages in {seconds:.1f} s = {rate:.0f} per second")
        goals.append(("outbox: at least 500 messages per second", f"{rate:.0f}/s", rate >= 500))
        goals.append(("outbox: one file per invitation", written, written == n))

        port, log = free_port(), root / "received.log"
        server = start_server(port, log)
        try:
            make_warehouse(root / "smtp-run", n)
            seconds, summary = send(root / "smtp-run", port)
            rate = summary.sent / seconds
            got = received(log)
            print(f"smtp: {summary.sent} messages in {seconds:.1f} s = {rate:.0f} per second")
            goals.append(("smtp: at least 200 messages per second", f"{rate:.0f}/s", rate >= 200))
            once = len(got) == len(set(got)) == n
            goals.append(("smtp: the server got each message once", len(set(got)), once))

            # Kill a sender halfway through, then compare the ledger with the server.
            before = len(received(log))
            make_warehouse(root / "crash-run", n)
            command = [sys.executable, __file__, "--send-only", str(root / "crash-run")]
            sender = subprocess.Popen([*command, "--port", str(port)])
            while len(received(log)) - before < n // 2 and sender.poll() is None:
                time.sleep(0.05)
            sender.send_signal(signal.SIGKILL)
            sender.wait()
            # What the next run does first: fold the journal in, settle what was in flight.
            settle_interrupted(settings_for(root / "crash-run", port), RUN_DATE)
            states = ledger_states(root / "crash-run")
            got = set(received(log)[before:])
            sent, uncertain = states.get("sent", set()), states.get("uncertain", set())
            print(
                f"crash: killed after {len(got)} accepted; ledger sent {len(sent)}, "
                f"uncertain {len(uncertain)}, due {len(states.get('due', ()))}"
            )
            goals.append(("crash: the ledger claims no more than accepted", len(sent), sent <= got))
            unrecorded = got - sent - uncertain
            goals.append(
                ("crash: no accepted one left to send again", len(unrecorded), not unrecorded)
            )
            goals.append(
                ("crash: at most the one in flight uncertain", len(uncertain), len(uncertain) <= 1)
            )
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(10)

    print()
    for goal, figure, ok in goals:
        print(f"  {goal:<50} {figure!s:>8}  {verdict(ok)}")
    return 0 if all(ok for _, _, ok in goals) else 1


if __name__ == "__main__":
    os.environ.setdefault("DO_NOT_TRACK", "1")
    sys.exit(main())
