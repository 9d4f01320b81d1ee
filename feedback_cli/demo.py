"""`feedback demo`: a year of generated deliveries, run as the scheduled runs would, then the story.

On a data folder without loaded deliveries it writes a year of daily landing files for a few
thousand customers with the project's generator (`feedback.landing.synthetic`: contacts of every
type, bad addresses, opt-outs, KCM's answers, late and corrected ones, malformed rows), and runs
every date from 1 April 2025 to 1 April 2026 as one range run (`feedback run --from --to`), showing
its progress. Four quarters are published on the way, each with its report. It ends with the figure
per quarter, the funnel from contact to response, and where to look next. A folder where runs
already loaded deliveries is only shown.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta

from feedback.core.settings import Settings, environment
from feedback.core.warehouse import connect
from feedback.landing.synthetic import Population, SyntheticData
from feedback.publishing.publication import FILE_NAME
from feedback.publishing.website import HTML_NAME, PNG_NAME
from feedback_cli.run import execute_run
from feedback_cli.summary import print_summary

CUSTOMERS = 2000
# Left in landing/ by the demo (the loader passes over dotfiles): its own files wait there.
DEMO_MARK = ".written-by-feedback-demo"
FIRST_RUN = date(2025, 4, 1)
LAST_RUN = date(2026, 4, 1)
# Outcomes of the quiet period, the 28-day rule by default (see the docs of marts.contact_outcomes).
HELD_BACK = {
    "emailed_within_quiet_period": "an e-mail shortly before the contact",
    "later_contact_chosen": "a later contact of the customer was invited instead",
    "emailed_after_contact": "an e-mail went out after the contact, before it arrived",
}
OTHER_OUTCOMES = {
    "no_valid_email": "no valid e-mail address",
    "opted_out": "opted out",
    "past_catch_up_bound": "arrived after the catch-up bound",
    "invitation_failed": "the mail server refused it",
    "delivery_uncertain": "a stopped run may have sent it",
    "due": "due, not sent yet",
    "awaiting_next_run": "on or after the last run date: the next run decides",
}


def run_demo(settings: Settings, verbose: bool = False) -> int:
    if _has_deliveries(settings):
        print(f"{settings.data_dir} already holds loaded deliveries; showing them as they are.")
        print("Start over with `make clean` (or another FEEDBACK_DATA_DIR) to simulate again.")
        show_result(settings)
        return 0

    waiting = _deliveries_of_others(settings)
    if waiting:
        raise ValueError(
            f"{settings.landing_dir} holds {waiting} file(s) no run has loaded yet, which the demo"
            " would load with its generated year; it runs on a data folder without deliveries:"
            " set FEEDBACK_DATA_DIR to an empty folder"
        )
    settings.landing_dir.mkdir(parents=True, exist_ok=True)
    (settings.landing_dir / DEMO_MARK).touch()
    print(f"Generating a year of deliveries for {CUSTOMERS} customers (feedback.landing.synthetic)")
    population = Population(CUSTOMERS, FIRST_RUN - timedelta(days=1), LAST_RUN - timedelta(days=1))
    with SyntheticData(population) as data:
        delivered = data.write(settings.landing_dir, FIRST_RUN, LAST_RUN)
    print(
        f"  {delivered.files} files in {settings.landing_dir}: {delivered.contacts} contacts,"
        f" {delivered.opt_outs} opt-outs, {delivered.responses} KCM responses"
    )
    print(
        f"\n== feedback run --from {FIRST_RUN} --to {LAST_RUN}: the year's {_days()} daily runs"
        " as one run =="
    )
    if settings.smtp:
        print(
            f"  FEEDBACK_SMTP_HOST is set; the demo writes its invitations to {settings.outbox_dir}"
            " all the same: its addresses are made up, and some may be real people's."
        )
    settings = dataclasses.replace(settings, smtp=None)
    started = datetime.now(UTC)
    with environment(FEEDBACK_SMTP_HOST=None):  # the run's steps read it there
        metadata = execute_run(settings, FIRST_RUN, verbose=verbose, until=LAST_RUN)
    print_summary(settings, FIRST_RUN, metadata, started, until=LAST_RUN)
    show_result(settings)
    return 0


def _days() -> int:
    return (LAST_RUN - FIRST_RUN).days + 1


def _has_deliveries(settings: Settings) -> bool:
    """Whether a run loaded files here (an empty warehouse, e.g. from `dbt build`, has none)."""
    if not settings.warehouse_path.exists():
        return False
    with connect(settings.warehouse_path) as conn:
        return conn.execute("select count(*) from raw.ingestions").fetchone()[0] > 0


def _deliveries_of_others(settings: Settings) -> int:
    """How many files wait in landing/ that a demo did not write (a demo stopped before its
    run loaded them left its mark)."""
    landing = settings.landing_dir
    if not landing.is_dir() or (landing / DEMO_MARK).exists():
        return 0
    return sum(1 for path in landing.rglob("[!.]*") if path.is_file())


def show_result(settings: Settings) -> None:
    with connect(settings.warehouse_path) as conn:
        quarters = conn.execute(
            "select quarter, published_grade, response_count, published_on,"
            " current_response_count, current_average_grade, average_grade"
            " from marts.quarterly_satisfaction order by quarter"
        ).fetchall()
        outcomes = dict(
            conn.execute(
                "select outcome, count(*) from marts.contact_outcomes group by outcome"
            ).fetchall()
        )
        responses, known = conn.execute(
            "select count(*), count(*) filter (where has_known_invitation)"
            " from marts.survey_responses"
        ).fetchone()
        rejected = conn.execute(
            "select source, count(*) from audit.rejected_records group by source order by source"
        ).fetchall()

    print("\n== the figure per quarter (marts.quarterly_satisfaction) ==")
    for quarter, grade, count, published_on, current_count, current_mean, mean in quarters:
        line = f"  {quarter}: {grade} over {count} grades, published {published_on}"
        if current_count != count:
            line += (
                f"; {current_count - count} grade(s) delivered since"
                f" (mean now {current_mean:.2f}, was {mean:.2f}): the published figure stands"
            )
        print(line)

    contacts = sum(outcomes.values())
    surveyed = contacts - outcomes.get("not_surveyed_type", 0)
    print("\n== from contact to response (marts.contact_outcomes, marts.survey_responses) ==")
    print(f"  contacts                                  {contacts:7}")
    print(f"  of a type KCM surveys                     {surveyed:7}")
    for outcome, why in HELD_BACK.items():
        print(f"    held back by the quiet period: {why}: {outcomes.get(outcome, 0)}")
    for outcome, why in OTHER_OUTCOMES.items():
        if outcomes.get(outcome):
            print(f"    not invited, {why}: {outcomes[outcome]}")
    print(f"  invited                                   {outcomes.get('invited', 0):7}")
    print(f"  responses                                 {responses:7}")
    print(f"    answering an invitation in the ledger   {known:7}")
    print(
        f"  rows rejected (audit.rejected_records)    {sum(n for _, n in rejected):7}  ("
        + ", ".join(f"{source}: {n}" for source, n in rejected)
        + ")"
    )

    public = settings.public_dir
    print("\n== where to look next ==")
    if (public / FILE_NAME).exists():
        print(f"  the website's figure: {public / FILE_NAME}")
        print(f"    its snippet (open it in a browser) {public / HTML_NAME}")
        print(f"    and the share image for social media {public / PNG_NAME}")
    reports = sorted(settings.reports_dir.glob("*.html"))
    if reports:
        print(f"  the quarterly report, for internal readers: {reports[-1]} (open it in a browser)")
    print(f"  BI tools: {settings.data_dir / 'reporting.duckdb'} (read-only; schemas marts, audit)")
    print("  the runs and the asset graph: make ui, then http://127.0.0.1:3000")
    print("  the models and their docs: .venv/bin/dbt docs generate && .venv/bin/dbt docs serve")
    print("  why a customer got no e-mail: analyses/why_no_invitation.sql")
