"""The sender's ledger, `ledger.invitations`: the one record of what was sent.

The sender writes it and dbt reads it as a source. An invitation moves due -> sending -> sent, or
to failed (refused for good, or no valid message could be made). `sending` is recorded just
before the server commits a message; an invitation a stopped run left there may or may not have
reached the server, becomes `uncertain` and is never sent again: one customer must not get the
same e-mail twice, and its stable Message-ID lets anyone recognise it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from feedback.invitations.messages import Invitation

UNCERTAIN_REASON = (
    "a run stopped after handing this message to the mail server and before its answer was "
    "recorded; the server may have it, so it is not sent again (look for its Message-ID in the "
    "mail server's log)"
)


# What the sender may e-mail on a date: at most one invitation per customer, each with its own
# id, an address and a link. Checked on the very list it takes on, for every date of a range,
# before anything of it is recorded or sent.
_DUE_FAULTS = """
    with checked as (
        select
            invitation_id,
            case
                when invitation_id is null then 'no invitation id'
                when customer_id is null then 'no customer id'
                when email is null then 'no e-mail address'
                when survey_url is null then 'no questionnaire link'
                when count(*) over (partition by invitation_id) > 1 then 'invitation id twice'
                when count(*) over (partition by customer_id) > 1
                    then 'two invitations to a customer'
            end as fault
        from due
    )
    select fault, count(*), min(invitation_id) from checked
    where fault is not null
    group by fault
    order by fault
