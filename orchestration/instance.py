"""The one persistent Dagster instance of a data folder: `feedback run`, `feedback ui` (`make ui`)
and the schedules it runs all record their runs there, so the UI shows every run, its
per-asset counts, its failures and the schedules' ticks.
"""

import os
import shutil
from pathlib import Path

import dagster as dg
import yaml

from feedback.core.settings import environment
from orchestration import private_speedups
from orchestration.project import REPO_ROOT

# Settings that choose the instance's storage: when dagster.yaml has one, it is used as written.
_STORAGE_SETTINGS = ("storage", "run_storage", "event_log_storage", "schedule_storage")


def dagster_home(data_dir: Path) -> Path:
    """`$DAGSTER_HOME` when set, else `dagster/` in the data folder; made, with the project's
    `dagster.yaml` (telemetry off, one run at a time), when it does not exist yet."""
    home = Path(os.environ.get("DAGSTER_HOME") or data_dir / "dagster").resolve()
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists():
        shutil.copyfile(REPO_ROOT / "dagster.yaml", home / "dagster.yaml")
    return home


def dagster_instance(data_dir: Path) -> dg.DagsterInstance:
    """The data folder's instance. Unless its dagster.yaml chooses a storage of its own, or
    `FEEDBACK_PUBLIC_APIS_ONLY` is set, its event log is written through
    `orchestration.private_speedups.PooledSqliteEventLogStorage`, into the same files."""
    home = dagster_home(data_dir)
    chosen = set(_STORAGE_SETTINGS) & set(yaml.safe_load((home / "dagster.yaml").read_text()) or {})
    if private_speedups.enabled() and not chosen:
        return private_speedups.pooled_instance(home)
    with environment(DAGSTER_HOME=str(home)):
        return dg.DagsterInstance.get()
