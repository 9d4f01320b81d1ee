"""Whether a source has gone silent: how old its newest record is on the run date, against the
thresholds of the settings (`FEEDBACK_FRESHNESS_CONTACTS`, `FEEDBACK_FRESHNESS_KCM`).

The age is measured from the records' own dates (a contact's date, a response's completion
date), not from when files were loaded: a range run, which loads every file on its first date,
and a run for a date in the past judge a source as the run of that morning would. A quarterly
figure computed while KCM had stopped delivering would otherwise move for no reason anyone sees.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from feedback.core.settings import Freshness, Settings
from feedback.core.warehouse import connect

# Per source: what its records are called, and the staged date of each.
_NEWEST = {
    "contact_events": (
        "contact",
        "select max(contact_date) from staging.stg_contacts__events where contact_date < ?",
    ),
    "kcm_responses": (
        "KCM response",
        "select max(completed_on) from staging.stg_kcm__responses where completed_on < ?",
    ),
}


@dataclass(frozen=True)
class SourceAge:
    source: str
    newest: date | None
    age_days: int | None
    threshold: Freshness
    record: str

    @property
    def level(self) -> str:
        """`ok`, `warn` or `error`."""
        if self.age_days is None:
            return "ok"
        error, warn = self.threshold.error_after_days, self.threshold.warn_after_days
        if error is not None and self.age_days > error:
            return "error"
        if warn is not None and self.age_days > warn:
            return "warn"
        return "ok"

    def describe(self) -> str:
        if self.newest is None:
            return f"no {self.record} loaded yet"
        limits = [
            f"{level} after {days}"
            for level, days in (
                ("warn", self.threshold.warn_after_days),
                ("error", self.threshold.error_after_days),
            )
            if days is not None
        ]
        return (
            f"no {self.record} for {self.age_days} days: the newest is of {self.newest}"
            f" ({', '.join(limits)})"
        )


def source_ages(settings: Settings, run_date: date) -> list[SourceAge]:
    """Each source with a threshold, and how old its newest record before `run_date` is."""
    ages = []
    with connect(settings.warehouse_path) as conn:
        for source, threshold in settings.alerts.freshness.items():
            if threshold.warn_after_days is None and threshold.error_after_days is None:
                continue
            record, query = _NEWEST[source]
            (newest,) = conn.execute(query, [run_date]).fetchone()
            # The whole days before the run date with none: 0 when the newest is of yesterday.
            age = (run_date - newest).days - 1 if newest else None
            ages.append(SourceAge(source, newest, age, threshold, record))
    return ages
