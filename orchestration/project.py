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
# What dbt reads (dbt_project.yml's paths).
PROJECT_FILES = ("dbt_project.yml", "profiles.yml", "models", "macros", "seeds", "tests/dbt")


def manifest_is_stale() -> bool:
    """Whether a file or folder of the dbt project changed since the manifest was written (a
    folder's time changes when a file is added or removed)."""
    manifest = dbt_project.manifest_path
    if not manifest.exists():
        return True
    written = manifest.stat().st_mtime
    for name in PROJECT_FILES:
        path = REPO_ROOT / name
        paths = [path, *path.rglob("*")] if path.is_dir() else [path]
        if any(p.stat().st_mtime > written for p in paths):
            return True
    return False


# Parse when the project changed, so the asset graph always matches the models on disk; a run
# in production starts without parsing.
if manifest_is_stale():
    dbt_project.preparer.prepare(dbt_project)
