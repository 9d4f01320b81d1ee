"""Send the invitations dbt found due on run date D, each exactly once, and keep the ledger.

The sender never decides who is eligible: it reads `int_invitations__due` and records every
step in the ledger (`feedback.invitations.ledger`). A record's fault stays with its invitation:
a message that cannot be made, or a recipient the server refuses for good (5xx), marks that
invitation `failed` and the batch goes on. Deferrals (4xx) and lost connections are retried with
backoff for `FEEDBACK_SMTP_RETRY_SECONDS`; what is still due then is left to the next run. Only a
server that cannot be used at all stops the run (`SendFailed`), and nothing unsent counts as sent.

Ledger writes bound the speed, so they are batched without weakening the guarantee: before
each SMTP message's final "." the ledger's journal (`feedback.invitations.ledger.Journal`,
synced to disk) records the outcome of the message before it and this one as `sending`. At any
moment at most one message is handed over and not yet recorded, and the ledger never claims more
than the server accepted. Outbox files are their own record (a stopped run's files are found by the
next), so there nothing is written per message. Either way the ledger table takes the changes
per 500 and at the end of the batch.
"""

from __future__ import annotations

import heapq
import logging
from dataclasses import dataclass
from datetime import date, datetime, time
from time import monotonic, sleep

from feedback.core.crash_points import crash_point
from feedback.core.settings import BUSINESS_TIME_ZONE, Settings, today_in_amsterdam
from feedback.core.warehouse import connect
from feedback.invitations.ledger import UNCERTAIN_REASON, Change, Journal, Ledger
from feedback.invitations.messages import InvalidMessage, compose
from feedback.invitations.transports import (
    ConnectionLost,
    OutboxTransport,
    ServerMisconfigured,
    ServerUnreachable,
    SmtpTransport,
)

log = logging.getLogger(__name__)

RECORD_EVERY = 500
JOURNAL = "sending.journal"
FIRST_RETRY_SECONDS = 0.5
LONGEST_RETRY_SECONDS = 30.0


class SendFailed(Exception):
    """The mail server could not be used; what was not sent stays due for a later run."""


@dataclass
class SendSummary:
    """Counts only (the ids are in the ledger: see `delivery_problems`)."""

    sent: int = 0
    already_sent: int = 0
    refused: int = 0
    invalid: int = 0
    deferred: int = 0
    uncertain: int = 0

    @classmethod
    def total(cls, summaries: list[SendSummary]) -> SendSummary:
        """The counts of several runs' sending (the dates of a range) added up."""
        return cls(
            **{name: sum(getattr(s, name) for s in summaries) for name in cls.__annotations__}
        )


def written_at(run_date: date) -> datetime:
    """A message's Date: now for today's run; 08:00 on the run date for a run of another day
    (a catch-up or the demo), so that it never carries a date its run did not have."""
    if run_date == today_in_amsterdam():
        return datetime.now(BUSINESS_TIME_ZONE).replace(microsecond=0)
    return datetime.combine(run_date, time(8, 0), tzinfo=BUSINESS_TIME_ZONE)


def transport_for(settings: Settings) -> OutboxTransport | SmtpTransport:
    if settings.smtp is not None:
        return SmtpTransport(settings.smtp)
    return OutboxTransport(settings.outbox_dir)


def _ledger(conn, settings: Settings, run_date: date) -> Ledger:
    return Ledger(conn, run_date, Journal(settings.data_dir / JOURNAL))


def settle_interrupted(settings: Settings, run_date: date) -> tuple[list[str], list[str]]:
    """What a stopped run left open, settled before the rules read the ledger (so that the
    28-day rule counts it): (found sent in the outbox, of uncertain fate)."""
    with connect(settings.warehouse_path) as conn:
        outbox = OutboxTransport(settings.outbox_dir)
        confirmed, uncertain = _ledger(conn, settings, run_date).recover(
            outbox.holds(), outbox.WRITTEN.code
        )
    if uncertain:
        log.warning("invitations of uncertain fate, not sent again: %s", ", ".join(uncertain))
    return confirmed, uncertain


def delivery_problems(settings: Settings, since: datetime) -> dict[str, list[str]]:
    """The invitations that a run started at `since` left unsent, by invitation id (read from
    the ledger, so a summary never depends on what a step kept in memory): refused for good by
    the mail server, invalid (no valid message could be made), deferred (a later run retries),
    uncertain (a stop left them with the server; never sent again)."""
    problems: dict[str, list[str]] = {}
    with connect(settings.warehouse_path) as conn:
        rows = conn.execute(
            """
            select
                case
                    when state = 'failed' and last_reply_code >= 500 then 'refused'
                    when state = 'failed' then 'invalid'
                    when state = 'due' then 'deferred'
                    else state
                end as problem,
                invitation_id
            from ledger.invitations
            where state in ('failed', 'due', 'uncertain') and updated_at >= ?
            order by invitation_id
            """,
            [since],
        ).fetchall()
    for problem, invitation_id in rows:
        problems.setdefault(problem, []).append(invitation_id)
    return problems


def send_due_invitations(
    settings: Settings, run_date: date, transport: OutboxTransport | SmtpTransport | None = None
) -> SendSummary:
    transport = transport or transport_for(settings)
    summary = SendSummary()
    with connect(settings.warehouse_path, run_date) as conn:
        ledger = _ledger(conn, settings, run_date)
        summary.already_sent = ledger.sent_before()
        due = ledger.take_on_due()
        if due:
            _Batch(due, transport, ledger, settings, run_date, summary).send()
    log.info(
        "invitations sent: %d, refused: %d, invalid: %d, deferred: %d, uncertain: %d",
        summary.sent,
        summary.refused,
        summary.invalid,
        summary.deferred,
        summary.uncertain,
    )
    return summary


