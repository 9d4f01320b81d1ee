"""Where composed messages go: `outbox/<invitation_id>.eml` files, or an SMTP server.

A transport hands one message over and says what came of it as a `Reply`. The SMTP transport
keeps one connection for the whole batch (and reconnects when the server drops it), paces itself
to `FEEDBACK_SMTP_RATE`, and runs the DATA phase itself so that the caller can record the
message as `sending` just before the final "." that commits it: until then a crash leaves
nothing at the server; after it, at most this one message is of uncertain fate.
"""

from __future__ import annotations

import os
import re
import smtplib
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from feedback.core.settings import SmtpSettings
from feedback.invitations.messages import ComposedMessage, without_addresses


@dataclass(frozen=True)
class Reply:
    """The server's answer to one message (an outbox write answers 250)."""

    code: int
    text: str = ""

    @property
    def accepted(self) -> bool:
        return 200 <= self.code < 300

    @property
    def permanent(self) -> bool:
        return self.code >= 500


class ServerUnreachable(Exception):
    """No connection to the server could be made or kept; nothing of this message was sent."""


class ConnectionLost(Exception):
    """The connection broke during a message: before its final "." nothing was delivered,
    after it the server may or may not have accepted it (`handed_over`)."""

    def __init__(self, detail: str, handed_over: bool):
        super().__init__(detail)
        self.handed_over = handed_over


class ServerMisconfigured(Exception):
    """A fault no retry mends (TLS or login refused): fix the settings."""


class OutboxTransport:
    """Writes each message as `outbox/<invitation_id>.eml`, atomically: never half a file. The
    file is its own record: whether a message went out can be checked afterwards."""

    verifiable = True
    WRITTEN = Reply(250, "written to the outbox")

    def __init__(self, outbox: Path):
        self.outbox = outbox

    def open(self) -> None:
        self.outbox.mkdir(parents=True, exist_ok=True)

    def close(self) -> None:
        pass

    def holds(self) -> set[str]:
        """The invitation ids written to the outbox; half-written files are removed. (The
        outbox holds about 3 months of messages: its names are read once, without a Path
        object per file.)"""
        if not self.outbox.is_dir():
            return set()
        with os.scandir(self.outbox) as entries:
            names = [entry.name for entry in entries]
        for name in names:
            if name.endswith(".eml.partial"):
                (self.outbox / name).unlink(missing_ok=True)
        return {name.removesuffix(".eml") for name in names if name.endswith(".eml")}

    def deliver(self, message: ComposedMessage, before_handover: Callable[[], None]) -> Reply:
        target = self.outbox / f"{message.invitation_id}.eml"
        partial = target.with_suffix(".eml.partial")
        partial.write_bytes(message.data)
        before_handover()
        os.replace(partial, target)
        return self.WRITTEN


class DryRunTransport:
    """Hands nothing over: a dry run composes every message and counts what it would send."""

    verifiable = True

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

    def deliver(self, message: ComposedMessage, before_handover: Callable[[], None]) -> Reply:
        return Reply(250, "dry run: not sent")


_LEADING_DOT = re.compile(rb"^\.", re.MULTILINE)


