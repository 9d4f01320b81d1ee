"""What BI tools read: `reporting.duckdb` and `reporting/marts/*.parquet`, as of the last
completed run.

The last step of a run copies the schemas `marts` and `audit` out of the working warehouse into a
new file beside the old one and swaps it in with one rename, so a reader holding the old file
open is never blocked and never sees half a run; it sees the new run after reconnecting. The
Parquet files (one per mart) are written to a new folder and swapped in by replacing the link
`reporting/marts`. (The file is not called `marts.duckdb`: DuckDB names the catalog after the
file, which would make `marts.feedback_invitations` ambiguous.)
"""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

from feedback.core.settings import Settings
from feedback.core.warehouse import open_duckdb, path_literal, remove_database

REPORTED_SCHEMAS = ("marts", "audit")
REPORTING_FILE = "reporting.duckdb"


def write_reporting(settings: Settings) -> dict[str, int]:
    """Write and swap in the reporting copy; returns the rows per table."""
    data_dir = settings.data_dir
    target = data_dir / REPORTING_FILE
    partial = data_dir / f"{REPORTING_FILE}.partial"
    remove_database(partial)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    parquet_root = data_dir / "reporting"
    parquet_dir = parquet_root / f"marts-{stamp}"
    parquet_dir.mkdir(parents=True)

    try:
        rows = _copy_marts_and_audit(settings, partial, parquet_dir)
    except Exception:
        # Cut short (by a full disk, most likely): what was written would take the room the
        # next run needs.
        remove_database(partial)
        shutil.rmtree(parquet_dir, ignore_errors=True)
        raise
    os.replace(partial, target)
    _swap_link(parquet_root / "marts", parquet_dir.name)
    for old in parquet_root.glob("marts-*"):
        if old != parquet_dir:
            shutil.rmtree(old, ignore_errors=True)
    return rows


def _copy_marts_and_audit(settings: Settings, partial: Path, parquet_dir: Path) -> dict[str, int]:
    """Copy the reported schemas into `partial`, each mart also into `parquet_dir`; the rows
    per table."""
    rows: dict[str, int] = {}
    conn = open_duckdb(partial)
    try:
        conn.execute(f"attach {path_literal(settings.warehouse_path)} as warehouse (read_only)")
        tables = conn.execute(
            "select schema_name, table_name from duckdb_tables()"
            " where database_name = 'warehouse' and schema_name in ?"
            " union all select schema_name, view_name from duckdb_views()"
            " where database_name = 'warehouse' and schema_name in ?"
            " order by 1, 2",
            [list(REPORTED_SCHEMAS), list(REPORTED_SCHEMAS)],
        ).fetchall()
        for schema in REPORTED_SCHEMAS:
            conn.execute(f"create schema {schema}")
        for schema, table in tables:
            name = f'{schema}."{table}"'
            conn.execute(f"create table {name} as select * from warehouse.{name}")
            rows[f"{schema}.{table}"] = conn.execute(f"select count(*) from {name}").fetchone()[0]
            if schema == "marts":
                target_file = path_literal(parquet_dir / f"{table}.parquet")
                conn.execute(f"copy {name} to {target_file} (format parquet)")
        conn.execute("detach warehouse")
    finally:
        conn.close()
    return rows


def _swap_link(link: Path, target_name: str) -> None:
    """Point `link` at `target_name` (a sibling) with one rename."""
    fresh = link.with_name(f".{link.name}.new")
    fresh.unlink(missing_ok=True)
    fresh.symlink_to(target_name)
    if link.is_dir() and not link.is_symlink():
        # A copy of the data folder that followed the link (a restored backup) made it a folder
        # of an earlier run's files, which a rename cannot replace.
        shutil.rmtree(link)
    os.replace(fresh, link)
