"""Invitations: the sender's ledger settled after a stopped run, then the invitations due sent.

Over a range of dates the sender goes through them in order, each as the run of that date would
(the rules' views answer for the date asked: see `feedback.core.warehouse.connect`), on one
connection to the warehouse.
"""

from dataclasses import asdict

import dagster as dg

from feedback.core.progress import date_by_date, log
from feedback.core.warehouse import held
from feedback.invitations.outcomes import keep_decided
from feedback.invitations.sending import SendSummary, send_due_invitations, settle_interrupted
from feedback.invitations.transports import DryRunTransport
from orchestration.resources import RunDate, settings

LEDGER_KEY = dg.AssetKey(["ledger", "invitations"])


@dg.asset(key=LEDGER_KEY, group_name="invitations")
def ledger_settled(context: dg.AssetExecutionContext, run_date: RunDate):
    """The sender's ledger with what a stopped run left open settled, before the rules read it:
    messages found in outbox/ are sent, one left `sending` is `uncertain` (never sent again)."""
    confirmed, uncertain = settle_interrupted(settings(), run_date.date())
    return dg.MaterializeResult(
        metadata={"recovered_as_sent": len(confirmed), "uncertain": len(uncertain)}
    )


@dg.asset(
    key=["invitations", "invitation_emails"],
    deps=[dg.AssetKey(["intermediate", "int_invitations__due"]), LEDGER_KEY],
    group_name="invitations",
)
def invitation_emails(context: dg.AssetExecutionContext, run_date: RunDate):
    """The invitations due on D, sent (SMTP or outbox/) and recorded in ledger.invitations; then
    the contact outcomes decided for good kept in ledger.contact_outcomes. Over a range, date
    by date."""
    transport = DryRunTransport() if run_date.dry_run else None

    def send_and_keep_decided(day):
        sent = send_due_invitations(settings(), day, transport)
        return sent, keep_decided(settings(), day)

    log.info("sending the invitations due")
    with held(settings().warehouse_path):
        results = date_by_date(
            run_date.dates(),
            send_and_keep_decided,
            lambda so_far: f"{SendSummary.total([sent for sent, _ in so_far]).sent} sent",
            "sending",
        )
    total = SendSummary.total([sent for sent, _ in results])
    return dg.MaterializeResult(
        metadata={**asdict(total), "outcomes_decided": sum(kept for _, kept in results)}
    )
