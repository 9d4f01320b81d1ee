"""Run configuration shared by every asset of a run."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta

import dagster as dg

from feedback.core.run_lock import run_lock
from feedback.core.settings import Settings, parse_run_date


class RunDate(dg.ConfigurableResource):
    """The run date D: the run acts as the scheduled run on the morning of D. With `until`, the
    run does what the runs of every date from D to `until` one after the other would (the files
    in landing/ load on D). A dry run composes every message but hands none over (`feedback run
    --dry-run` runs it on a scratch copy). A run holds the data folder's lock while it uses this
    resource: one run at a time."""

    as_of: str = ""
    until: str = ""
    dry_run: bool = False

    def date(self) -> date:
        """The run date, or the first of the range."""
        return parse_run_date(self.as_of)

    def last(self) -> date:
        """The last run date of the range (the run date when there is no range)."""
        return parse_run_date(self.until) if self.until else self.date()

    def dates(self) -> list[date]:
        """Every run date, in order."""
        first, last = self.date(), self.last()
        if last < first:
            raise ValueError(f"the range {first} to {last} ends before it starts")
        return [first + timedelta(days=n) for n in range((last - first).days + 1)]

    @contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator["RunDate"]:
        # Every step uses this resource, and the jobs execute in process: the lock is held
        # from the first step to the last (the CLI already holds it for its own runs).
        with run_lock(settings().data_dir):
            yield self


def settings() -> Settings:
    return Settings.from_env()


def run_config_for(run_date: date, dry_run: bool = False, until: date | None = None) -> dict:
    config: dict = {"as_of": run_date.isoformat()}
    if until is not None and until != run_date:
        config["until"] = until.isoformat()
    if dry_run:
        config["dry_run"] = True
    return {"resources": {"run_date": {"config": config}}}
