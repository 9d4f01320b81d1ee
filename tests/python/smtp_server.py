"""A real SMTP server on 127.0.0.1 for the tests (aiosmtpd), with behaviours chosen by address."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import threading
from collections import Counter
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Pause:
    """Hold the server inside `hook` ("MAIL", "RCPT" or "DATA") for the `nth` message, so a
    test can act while the client waits there: DATA is after the final "."."""

    hook: str
    nth: int
    seconds: float = 5.0
    reached: threading.Event = field(default_factory=threading.Event)


class Handler:
    """Keeps what it accepts. By the recipient's local part: `refused...` gets 550,
    `greylisted...` 451 the first time, `deferred...` 451 while `deferring`, and `dropped...`
    loses its connection the first time."""

    def __init__(self, data_delay: float = 0.0):
        self.received: list[tuple[str, bytes]] = []
        self.rcpt_attempts: Counter[str] = Counter()
        self.sessions: set[int] = set()
        self.deferring = True
        self.data_delay = data_delay
        self.pause: Pause | None = None
        self.counts: Counter[str] = Counter()

    async def _hold(self, hook: str) -> None:
        self.counts[hook] += 1
        pause = self.pause
        if pause is not None and pause.hook == hook and self.counts[hook] == pause.nth:
            pause.reached.set()
            await asyncio.sleep(pause.seconds)

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        self.sessions.add(id(session))
        await self._hold("MAIL")
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        await self._hold("RCPT")
        self.rcpt_attempts[address] += 1
        local = address.split("@")[0]
        if local.startswith("refused"):
            return f"550 5.1.1 <{address}>: Recipient address rejected"
        if local.startswith("greylisted") and self.rcpt_attempts[address] == 1:
            return "451 4.7.1 Greylisted, try again later"
        if local.startswith("deferred") and self.deferring:
            return "451 4.3.0 Mailbox temporarily unavailable"
        if local.startswith("dropped") and self.rcpt_attempts[address] == 1:
            server.transport.close()
            return "421 4.4.2 Connection dropped"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        # The whole message has arrived: it is the server's now, whatever the client does.
        for recipient in envelope.rcpt_tos:
            self.received.append((recipient, envelope.original_content))
        await self._hold("DATA")
        if self.data_delay:
            await asyncio.sleep(self.data_delay)
        return "250 2.0.0 Message accepted for delivery"

    def invitation_ids(self) -> list[str]:
        return [
            message_from_bytes(data, policy=policy.default)["X-Feedback-Invitation-Id"]
            for _, data in self.received
        ]


class Authenticator:
    def __init__(self, user: str, password: str):
        self.user, self.password = user.encode(), password.encode()

    def __call__(self, server, session, envelope, mechanism, auth_data):
        ok = auth_data.login == self.user and auth_data.password == self.password
        return AuthResult(success=ok, handled=False)


def start_server(handler: Handler, **options) -> Controller:
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), **options)
    controller.start()
    return controller


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 made with openssl; being self-signed it is its own CA."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key
