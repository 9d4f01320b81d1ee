"""A run of the daily asset graph in this process, as `feedback run` and `feedback demo` start
it: its log, its Dagster instance, and its failures read back as one message."""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import os
import shutil
import sys
import tempfile
from datetime import date
from pathlib import Path

from feedback.core import progress
from feedback.core.settings import Settings, environment
from orchestration.failure_hints import root_cause


class RunFailed(Exception):
    pass


class RunInterrupted(Exception):
    pass


@contextlib.contextmanager
def scratch_copy(settings: Settings):
    """A throwaway copy of the data folder for a dry run: the warehouse (and the sender's
    journal), the landing files, the published figure and the reports copied, and the outbox as
    empty files of the same names (the ledger's recovery only looks at the names). Removed
    afterwards."""
    source = settings.data_dir
    with tempfile.TemporaryDirectory(prefix="feedback-dry-run-") as folder:
        scratch = Path(folder)
        for name in ("warehouse.duckdb", "warehouse.duckdb.wal", "sending.journal"):
            if (source / name).exists():
                shutil.copy2(source / name, scratch / name)
        for sub in ("landing", "public", "reports"):
            if (source / sub).is_dir():
                shutil.copytree(source / sub, scratch / sub)
        if (source / "outbox").is_dir():
            (scratch / "outbox").mkdir()
            for message in (source / "outbox").glob("*.eml"):
                (scratch / "outbox" / message.name).touch()
        with environment(FEEDBACK_DATA_DIR=str(scratch)):
            yield dataclasses.replace(settings, data_dir=scratch)


def _failure_of(event):
    """The error of a step's or the run's failure; None for any other event."""
    if event.is_step_failure:
        return event.step_failure_data.error
    if event.is_run_failure:
        return event.job_failure_data.error
    return None


def execute_run(
    settings: Settings,
    run_date: date,
    verbose: bool = False,
    dry_run: bool = False,
    until: date | None = None,
) -> dict[str, dict]:
    """Materialise the daily asset graph for `run_date` (or every date from it to `until`, in
    one run) in process; metadata per asset key.

    The run is recorded in the data folder's Dagster instance (see `orchestration.instance`),
    so the UI shows it; a dry run leaves no trace there. Dagster's and dbt's progress goes to
    `logs/run-<D>.log` in the data folder (ids and counts, no personal data), or to the
    terminal with `verbose`.
    """
    import dagster as dg

    defs = _definitions()
    from orchestration.instance import dagster_instance
    from orchestration.partitions import partition_of
    from orchestration.resources import run_config_for

    label = dates_label(run_date, until)
    log_path = settings.data_dir / "logs" / f"run-{label.replace(' to ', '-to-')}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    job = defs.resolve_job_def("feedback_daily_run")
    instance = dg.DagsterInstance.ephemeral() if dry_run else dagster_instance(settings.data_dir)
    output = contextlib.nullcontext(sys.stdout) if verbose else _output_to(log_path)
    with instance, output as terminal, progress.shown_on(terminal):
        result = job.execute_in_process(
            run_config=run_config_for(run_date, dry_run, until),
            # The UI lists the run under its date's partition (a range has none).
            partition_key=partition_of(run_date, until),
            instance=instance,
            raise_on_error=False,
            tags={"feedback/started_by": "feedback run", "feedback/run_date": label},
        )
    if not result.success:
        # Each step's failure, then the run's (its step None).
        errors = [
            (event.step_key, error) for event in result.all_events if (error := _failure_of(event))
        ]
        # Ctrl-C in a step fails the step and the run; between two steps (in a hook), the run.
        stopped = [
            step for step, error in errors if error.cls_name == "DagsterExecutionInterruptedError"
        ]
        if stopped:
            raise RunInterrupted(f"in step {stopped[0]}" if stopped[0] else "")
        causes = [f"step {step}: {root_cause(error)}" for step, error in errors if step]
        details = "" if verbose else f"\n(Dagster's and dbt's log: {_shown(log_path)})"
        raise RunFailed("\n".join(causes or ["the run did not complete"]) + details)
    metadata: dict[str, dict] = {}
    for event in result.get_asset_materialization_events():
        materialization = event.step_materialization_data.materialization
        metadata[materialization.asset_key.to_user_string()] = {
            key: value.value for key, value in materialization.metadata.items()
        }
    # The checks that did not pass (a completed run's are warnings and source checks: a failed
    # dbt test fails its build), each with what it found.
    metadata["failed_checks"] = {
        f"{check.asset_key.to_user_string()} {check.check_name}": {
            "severity": check.severity.value.lower(),
            "description": check.description or "",
        }
        for check in result.get_asset_check_evaluations()
        if not check.passed
    }
    return metadata


def _definitions():
    """The project's Dagster definitions. The first import in a process brings in dbt's and
    Dagster's modules: some million objects that live as long as the process. The collector is
    paused while they are made and then sets them aside (`gc.freeze`), so that its passes
    during the run do not walk them again."""
    first = "orchestration.definitions" not in sys.modules
    if first:
        gc.disable()
    try:
        from orchestration.definitions import defs
    finally:
        if first:
            gc.enable()
            gc.freeze()
    return defs


@contextlib.contextmanager
def _output_to(path: Path):
    """Send this process's stdout and stderr to `path` for the duration: the Python streams
    (when they were replaced, as under a test) and the file descriptors behind them (what
    writes there directly rather than through Python's streams). Yields the stdout that was,
    for the run's progress lines."""
    terminal = sys.stdout
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    log_file = path.open("a", encoding="utf-8")
    try:
        with (
            contextlib.redirect_stdout(log_file),
            contextlib.redirect_stderr(log_file),
            _beside_descriptor_1(terminal, saved[0]) as terminal,
        ):
            os.dup2(log_file.fileno(), 1)
            os.dup2(log_file.fileno(), 2)
            try:
                yield terminal
            finally:
                # On a full disk the log cannot take what is left; the terminal comes back
                # all the same, for the message that says so.
                for stream in (sys.stdout, sys.stderr):
                    with contextlib.suppress(OSError):
                        stream.flush()
                os.dup2(saved[0], 1)
                os.dup2(saved[1], 2)
                os.close(saved[0])
                os.close(saved[1])
    finally:
        with contextlib.suppress(OSError):
            log_file.close()


@contextlib.contextmanager
def _beside_descriptor_1(stream, saved_1: int):
    """`stream` as it was: when it writes to descriptor 1, which now goes to the log, a stream
    on the saved copy of that descriptor."""
    try:
        on_descriptor_1 = stream.fileno() == 1
    except (AttributeError, OSError, ValueError):
        on_descriptor_1 = False
    if not on_descriptor_1:
        yield stream
        return
    with os.fdopen(os.dup(saved_1), "w", buffering=1, encoding="utf-8") as copy:
        yield copy


def dates_label(run_date: date, until: date | None) -> str:
    """`2026-03-01`, or `2026-03-01 to 2026-03-31` for a range."""
    if until is None or until == run_date:
        return run_date.isoformat()
    return f"{run_date} to {until}"


def _shown(path: Path) -> str:
    with contextlib.suppress(ValueError):
        return str(path.relative_to(Path.cwd()))
    return str(path)