class _Batch:
    """One run's sending for a date: the queue (the batch in order, then the retries as they fall
    due), the attempts per invitation, and the ledger changes not yet in the journal (at most
    one message's) or in the ledger table."""

    def __init__(self, due, transport, ledger: Ledger, settings: Settings, run_date, summary):
        self.transport = transport
        self.ledger = ledger
        self.settings = settings
        self.summary = summary
        retry_seconds = settings.smtp.retry_seconds if settings.smtp else 0.0
        self.deadline = monotonic() + retry_seconds
        self.written = written_at(run_date)
        # (not before, order, invitation, tries)
        self.queue = [(0.0, n, invitation, 0) for n, invitation in enumerate(due)]
        heapq.heapify(self.queue)
        self.order = len(self.queue)
        self.attempts = dict(ledger.attempts)
        self.pending: list[Change] = []
        self.journaled = 0

    def send(self) -> None:
        try:
            _open(self.transport, self.deadline, self.summary)
            while self.queue:
                self._send_next()
                if len(self.pending) + self.journaled >= RECORD_EVERY:
                    self._journal(self.pending)
                    self.ledger.fold_journal()
                    self.journaled = 0
        except ServerMisconfigured as problem:
            raise SendFailed(f"{problem}; {_left_for_later(self.summary)}") from None
        finally:
            # Whatever stops the batch, what is known to have happened is recorded.
            self._journal(self.pending)
            self.ledger.fold_journal()
            self.transport.close()

    def _send_next(self) -> None:
        not_before, position, invitation, tries = heapq.heappop(self.queue)
        if not_before > monotonic():
            sleep(not_before - monotonic())
        invitation_id = invitation.invitation_id
        self.attempts[invitation_id] = self.attempts.get(invitation_id, 0) + 1
        try:
            message = compose(invitation, self.settings.messages, self.written)
        except InvalidMessage as problem:
            self.pending.append(self._change(invitation_id, "failed", error=str(problem)))
            self.summary.invalid += 1
            log.warning("invitation %s not sent: %s", invitation_id, problem)
            return

        def before_handover() -> None:
            if not self.transport.verifiable:
                self._journal([*self.pending, self._change(invitation_id, "sending")])

        try:
            reply = self.transport.deliver(message, before_handover)
        except ServerUnreachable:
            # The connection broke between messages: reconnect (with backoff), then go on.
            self.attempts[invitation_id] -= 1
            _open(self.transport, self.deadline, self.summary)
            heapq.heappush(self.queue, (not_before, position, invitation, tries))
            return
        except ConnectionLost as lost:
            if lost.handed_over:
                self.pending.append(
                    self._change(invitation_id, "uncertain", error=UNCERTAIN_REASON)
                )
                self.summary.uncertain += 1
            else:
                self.pending.append(self._change(invitation_id, "due", error=str(lost)))
                self._retry_later(invitation, tries)
            return
        crash_point("sending:after_handover")
        self._record(invitation, tries, reply)

    def _record(self, invitation, tries: int, reply) -> None:
        """The server's answer to a message handed over: sent, refused for good, or deferred."""
        invitation_id = invitation.invitation_id
        said = f"{reply.code} {reply.text}".strip()
        if reply.accepted:
            self.pending.append(self._change(invitation_id, "sent", reply.code))
            self.summary.sent += 1
        elif reply.permanent:
            self.pending.append(self._change(invitation_id, "failed", reply.code, said))
            self.summary.refused += 1
            log.warning("invitation %s refused by the server: %s", invitation_id, reply.code)
        else:
            self.pending.append(self._change(invitation_id, "due", reply.code, said))
            self._retry_later(invitation, tries)

    def _change(self, invitation_id: str, state: str, reply_code=None, error=None) -> Change:
        return Change(invitation_id, state, self.attempts[invitation_id], reply_code, error)

    def _retry_later(self, invitation, tries: int) -> None:
        """Queue another try after a backoff, unless that falls past the deadline: then it is
        left due for a later run."""
        delay = min(LONGEST_RETRY_SECONDS, FIRST_RETRY_SECONDS * 2**tries)
        if monotonic() + delay > self.deadline:
            self.summary.deferred += 1
            return
        self.order += 1
        heapq.heappush(self.queue, (monotonic() + delay, self.order, invitation, tries + 1))

    def _journal(self, changes: list[Change]) -> None:
        self.ledger.journal.append(changes)
        self.journaled += len(changes)
        self.pending.clear()


def _open(transport, deadline: float, summary: SendSummary) -> None:
    """Connect, retrying with backoff until the deadline; then the server counts as down."""
    tries = 0
    while True:
        try:
            transport.open()
            return
        except ServerUnreachable as problem:
            delay = min(LONGEST_RETRY_SECONDS, FIRST_RETRY_SECONDS * 2**tries)
            if monotonic() + delay > deadline:
                raise SendFailed(f"{problem}; {_left_for_later(summary)}") from None
            sleep(delay)
            tries += 1


def _left_for_later(summary: SendSummary) -> str:
    if not summary.sent:
        return "nothing was sent, a later run sends the invitations"
    return f"{summary.sent} sent before it stopped; the rest stay due for a later run"
