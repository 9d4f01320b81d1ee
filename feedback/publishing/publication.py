"""Publish the quarter just ended: `public/klanttevredenheid.json`, with the website's snippet
and share image beside it (`feedback.publishing.website`).

The first run on or after the 1st of a quarter records the figure of the quarter just ended in
`ledger.publications`, from `int_quarters__figures` as it stands then. A published figure
stands: later runs never record that quarter again, so a late or corrected response changes
only the current figure in the marts. The files show the newest publication; they are written
when their content differs (a newly published quarter, or a file lost or damaged), never
otherwise. A run for an earlier date never publishes behind a later quarter's figure.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb

from feedback.core.settings import Settings
from feedback.core.warehouse import connect
from feedback.publishing import website

FILE_NAME = "klanttevredenheid.json"
QUARTER = re.compile(r"\d{4}-Q[1-4]")
RECORD = (
    "insert into ledger.publications (quarter, published_grade, response_count, average_grade,"
    " published_on, recorded_at) values (?, ?, ?, ?, ?, ?)"
)


def previous_quarter(run_date: date) -> str:
    quarter = (run_date.month - 1) // 3 + 1
    if quarter == 1:
        return f"{run_date.year - 1}-Q4"
    return f"{run_date.year}-Q{quarter - 1}"


def display(grade: Decimal) -> str:
    """The Dutch way of writing the figure: 8,1."""
    return f"{grade:.1f}".replace(".", ",")


@dataclass(frozen=True)
class Publication:
    status: str  # published, already_published, no_grades, newer_quarter_published
    quarter: str
    figure: dict | None = None


def publish_quarters(settings: Settings, run_dates: list[date]) -> list[Publication]:
    """What the runs of `run_dates`, in order, publish; the files then show the newest."""
    target = settings.public_dir / FILE_NAME
    with connect(settings.warehouse_path) as conn:
        _take_over(conn, _read(target))
        publications = [_publish(conn, run_date) for run_date in run_dates]
        newest = _newest(conn)
    if newest is not None:
        # The JSON is written last: a stop before it leaves it stale, so the next run makes all
        # three again; otherwise only a snippet or image gone missing is made again.
        stale = _read(target) != newest
        website.write(settings.public_dir, newest, missing_only=not stale)
        if stale:
            _write(target, newest)
    return publications


def _publish(conn: duckdb.DuckDBPyConnection, run_date: date) -> Publication:
    quarter = previous_quarter(run_date)
    newest = _newest(conn)
    figure = _figure(conn, quarter)
    if newest is not None and newest["quarter"] > quarter:
        return Publication("newer_quarter_published", quarter, figure)
    if figure is not None:
        return Publication("already_published", quarter, figure)
    status = _record(conn, quarter, run_date)
    return Publication(status, quarter, _figure(conn, quarter))


def _record(conn: duckdb.DuckDBPyConnection, quarter: str, run_date: date) -> str:
    """Fix the quarter's figure as the warehouse knows it now."""
    try:
        row = conn.execute(
            "select rounded_grade, response_count, average_grade"
            " from intermediate.int_quarters__figures where quarter = ?",
            [quarter],
        ).fetchone()
    except duckdb.CatalogException as missing:
        raise RuntimeError(
            "intermediate.int_quarters__figures is missing: dbt has not built it"
        ) from missing
    if row is None:
        return "no_grades"
    conn.execute(
        RECORD,
        [quarter, *row, run_date, datetime.now(UTC)],
    )
    return "published"


def _take_over(conn: duckdb.DuckDBPyConnection, published: dict | None) -> None:
    """A figure published before the ledger kept publications stands as the file shows it."""
    quarter = published.get("quarter") if isinstance(published, dict) else None
    if not isinstance(quarter, str) or not QUARTER.fullmatch(quarter):
        return  # not a figure this software wrote: the ledger's newest replaces it
    if _figure(conn, quarter) is not None:
        return
    try:
        row = [
            quarter,
            Decimal(str(published["average_grade"])),
            int(published["response_count"]),
            None,
            date.fromisoformat(published["published_on"]),
            datetime.now(UTC),
        ]
    except (KeyError, TypeError, ValueError, ArithmeticError):
        return
    conn.execute(RECORD, row)


def _figure(conn: duckdb.DuckDBPyConnection, quarter: str | None) -> dict | None:
    row = conn.execute(
        "select quarter, published_grade, response_count, published_on"
        " from ledger.publications where quarter = ?",
        [quarter],
    ).fetchone()
    return _as_json(row)


def _newest(conn: duckdb.DuckDBPyConnection) -> dict | None:
    row = conn.execute(
        "select quarter, published_grade, response_count, published_on"
        " from ledger.publications order by quarter desc limit 1"
    ).fetchone()
    return _as_json(row)


def _as_json(row) -> dict | None:
    if row is None:
        return None
    quarter, grade, count, published_on = row
    return {
        "quarter": quarter,
        "average_grade": float(grade),
        "display": display(grade),
        "response_count": count,
        "published_on": published_on.isoformat(),
    }


def _read(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (ValueError, OSError):
        # An unreadable file is replaced rather than trusted.
        return None


def _write(path: Path, figure: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".json.partial")
    partial.write_text(json.dumps(figure, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    os.replace(partial, path)
