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
            _send(due, transport, ledger, settings, run_date, summary)
    log.info(
        "invitations sent: %d, refused: %d, invalid: %d, deferred: %d, uncertain: %d",
        summary.sent,
        summary.refused,
        summary.invalid,
        summary.deferred,
        summary.uncertain,
    )
    return summary


def _send(due, transport, ledger: Ledger, settings: Settings, run_date, summary) -> None:
    retry_seconds = settings.smtp.retry_seconds if settings.smtp else 0.0
    deadline = monotonic() + retry_seconds
    written = written_at(run_date)
    # (not before, order, invitation, tries): the batch in order, then the retries as they fall due.
    queue = [(0.0, n, invitation, 0) for n, invitation in enumerate(due)]
    heapq.heapify(queue)
    attempts = dict(ledger.attempts)
    pending: list[Change] = []  # outcomes not yet in the journal (at most one message's)
    journaled = 0  # changes in the journal not yet in the ledger table
    order = len(queue)

    def retry_later(invitation, tries: int) -> bool:
        nonlocal order
        delay = min(LONGEST_RETRY_SECONDS, FIRST_RETRY_SECONDS * 2**tries)
        if monotonic() + delay > deadline:
            return False
        order += 1
        heapq.heappush(queue, (monotonic() + delay, order, invitation, tries + 1))
        return True

    def journal(changes: list[Change]) -> None:
        nonlocal journaled
        ledger.journal.append(changes)
        journaled += len(changes)
        pending.clear()

    try:
        _open(transport, deadline, summary)
        while queue:
            not_before, position, invitation, tries = heapq.heappop(queue)
            if not_before > monotonic():
                sleep(not_before - monotonic())
            invitation_id = invitation.invitation_id
            attempts[invitation_id] = attempt = attempts.get(invitation_id, 0) + 1

            def change(state, reply_code=None, error=None, invitation_id=invitation_id):
                return Change(invitation_id, state, attempts[invitation_id], reply_code, error)

            try:
                message = compose(invitation, settings.messages, written)
            except InvalidMessage as problem:
                pending.append(change("failed", error=str(problem)))
                summary.invalid += 1
                log.warning("invitation %s not sent: %s", invitation_id, problem)
                continue

            def before_handover(change=change) -> None:
                if not transport.verifiable:
                    journal([*pending, change("sending")])

            try:
                reply = transport.deliver(message, before_handover)
            except ServerUnreachable:
                # The connection broke between messages: reconnect (with backoff), then go on.
                attempts[invitation_id] = attempt - 1
                _open(transport, deadline, summary)
                heapq.heappush(queue, (not_before, position, invitation, tries))
                continue
            except ConnectionLost as lost:
                if lost.handed_over:
                    pending.append(change("uncertain", error=UNCERTAIN_REASON))
                    summary.uncertain += 1
                    continue
                pending.append(change("due", error=str(lost)))
                if not retry_later(invitation, tries):
                    summary.deferred += 1
                continue

            crash_point("sending:after_handover")
            if reply.accepted:
                pending.append(change("sent", reply.code))
                summary.sent += 1
            elif reply.permanent:
                pending.append(change("failed", reply.code, f"{reply.code} {reply.text}".strip()))
                summary.refused += 1
                log.warning("invitation %s refused by the server: %s", invitation_id, reply.code)
            else:
                pending.append(change("due", reply.code, f"{reply.code} {reply.text}".strip()))
                if not retry_later(invitation, tries):
                    summary.deferred += 1
            if len(pending) + journaled >= RECORD_EVERY:
                journal(pending)
                ledger.fold_journal()
                journaled = 0
    except ServerMisconfigured as problem:
        raise SendFailed(f"{problem}; {_left_for_later(summary)}") from None
    finally:
        # Whatever stops the batch, what is known to have happened is recorded.
        journal(pending)
        ledger.fold_journal()
        transport.close()


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
