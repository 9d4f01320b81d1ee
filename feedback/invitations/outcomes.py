"""Contact outcomes decided for good, kept in `ledger.contact_outcomes`.

Once a contact is past the catch-up bound nothing more can happen to it, and the rules'
outcome for it (invited, or why not) is final. It is kept then, because three months later
masking clears what the rules read (the contact's customer id and address, the customer id on
older invitations) and they could no longer tell. `marts.contact_outcomes` shows what was kept.
It is taken after each date's sending, so that over a range every date keeps what the run of
that date alone would. The rules then leave a kept contact alone (they read only the contacts
still open), so a day's work does not grow with the history.
"""

from __future__ import annotations

from datetime import date

from feedback.core.settings import Settings
from feedback.core.warehouse import connect

# With each kept outcome, what the rules had seen: the catch-up bound of the date and the last
# contact delivery in staging. Every contact inside both was decided and is kept now, which lets
# the rules leave them out before looking them up in the kept outcomes.
_KEEP_DECIDED = """
    insert into ledger.contact_outcomes
        (contact_event_id, outcome, invitation_id, invitation_sent_on, blocking_invitation_id,
         blocking_sent_on, decided_on, recorded_at, catch_up_bound, seen_through_ingestion_id)
    select
        contact_event_id, outcome, invitation_id, invitation_sent_on, blocking_invitation_id,
        blocking_sent_on, run_date, now(), catch_up_bound,
        (select max(ingestion_id) from staging.stg_contacts__events)
    from intermediate.int_contacts__outcomes
    where is_decided
"""


def keep_decided(settings: Settings, run_date: date) -> int:
    """Keep the outcomes the rules decided for good on `run_date`; how many were new."""
    with connect(settings.warehouse_path, run_date) as conn:
        return conn.execute(_KEEP_DECIDED).fetchone()[0]
