"""Publish the quarter just ended as `public/klanttevredenheid.json`.

On every run the quarter before the run date's quarter is looked up in
`marts.quarterly_satisfaction`; the file is (re)written when that figure is new or changed, so
the first run of a quarter publishes it and a late delivery that moves the figure updates it.
A run for an earlier date never replaces a later quarter's figure.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from feedback.settings import Settings
from feedback.warehouse import connect

FILE_NAME = "klanttevredenheid.json"


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
    status: str  # published, unchanged, no_grades, newer_quarter_published
    quarter: str
    figure: dict | None = None


def publish_quarter(settings: Settings, run_date: date) -> Publication:
    quarter = previous_quarter(run_date)
    with connect(settings.warehouse_path) as conn:
        row = conn.execute(
            "select published_grade, response_count from marts.quarterly_satisfaction"
            " where quarter = ?",
            [quarter],
        ).fetchone()
    if row is None:
        return Publication("no_grades", quarter)
    published_grade, response_count = row
    target = settings.public_dir / FILE_NAME
    current = _read(target)
    if current is not None:
        if current.get("quarter", "") > quarter:
            return Publication("newer_quarter_published", quarter, current)
        if current.get("quarter") == quarter and current.get("average_grade") == float(
            published_grade
        ):
            return Publication("unchanged", quarter, current)
    figure = {
        "quarter": quarter,
        "average_grade": float(published_grade),
        "display": display(published_grade),
        "response_count": response_count,
        "published_on": run_date.isoformat(),
    }
    _write(target, figure)
    return Publication("published", quarter, figure)


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
