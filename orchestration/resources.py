"""Run configuration shared by every asset of a run."""

from datetime import date

import dagster as dg

from feedback.settings import Settings, parse_run_date


class RunDate(dg.ConfigurableResource):
    """The run date D: the run acts as the scheduled run on the morning of D. A dry run composes
    every message but hands none over (`feedback run --dry-run` runs it on a scratch copy)."""

    as_of: str = ""
    dry_run: bool = False

    def date(self) -> date:
        return parse_run_date(self.as_of)


def settings() -> Settings:
    return Settings.from_env()


def run_config_for(run_date: date, dry_run: bool = False) -> dict:
    config: dict = {"as_of": run_date.isoformat()}
    if dry_run:
        config["dry_run"] = True
    return {"resources": {"run_date": {"config": config}}}
