"""The dbt project as Dagster sees it."""

import os
import sys
from pathlib import Path

from dagster_dbt import DbtProject

REPO_ROOT = Path(__file__).resolve().parent.parent

# Nothing may wait on a connection this network cannot open.
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")
# dagster-dbt runs `dbt` from PATH: use the one installed beside this interpreter, so the CLI
# works without activating the virtual environment.
os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"

dbt_project = DbtProject(project_dir=REPO_ROOT, profiles_dir=REPO_ROOT)
# Parse on every start so the asset graph always matches the models on disk (partial parsing
# keeps this to a few seconds).
dbt_project.preparer.prepare(dbt_project)