"""


@dataclass(frozen=True)
class Change:
    """One invitation's new state, with its attempts so far (a total, so that applying a
    change twice changes nothing)."""

    invitation_id: str
    state: str
    attempts: int
    reply_code: int | None = None
    error: str | None = None
    at: datetime = field(default_factory=lambda: datetime.now(UTC))


def merged(changes: Iterable[Change]) -> list[Change]:
    """One change per invitation: its latest."""
    return list({change.invitation_id: change for change in changes}.values())


class Journal:
    """The ledger's write-ahead journal for SMTP sending: one JSON line per change, appended
    and synced to disk before the message it records is committed at the server: a line synced
    to disk is several times cheaper than a DuckDB commit per message, which would bound the
    sender's speed. It is folded into `ledger.invitations` every few hundred changes, at the end
    of a batch, and by the next run when a stop left it behind. Ids and reply codes only."""

    def __init__(self, path: Path):
        self.path = path

    def append(self, changes: list[Change]) -> None:
        if not changes:
            return
        lines = "".join(
            json.dumps({**asdict(c), "at": c.at.isoformat()}, ensure_ascii=True) + "\n"
            for c in changes
        )
        descriptor = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(descriptor, lines.encode("ascii"))
            os.fdatasync(descriptor)
        finally:
            os.close(descriptor)

    def read(self) -> list[Change]:
        if not self.path.exists():
            return []
        changes = []
        for line in self.path.read_text(encoding="ascii").splitlines():
            try:
                fields = json.loads(line)
            except ValueError:
                continue  # a line cut short by a stop: its change never happened
            changes.append(Change(**{**fields, "at": datetime.fromisoformat(fields["at"])}))
        return changes

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)


class Ledger:
    def __init__(self, conn: duckdb.DuckDBPyConnection, run_date: date, journal: Journal):
        self.conn = conn
        self.run_date = run_date
        self.journal = journal
        # attempts so far of each invitation taken on
        self.attempts: dict[str, int] = {}

    def fold_journal(self) -> None:
        """Apply the journal to the ledger, then start a new one."""
        self.record(self.journal.read())
        self.journal.clear()

    def recover(
        self, written_to_outbox: set[str], written_reply_code: int
    ) -> tuple[list[str], list[str]]:
        """Settle what a stopped run left open: its journal is folded in, an invitation whose
        message is in the outbox was sent (one attempt, answered `written_reply_code`), one
        left `sending` is `uncertain`. Returns (confirmed, uncertain) ids."""
        self.fold_journal()
        open_rows = self.conn.execute(
            "select invitation_id, state from ledger.invitations"
            " where state in ('due', 'sending') order by invitation_id"
        ).fetchall()
        confirmed = [i for i, _ in open_rows if i in written_to_outbox]
        uncertain = [i for i, state in open_rows if state == "sending" and i not in confirmed]
        now = datetime.now(UTC)
        self.conn.begin()
        self.conn.execute(
            "update ledger.invitations set state = 'sent', sent_on = run_date, error = null,"
            " attempts = coalesce(attempts, 0) + case when state = 'due' then 1 else 0 end,"
            " last_reply_code = ?, last_attempt_at = ?,"
            " updated_at = ? where invitation_id in (select unnest(?::varchar[]))",
            [written_reply_code, now, now, confirmed],
        )
        self.conn.execute(
            "update ledger.invitations set state = 'uncertain', error = ?, updated_at = ?"
            " where invitation_id in (select unnest(?::varchar[]))",
            [UNCERTAIN_REASON, now, uncertain],
        )
        self.conn.commit()
        return confirmed, uncertain

    def take_on_due(self) -> list[Invitation]:
        """Record dbt's due invitations for the run date and return those still to send.

        The rules' view is read once into a snapshot: what it says changes as invitations go
        out."""
        if not self.conn.execute(
            "select count(*) from information_schema.tables"
            " where table_schema = 'intermediate' and table_name = 'int_invitations__due'"
        ).fetchone()[0]:
            raise RuntimeError("intermediate.int_invitations__due is missing: dbt has not built it")
        self.conn.execute(
            "create or replace temp table due as select * from intermediate.int_invitations__due"
        )
        planned = self.conn.execute("select max(run_date) from due").fetchone()[0]
        if planned is not None and planned != self.run_date:
            raise RuntimeError(
                f"int_invitations__due was built for {planned}, not for the run date "
                f"{self.run_date}: build the dbt models for this date first"
            )
        faults = self.conn.execute(_DUE_FAULTS).fetchall()
        if faults:
            found = "; ".join(
                f"{fault}: {n} (e.g. invitation {example})" for fault, n, example in faults
            )
            raise RuntimeError(
                f"the rules' invitations due on {self.run_date} break the contract, so none is"
                f" sent: {found}. Look for the fault in models/intermediate/invitations."
            )
        self.conn.execute(
            """
            insert into ledger.invitations (
                invitation_id, contact_event_id, customer_id, customer_key, contact_type,
                contact_date, questionnaire_id, survey_url, email, customer_name, state,
                run_date, updated_at, attempts
            )
            select
                invitation_id, contact_event_id, customer_id, customer_key, contact_type,
                contact_date, questionnaire_id, survey_url, email, customer_name, 'due',
                run_date, ?, 0
            from due
            on conflict (invitation_id) do update set
                email = excluded.email,
                customer_name = excluded.customer_name,
                survey_url = excluded.survey_url,
                run_date = excluded.run_date,
                updated_at = excluded.updated_at
            -- only an invitation not yet handed over takes the latest details
            where ledger.invitations.state = 'due'
            """,
            [datetime.now(UTC)],
        )
        rows = self.conn.execute(
            """
            select
                coalesce(ledger.attempts, 0),
                ledger.invitation_id, ledger.contact_event_id, ledger.customer_id,
                ledger.contact_type, ledger.contact_date, ledger.questionnaire_id,
                ledger.survey_url, ledger.email, ledger.customer_name,
                questionnaires.contact_description
            from ledger.invitations as ledger
            inner join due on ledger.invitation_id = due.invitation_id
            left join reference.kcm_questionnaires as questionnaires
                on ledger.contact_type = questionnaires.contact_type
            where ledger.state = 'due'
            order by ledger.invitation_id
            """
        ).fetchall()
        self.attempts = {row[1]: row[0] for row in rows}
        return [Invitation(*row[1:]) for row in rows]

    def sent_before(self) -> int:
        return self.conn.execute(
            "select count(*) from ledger.invitations where sent_on = ? and state = 'sent'",
            [self.run_date],
        ).fetchone()[0]

    def record(self, changes: Iterable[Change]) -> None:
        """Apply the changes in one transaction; applying them again changes nothing."""
        changes = merged(changes)
        if not changes:
            return
        columns = {
            "invitation_id": [c.invitation_id for c in changes],
            "state": [c.state for c in changes],
            "reply_code": [c.reply_code for c in changes],
            "error": [c.error for c in changes],
            "attempts": [c.attempts for c in changes],
            "at": [c.at for c in changes],
        }
        self.conn.execute(
            """
            update ledger.invitations as ledger
            set
                state = change.state,
                -- the date of the run that took it on and sent it, also when folded later
                sent_on = case when change.state = 'sent' then ledger.run_date end,
                last_reply_code = coalesce(change.reply_code, ledger.last_reply_code),
                error = change.error,
                attempts = change.attempts,
                last_attempt_at = change.at,
                updated_at = change.at
            from (
                select
                    unnest($invitation_id::varchar[]) as invitation_id,
                    unnest($state::varchar[]) as state,
                    unnest($reply_code::integer[]) as reply_code,
                    unnest($error::varchar[]) as error,
                    unnest($attempts::integer[]) as attempts,
                    unnest($at::timestamptz[]) as at
            ) as change
            where ledger.invitation_id = change.invitation_id
            """,
            columns,
        )
