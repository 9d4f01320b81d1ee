"""The one persistent Dagster instance of a data folder: `feedback run`, `feedback ui` (`make ui`)
and the schedules it runs all record their runs there, so the UI shows every run, its
per-asset counts, its failures and the schedules' ticks.
"""

import os
import shutil
from pathlib import Path

import dagster as dg
from dagster._core.instance.ref import InstanceRef

from orchestration.project import REPO_ROOT


def dagster_home(data_dir: Path) -> Path:
    """`$DAGSTER_HOME` when set, else `dagster/` in the data folder; made, with the project's
    `dagster.yaml` (telemetry off, one run at a time), when it does not exist yet."""
    home = Path(os.environ.get("DAGSTER_HOME") or data_dir / "dagster").resolve()
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists():
        shutil.copyfile(REPO_ROOT / "dagster.yaml", home / "dagster.yaml")
    return home


def dagster_instance(data_dir: Path) -> dg.DagsterInstance:
    return dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(dagster_home(data_dir))))
