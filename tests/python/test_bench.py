"""`make bench`'s repeated daily run: each run starts from the same data folder, and the median
counts. (What runs cost is measured by running the benchmark, not by a test.)"""

from __future__ import annotations

import importlib.util
import sys
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _bench():
    spec = importlib.util.spec_from_file_location("bench", REPO / "benchmarks" / "bench.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look themselves up there
    spec.loader.exec_module(module)
    return module


def test_the_daily_run_starts_from_the_same_state_each_time_and_its_median_counts(
    tmp_path, monkeypatch
):
    bench = _bench()
    data = tmp_path / "customers-1000"
    (data / "reporting" / "marts-1").mkdir(parents=True)
    (data / "reporting" / "marts").symlink_to("marts-1")
    (data / "warehouse.duckdb").write_text("before the daily run")
    seen = []
    seconds = iter([7.4, 6.9, 8.3])

    def feedback_run(folder: Path, *args: str):
        seen.append(
            (
                (folder / "warehouse.duckdb").read_text(),
                (folder / "reporting" / "marts").is_symlink(),
                args,
            )
        )
        (folder / "warehouse.duckdb").write_text("after a daily run")
        (folder / "outbox").mkdir(exist_ok=True)
        return bench.Measured(next(seconds), 0.3, {}, {})

    monkeypatch.setattr(bench, "feedback_run", feedback_run)
    measured, _ = bench._daily_runs(data, date(2026, 11, 3), 3)

    assert seen == [("before the daily run", True, ("--as-of", "2026-11-03"))] * 3
    assert measured.seconds == 7.4
    # The folder is left as the last run left it, and the saved copy is gone.
    assert (data / "warehouse.duckdb").read_text() == "after a daily run"
    assert [p.name for p in tmp_path.iterdir()] == ["customers-1000"]
