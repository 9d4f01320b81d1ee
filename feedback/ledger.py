"""The sender's ledger, `ledger.invitations`: the one record of what was sent.

The sender writes it and dbt reads it as a source. An invitation moves due -> sending -> sent, or
to failed (refused for good, or no valid message could be made). `sending` is recorded just
before the server commits a message; an invitation a stopped run left there may or may not have
reached the server, becomes `uncertain` and is never sent again: one customer must not get the
same e-mail twice, and its stable Message-ID lets anyone recognise it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime

import duckdb

from feedback.messages import Invitation

UNCERTAIN_REASON = (
    "a run stopped after handing this message to the mail server and before its answer was "
    "recorded; the server may have it, so it is not sent again (look for its Message-ID in the "
    "mail server's log)"
)


@dataclass(frozen=True)
class Change:
    """One invitation's new state, with the attempt that led to it."""

    invitation_id: str
    state: str
    reply_code: int | None = None
    error: str | None = None
    attempts: int = 1


def merged(changes: Iterable[Change]) -> list[Change]:
    """One change per invitation: its latest state, with the attempts added up."""
    latest: dict[str, Change] = {}
    for change in changes:
        earlier = latest.get(change.invitation_id)
        if earlier is not None:
            change = replace(change, attempts=earlier.attempts + change.attempts)
        latest[change.invitation_id] = change
    return list(latest.values())


class Ledger:
    def __init__(self, conn: duckdb.DuckDBPyConnection, run_date: date):
        self.conn = conn
        self.run_date = run_date

    def recover(self, written_to_outbox: set[str]) -> tuple[list[str], list[str]]:
        """Settle what a stopped run left open: an invitation whose message is in the outbox
        was sent; one left `sending` is `uncertain`. Returns (confirmed, uncertain) ids."""
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
            " updated_at = ? where invitation_id in (select unnest(?::varchar[]))",
            [now, confirmed],
        )
        self.conn.execute(
            "update ledger.invitations set state = 'uncertain', error = ?, updated_at = ?"
            " where invitation_id in (select unnest(?::varchar[]))",
            [UNCERTAIN_REASON, now, uncertain],
        )
        self.conn.commit()
        return confirmed, uncertain

    def take_on_due(self) -> list[Invitation]:
        """Record dbt's due invitations for the run date and return those still to send."""
        if not self.conn.execute(
            "select count(*) from information_schema.tables"
            " where table_schema = 'intermediate' and table_name = 'int_invitations__due'"
        ).fetchone()[0]:
            raise RuntimeError("intermediate.int_invitations__due is missing: dbt has not built it")
        planned = self.conn.execute(
            "select max(run_date) from intermediate.int_invitations__due"
        ).fetchone()[0]
        if planned is not None and planned != self.run_date:
            raise RuntimeError(
                f"int_invitations__due was built for {planned}, not for the run date "
                f"{self.run_date}: build the dbt models for this date first"
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
            from intermediate.int_invitations__due
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
                ledger.invitation_id, ledger.contact_event_id, ledger.customer_id,
                ledger.contact_type, ledger.contact_date, ledger.questionnaire_id,
                ledger.survey_url, ledger.email, ledger.customer_name,
                questionnaires.contact_description
            from ledger.invitations as ledger
            inner join intermediate.int_invitations__due as due
                on ledger.invitation_id = due.invitation_id
            left join reference.kcm_questionnaires as questionnaires
                on ledger.contact_type = questionnaires.contact_type
            where ledger.state = 'due'
            order by ledger.invitation_id
            """
        ).fetchall()
        return [Invitation(*row) for row in rows]

    def sent_before(self) -> int:
        return self.conn.execute(
            "select count(*) from ledger.invitations where sent_on = ? and state = 'sent'",
            [self.run_date],
        ).fetchone()[0]

    def record(self, changes: Iterable[Change]) -> None:
        """Apply the changes in one transaction."""
        changes = merged(changes)
        if not changes:
            return
        columns = {
            "invitation_id": [c.invitation_id for c in changes],
            "state": [c.state for c in changes],
            "reply_code": [c.reply_code for c in changes],
            "error": [c.error for c in changes],
            "attempts": [c.attempts for c in changes],
        }
        self.conn.execute(
            """
            update ledger.invitations as ledger
            set
                state = change.state,
                sent_on = case when change.state = 'sent' then $run_date end,
                last_reply_code = coalesce(change.reply_code, ledger.last_reply_code),
                error = change.error,
                attempts = coalesce(ledger.attempts, 0) + change.attempts,
                last_attempt_at = case
                    when change.attempts > 0 then $now else ledger.last_attempt_at
                end,
                updated_at = $now
            from (
                select
                    unnest($invitation_id::varchar[]) as invitation_id,
                    unnest($state::varchar[]) as state,
                    unnest($reply_code::integer[]) as reply_code,
                    unnest($error::varchar[]) as error,
                    unnest($attempts::integer[]) as attempts
            ) as change
            where ledger.invitation_id = change.invitation_id
            """,
            {**columns, "run_date": self.run_date, "now": datetime.now(UTC)},
        )