class SmtpTransport:
    """One SMTP connection for a batch: STARTTLS and login when configured, paced to the rate."""

    verifiable = False

    def __init__(self, settings: SmtpSettings):
        self.settings = settings
        self.client: smtplib.SMTP | None = None
        self._last_start: float | None = None

    @property
    def where(self) -> str:
        return f"{self.settings.host}:{self.settings.port}"

    def open(self) -> None:
        """Connect now, so a server that cannot be used shows before the first message."""
        self._connected()

    def close(self) -> None:
        if self.client is None:
            return
        try:
            self.client.quit()
        except (OSError, smtplib.SMTPException):
            self.client.close()
        self.client = None

    def _drop(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None

    def _connected(self) -> smtplib.SMTP:
        if self.client is not None:
            return self.client
        s = self.settings
        client = None
        try:
            client = smtplib.SMTP(s.host, s.port, timeout=s.timeout_seconds)
            # The final "." goes out on its own, just after the ledger write: without this it
            # waits for the body's delayed ACK, which would bound the messages a second.
            client.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            client.ehlo_or_helo_if_needed()
            if s.starttls:
                _offers(client, "starttls", "STARTTLS, which FEEDBACK_SMTP_STARTTLS asks for")
                client.starttls(context=ssl.create_default_context())
                client.ehlo()
            if s.user:
                _offers(client, "auth", "a login (AUTH), which FEEDBACK_SMTP_USER asks for")
                client.login(s.user, s.password or "")
        except (ssl.SSLError, ssl.CertificateError) as error:
            _close(client)
            raise ServerMisconfigured(
                f"TLS with the SMTP server {self.where} failed ({error}); check its certificate "
                "(SSL_CERT_FILE names a CA bundle) and FEEDBACK_SMTP_STARTTLS"
            ) from None
        except smtplib.SMTPNotSupportedError as error:
            _close(client)
            raise ServerMisconfigured(
                f"the SMTP server {self.where} does not offer {error}"
            ) from None
        except smtplib.SMTPAuthenticationError as error:
            _close(client)
            raise ServerMisconfigured(
                f"the SMTP server {self.where} refused the login of FEEDBACK_SMTP_USER "
                f"({error.smtp_code}); check FEEDBACK_SMTP_USER and FEEDBACK_SMTP_PASSWORD"
            ) from None
        except (OSError, smtplib.SMTPException) as error:
            _close(client)
            raise ServerUnreachable(
                f"cannot use the SMTP server {self.where} ({type(error).__name__}: {error})"
            ) from None
        self.client = client
        return client

    def _pace(self) -> None:
        if self.settings.rate > 0 and self._last_start is not None:
            wait = self._last_start + 1 / self.settings.rate - time.monotonic()
            if wait > 0:
                time.sleep(wait)
        self._last_start = time.monotonic()

    def deliver(self, message: ComposedMessage, before_handover: Callable[[], None]) -> Reply:
        client = self._connected()
        self._pace()
        handed_over = False
        try:
            code, text = client.mail(message.envelope_sender)
            if code >= 500:
                # Refusing our own address refuses every message: a setting to fix.
                self._refused(code, text)
                raise ServerMisconfigured(
                    f"the SMTP server {self.where} refuses the sender address "
                    f"({code} {_reply_text(text)}); check FEEDBACK_SENDER_ADDRESS"
                )
            if code != 250:
                return self._refused(code, text)
            code, text = client.rcpt(message.envelope_recipient)
            if code not in (250, 251):
                return self._refused(code, text)
            code, text = client.docmd("DATA")
            if code != 354:
                return self._refused(code, text)
            data = _LEADING_DOT.sub(b"..", message.data)
            if not data.endswith(b"\r\n"):
                data += b"\r\n"
            client.send(data)
            before_handover()
            handed_over = True
            client.send(b".\r\n")
            code, text = client.getreply()
        except (OSError, smtplib.SMTPServerDisconnected) as error:
            self._drop()
            raise ConnectionLost(
                f"the connection to {self.where} broke ({type(error).__name__})", handed_over
            ) from None
        if code == 421:
            # The server is closing the connection: the message was not taken.
            self._drop()
        return Reply(code, _reply_text(text))

    def _refused(self, code: int, text: bytes) -> Reply:
        if code == 421:
            self._drop()
            raise ConnectionLost(f"the SMTP server {self.where} closed the connection (421)", False)
        try:
            self.client.rset()
        except (OSError, smtplib.SMTPException):
            self._drop()
        return Reply(code, _reply_text(text))


def _reply_text(text: bytes) -> str:
    return without_addresses(text.decode("utf-8", "replace"))[:200]


def _close(client: smtplib.SMTP | None) -> None:
    if client is not None:
        client.close()


def _offers(client: smtplib.SMTP, extension: str, what: str) -> None:
    """Raise, naming `what`, when the server's EHLO does not offer `extension` (smtplib raises
    the same error for STARTTLS and AUTH, without saying which setting asked for it)."""
    if not client.has_extn(extension):
        raise smtplib.SMTPNotSupportedError(what)
