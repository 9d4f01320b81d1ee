"""`make bench`: what a run costs as history grows, measured end to end, with the goals.

For each size (by default 10 thousand and 1 million customers, about 5 contacts and 1 KCM response
per customer a year) the generator of `feedback.landing.synthetic` makes two years of history,
delivered as one file per source. Then, each as a `feedback run` process of its own on a fresh
data folder:

1. the first run over that history (loading, the whole rule, sending the last 14 days' invitations
   to outbox/, masking, marts), with the time of each step from the Dagster instance;
2. a daily run on top of it, the next morning's delivery (at the first size three times from the
   same state, the median counting: its few seconds move by half a second from run to run);
3. the floor: the SQL that daily run's dbt builds executed, straight in DuckDB, on a copy of the
   warehouse as it was before that run;
4. at the first size only: `feedback run --from D1 --to D2` over the next 92 days, their
   deliveries all waiting in landing/ (as a backfill finds them).

Peak memory is the run's high-water mark of resident memory, and the largest resident set while
each step ran (sampled every 0.1 s). Prints each goal as met or NOT met. `make bench-quick`
runs the same at a small size, for CI.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from feedback.landing.synthetic import Population, SyntheticData  # noqa: E402

HISTORY_DAYS = 730
# The first run's date: the history ends the day before.
FIRST_RUN = date(2026, 11, 2)
GOALS = {
    "daily_small_s": 8.0,
    "daily_ratio": 1.5,
    "first_large_s": 90.0,
    "peak_gb": 3.0,
    "range_small_s": 90.0,
}
SENDING_STEP = "invitations__invitation_emails"
# The smallest size's daily run has a goal in seconds it is close to: it runs this many times
# from the same state, and the median counts.
SMALL_DAILY_RUNS = 3
# The two steps that write a whole file, whatever a day changed: the warehouse rewritten after
# masking (no free block may keep a masked value) and the BI copy (`reporting.duckdb` is
# replaced as a whole). Shown apart: the daily ratio's goal predates both.
WHOLE_FILE_STEPS = ("privacy__warehouse_compaction", "reporting__bi_copy")
# What the first-run goal names: "loading and the whole rule".
LOADING_AND_RULES = ("load_landing_files", "dbt_rules")


@dataclass
class Measured:
    seconds: float
    peak_gb: float
    steps: dict[str, float]
    # The largest resident set sampled while each step ran.
    step_peaks_gb: dict[str, float] = field(default_factory=dict)

    @property
    def sending_aside(self) -> float:
        return self.seconds - self.steps.get(SENDING_STEP, 0.0)

    def of(self, steps: tuple[str, ...]) -> float:
        return sum(self.steps.get(step, 0.0) for step in steps)


def feedback_run(data_dir: Path, *args: str) -> Measured:
    """`feedback run ARGS` as a process of its own: wall time, peak memory, seconds per step."""
    env = {**os.environ, "FEEDBACK_DATA_DIR": str(data_dir)}
    for name in ("FEEDBACK_SMTP_HOST", "DAGSTER_HOME"):
        env.pop(name, None)
    started = time.perf_counter()
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("feedback")), "run", *args],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    sampler = MemorySampler(process.pid)
    sampler.start()
    output = process.stdout.read()
    sampler.stop.set()
    sampler.join()
    _, status = os.waitpid(process.pid, 0)
    seconds = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 3):
        raise SystemExit(f"feedback run {' '.join(args)} failed ({code}):\n{output}")
    steps = _step_times(data_dir)
    return Measured(
        seconds,
        sampler.high_water_kb / 1024**2,
        {step: end - start for step, (start, end) in steps.items()},
        {step: sampler.peak_gb(start, end) for step, (start, end) in steps.items()},
    )


class MemorySampler(threading.Thread):
    """The resident set of a process every 0.1 s, and its high-water mark, until `stop` is set.

    The high-water mark (VmHWM) counts from the process's start, so unlike the rusage that
    wait4 reports, it does not include this process's own resident set, which the child
    inherits at the fork (this one holds a million customers' generator)."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.stop = threading.Event()
        self.samples: list[tuple[float, int]] = []
        self.high_water_kb = 0

    def run(self) -> None:
        status = Path(f"/proc/{self.pid}/status")
        while not self.stop.wait(0.1):
            try:
                text = status.read_text()
            except OSError:
                return
            rss = re.search(r"^VmRSS:\s+(\d+) kB", text, re.MULTILINE)
            high_water = re.search(r"^VmHWM:\s+(\d+) kB", text, re.MULTILINE)
            if rss and high_water:
                self.samples.append((time.time(), int(rss[1])))
                self.high_water_kb = max(self.high_water_kb, int(high_water[1]))

    def peak_gb(self, start: float, end: float) -> float:
        return max((kb for at, kb in self.samples if start <= at <= end), default=0) / 1024**2


def _step_times(data_dir: Path) -> dict[str, tuple[float, float]]:
    """When each step of the data folder's latest run started and ended (epoch seconds), in
    the order they started, from its Dagster instance."""
    from orchestration.instance import dagster_instance

    with dagster_instance(data_dir) as instance:
        run = instance.get_runs(limit=1)[0]
        stats = [s for s in instance.get_run_step_stats(run.run_id) if s.end_time and s.start_time]
        return {
            s.step_key: (s.start_time, s.end_time)
            for s in sorted(stats, key=lambda s: s.start_time)
        }


def floor_seconds(data_dir: Path, warehouse_before: Path, since: float) -> float:
    """The dbt SQL a run started at `since` executed (models and data tests, in the order they
    ran), straight in DuckDB on `warehouse_before`."""
    # dbt writes each node's SQL under run/ in the data folder's dbt state as it starts it.
    statements = sorted(
        (
            path
            for path in (data_dir / "dbt" / "run").rglob("*.sql")
            if path.stat().st_mtime >= since
        ),
        key=lambda path: path.stat().st_mtime,
    )
    conn = duckdb.connect(str(warehouse_before))
    started = time.perf_counter()
    for path in statements:
        # dbt-duckdb names the database after the file; the copy has another name.
        sql = path.read_text().replace('"warehouse".', "")
        # An incremental model's statements read its new rows from a temporary table, made of
        # the model's compiled SELECT.
        temporary = re.search(r'"(\w+__dbt_tmp\d+)"', sql)
        if temporary:
            compiled = Path(str(path).replace("/dbt/run/", "/dbt/compiled/", 1))
            select = compiled.read_text().replace('"warehouse".', "")
            conn.execute(f'create temp table "{temporary[1]}" as {select}')
        conn.execute(sql)
    seconds = time.perf_counter() - started
    conn.close()
    return seconds


def _daily_runs(data_dir: Path, daily: date, repeats: int) -> tuple[Measured, float]:
    """The daily run, `repeats` times from the same data folder (copied before and put back
    between runs): the one of median time, and when the last run started. Its few seconds move
    by half a second or more from one run to the next on this machine."""
    saved = data_dir.with_name(f"{data_dir.name}-before-daily")
    if repeats > 1:
        shutil.copytree(data_dir, saved, symlinks=True)
    runs = []
    for n in range(repeats):
        if n:
            shutil.rmtree(data_dir)
            shutil.copytree(saved, data_dir, symlinks=True)
        since = time.time()
        runs.append(feedback_run(data_dir, "--as-of", daily.isoformat()))
    shutil.rmtree(saved, ignore_errors=True)
    if repeats > 1:
        print(f"  daily run {repeats} times: {', '.join(f'{r.seconds:.1f}' for r in runs)} s")
    return sorted(runs, key=lambda r: r.seconds)[repeats // 2], since


def bench_size(customers: int, keep: Path, with_range: bool, daily_repeats: int = 1) -> dict:
    last_day = FIRST_RUN + timedelta(days=92)
    population = Population(customers, FIRST_RUN - timedelta(days=HISTORY_DAYS), last_day)
    data_dir = keep / f"customers-{customers}"
    landing = data_dir / "landing"
    figures: dict = {"customers": customers}
    started = time.perf_counter()
    with SyntheticData(population) as synthetic:
        history_start = population.first_day + timedelta(days=1)
        synthetic.write(landing, history_start, FIRST_RUN, one_file=True)
        figures["generated_s"] = time.perf_counter() - started
        figures["population"] = synthetic.counts()
        print(f"\n{customers:,} customers: {figures['population']}", flush=True)

        figures["first"] = feedback_run(data_dir, "--as-of", FIRST_RUN.isoformat())
        _report("first run over two years", figures["first"])
        before = data_dir.parent / f"before-daily-{customers}.duckdb"
        shutil.copyfile(data_dir / "warehouse.duckdb", before)

        daily = FIRST_RUN + timedelta(days=1)
        synthetic.write(landing, daily, daily)
        figures["daily"], since = _daily_runs(data_dir, daily, daily_repeats)
        _report("daily run", figures["daily"])
        figures["floor_s"] = floor_seconds(data_dir, before, since)
        print(f"  the daily run's dbt SQL straight in DuckDB: {figures['floor_s']:.1f} s")
        before.unlink()

        if with_range:
            first, last = daily + timedelta(days=1), daily + timedelta(days=92)
            synthetic.write(landing, first, last)
            figures["range"] = feedback_run(
                data_dir, "--from", first.isoformat(), "--to", last.isoformat()
            )
            _report("92 days in one range run", figures["range"])
    shutil.rmtree(data_dir)
    return figures


def _report(what: str, measured: Measured) -> None:
    steps = ", ".join(
        f"{step} {seconds:.1f}"
        for step, seconds in sorted(measured.steps.items(), key=lambda item: -item[1])
    )
    print(
        f"  {what}: {measured.seconds:.1f} s ({measured.sending_aside:.1f} s sending aside),"
        f" peak {measured.peak_gb:.2f} GB",
        flush=True,
    )
    if steps:
        print(f"    steps (s): {steps}")
        # In the order the steps ran: memory a step takes and keeps shows as a step up.
        peaks = ", ".join(f"{step} {gb:.2f}" for step, gb in measured.step_peaks_gb.items())
        print(f"    largest resident set while each step ran, in run order (GB): {peaks}")


def _goal(text: str, value: float, goal: float, unit: str) -> bool:
    met = value <= goal
    print(
        f"  {'met    ' if met else 'NOT met'}  {text}: {value:.1f}{unit} (goal <= {goal:g}{unit})"
    )
    return met


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--customers",
        type=int,
        nargs="+",
        default=[10_000, 1_000_000],
        help="the sizes, smallest first (default: 10000 1000000)",
    )
    parser.add_argument("--no-range", action="store_true", help="skip the 92-day range run")
    args = parser.parse_args()
    sizes = sorted(args.customers)
    with tempfile.TemporaryDirectory(prefix="feedback-bench-") as folder:
        results = [
            bench_size(
                n,
                Path(folder),
                with_range=i == 0 and not args.no_range,
                daily_repeats=SMALL_DAILY_RUNS if i == 0 else 1,
            )
            for i, n in enumerate(sizes)
        ]
    small, large = results[0], results[-1]
    print("\ngoals (this machine):")
    met = [
        _goal(
            f"daily run at {small['customers']:,} customers (the median of {SMALL_DAILY_RUNS})",
            small["daily"].seconds,
            GOALS["daily_small_s"],
            " s",
        )
    ]
    if len(results) > 1:
        ratio = large["daily"].sending_aside / small["daily"].sending_aside
        met.append(
            _goal(
                f"daily run at {large['customers']:,} / at {small['customers']:,} (sending aside)",
                ratio,
                GOALS["daily_ratio"],
                "x",
            )
        )
    met.append(
        _goal(
            f"first run at {large['customers']:,} customers (sending aside)",
            large["first"].sending_aside,
            GOALS["first_large_s"],
            " s",
        )
    )
    peak = max(r[k].peak_gb for r in results for k in ("first", "daily", "range") if k in r)
    met.append(_goal("peak memory of any run", peak, GOALS["peak_gb"], " GB"))
    if "range" in small:
        met.append(
            _goal(
                f"92-day range at {small['customers']:,} customers",
                small["range"].seconds,
                GOALS["range_small_s"],
                " s",
            )
        )
    for result in results:
        print(
            f"  ratio at {result['customers']:,}: daily run / its dbt SQL in DuckDB"
            f" {result['daily'].seconds / max(result['floor_s'], 0.001):.0f}x"
        )
    print("\nbeside the goals (figures for deciding them, not goals):")
    if len(results) > 1:
        small_writes, large_writes = (r["daily"].of(WHOLE_FILE_STEPS) for r in (small, large))
        small_rest = small["daily"].sending_aside - small_writes
        large_rest = large["daily"].sending_aside - large_writes
        print(
            f"  daily run at {large['customers']:,} / at {small['customers']:,}, sending and the"
            f" two whole-file writes aside: {large_rest:.1f} s / {small_rest:.1f} s ="
            f" {large_rest / small_rest:.2f}x (the writes: {large_writes:.1f} s /"
            f" {small_writes:.1f} s)"
        )
    print(
        f"  first run at {large['customers']:,} customers, loading and the rules' build alone:"
        f" {large['first'].of(LOADING_AND_RULES):.1f} s"
    )
    print(f"\n{sum(met)} of {len(met)} goals met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
