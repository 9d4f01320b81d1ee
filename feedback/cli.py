"""`feedback run [--as-of D | --from D1 --to D2]`, `feedback demo` and `feedback ui`: thin doors
onto the Dagster asset graph."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import gc
import logging
import os
import shutil
import sys
import tempfile
import traceback
from datetime import UTC, date, datetime
from pathlib import Path

from feedback import failures, progress
from feedback.runlock import RunBusy, run_lock
from feedback.sending import delivery_problems
from feedback.settings import Settings, environment, parse_run_date
from feedback.warehouse import connect

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")


# The run completed, but the mail server refused some invitations for good.
EXIT_REFUSED = 3
# Another run is busy on the data folder: nothing was done, try again later (sysexits' TEMPFAIL).
EXIT_BUSY = 75
# Stopped by Ctrl-C (SIGINT), as the shell counts it: 128 + 2. Dagster takes SIGTERM as SIGINT.
EXIT_INTERRUPTED = 130


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


def _root_cause(error) -> str:
    """The innermost message of a Dagster error chain: what actually went wrong."""
    while error.cause is not None:
        error = error.cause
    return error.message.strip()


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
        causes = [f"step {step}: {_root_cause(error)}" for step, error in errors if step]
        details = "" if verbose else f"\n(Dagster's and dbt's log: {_shown(log_path)})"
        raise RunFailed("\n".join(causes or ["the run did not complete"]) + details)
    metadata: dict[str, dict] = {}
    for event in result.get_asset_materialization_events():
        materialization = event.step_materialization_data.materialization
        metadata[materialization.asset_key.to_user_string()] = {
            key: value.value for key, value in materialization.metadata.items()
        }
    return metadata


def _definitions():
    """The project's Dagster definitions. The first import in a process brings in dbt's and
    Dagster's modules: about a million objects that live as long as the process. The collector
    is paused while they are made and then sets them aside (`gc.freeze`), so that its passes
    during the run do not walk them again: about a second of a daily run."""
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


def print_summary(
    settings: Settings,
    run_date: date,
    metadata: dict[str, dict],
    started: datetime,
    until: date | None = None,
) -> None:
    """Counts and ids only: no names, addresses or comments."""
    load = metadata.get("raw/contact_events", {})
    with connect(settings.warehouse_path) as conn:
        loaded, rejected = conn.execute(
            "select coalesce(sum(rows_loaded), 0), coalesce(sum(rows_rejected), 0)"
            " from audit.ingested_files where ingested_at = ?::timestamptz and reason is null",
            [load.get("loaded_at") or "1970-01-01"],
        ).fetchone()
        kept_aside = conn.execute(
            "select source || '/' || file_name, reason from audit.ingested_files"
            " where ingested_at = ?::timestamptz and reason is not null"
            " and stored_path is not null",
            [load.get("loaded_at") or "1970-01-01"],
        ).fetchall()
    print(f"feedback run for {dates_label(run_date, until)}: completed")
    print(
        f"  landing: {load.get('files_loaded', 0)} file(s) loaded, {loaded} row(s) loaded, "
        f"{rejected} rejected (audit.rejected_records), {load.get('files_repeated', 0)} "
        f"repeated delivery(ies), {len(kept_aside)} kept aside in quarantine/"
    )
    for name, reason in kept_aside:
        print(f"    quarantined {name}: {reason}")
    if load.get("passed_over"):
        print(
            "    not loaded, as no run loads them (a source folder takes *.csv files):"
            f" {load['passed_over']}"
        )
    if load.get("files_left_in_landing"):
        print(f"    left in landing/ for the next run: {load['files_left_in_landing']}")
    send = metadata.get("sending/invitation_emails", {})
    where = f"SMTP {settings.smtp.host}" if settings.smtp else "outbox/"
    problems = delivery_problems(settings, started)
    print(
        f"  invitations: {send.get('sent', 0)} sent to {where}, {send.get('refused', 0)} refused"
        f" by the server, {send.get('already_sent', 0)} sent on this date before"
    )
    for problem, what in (
        ("refused", "refused for good by the mail server"),
        ("invalid", "failed: no valid message could be made"),
        ("deferred", "deferred by the mail server; a later run retries"),
        ("uncertain", "of uncertain fate after a stop; not sent again"),
    ):
        ids = problems.get(problem, [])
        if ids:
            print(f"    {len(ids)} {what} (marts.invitation_deliveries): {', '.join(ids)}")
    mask = metadata.get("privacy/personal_data_masking", {})
    masked = sum(v for k, v in mask.items() if k.startswith("masked_"))
    print(
        f"  masking: {masked} record(s) past 3 months masked, "
        f"{mask.get('files_deleted', 0)} stored file(s) and {mask.get('messages_deleted', 0)} "
        "message(s) deleted"
    )
    publication = metadata.get("public/klanttevredenheid", {})
    status = publication.get("status", "not run")
    quarter = publication.get("quarter", "")
    if publication.get("quarters_published", "").count(","):
        print(f"  published in turn: {publication['quarters_published']}")
    if status == "published":
        print(
            f"  published: {quarter} average {publication['average_grade']} over "
            f"{publication['response_count']} response(s) in public/klanttevredenheid.json"
        )
    else:
        print(f"  publication of {quarter}: {status.replace('_', ' ')}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="feedback", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="the scheduled run for run date D")
    run.add_argument("--as-of", help="run date D, YYYY-MM-DD (default: today in Amsterdam)")
    run.add_argument(
        "--from",
        dest="first",
        metavar="D1",
        help="with --to: what the runs of every date D1..D2 in order would do, in one run",
    )
    run.add_argument("--to", dest="last", metavar="D2", help="the last run date of the range")
    run.add_argument("--verbose", action="store_true", help="show Dagster's and dbt's progress")
    run.add_argument(
        "--dry-run",
        action="store_true",
        help="change nothing (no file moved, nothing recorded, nothing sent); print what the run "
        "would do",
    )
    demo = commands.add_parser("demo", help="synthetic data through a simulated period")
    demo.add_argument("--verbose", action="store_true", help="show Dagster's and dbt's progress")
    ui = commands.add_parser(
        "ui", help="the Dagster UI with this data folder's run history and schedules"
    )
    ui.add_argument("--port", type=int, default=3000, help="on http://127.0.0.1:PORT")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if getattr(args, "verbose", False) else logging.WARNING,
        format="%(message)s",
    )

    settings = None
    try:
        settings = Settings.from_env()
        if args.command == "ui":
            ui_argv, env, cwd = ui_command(settings, args.port)
            os.chdir(cwd)
            os.execve(ui_argv[0], ui_argv, env)
        run_date, until = _run_dates(parser, args) if args.command == "run" else (None, None)
        with run_lock(settings.data_dir):
            return _command(args, settings, run_date, until)
    except RunBusy as busy:
        print(f"feedback {args.command} refused: {busy}", file=sys.stderr)
        return EXIT_BUSY
    except (RunInterrupted, KeyboardInterrupt) as stop:
        where = f" {stop}" if str(stop) else ""
        print(
            f"feedback {args.command} interrupted{where}: nothing unsent counts as sent, and the"
            " next run completes this one",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    except Exception as error:
        # Bad input (ValueError), a failed step (RunFailed), a data folder that cannot be used
        # (OSError) say what they are. Anything else went wrong around the steps (Dagster's own
        # storage, say): named on one line, its traceback below for a bug report, unless a hint
        # tells the cause.
        told = isinstance(error, (ValueError, RunFailed, OSError))
        cause = str(error) if told else f"{type(error).__name__}: {_first_line(error)}"
        print(f"feedback {args.command} failed: {cause}", file=sys.stderr)
        found = failures.hints(settings, error)
        for hint in found:
            print(hint, file=sys.stderr)
        if not told and not found:
            traceback.print_exc()
        return 1


def _first_line(error: BaseException) -> str:
    return (str(error).splitlines() or [""])[0]


def ui_command(settings: Settings, port: int) -> tuple[list[str], dict[str, str], Path]:
    """`dagster dev` on the data folder's Dagster instance, from the repository root: the UI
    shows the runs `feedback run` made, and its daemon runs the schedules and records their
    ticks there. (argv, environment, working directory)."""
    from orchestration.instance import dagster_home
    from orchestration.project import REPO_ROOT

    dagster = Path(sys.executable).with_name("dagster")
    env = {**os.environ, "DAGSTER_HOME": str(dagster_home(settings.data_dir))}
    return [str(dagster), "dev", "--host", "127.0.0.1", "--port", str(port)], env, REPO_ROOT


def _run_dates(parser: argparse.ArgumentParser, args) -> tuple[date, date | None]:
    """(run date, last date of the range or None) from --as-of, or --from and --to."""
    if args.first is None and args.last is None:
        return parse_run_date(args.as_of), None
    if args.as_of is not None:
        parser.error("give either --as-of D or --from D1 --to D2, not both")
    if args.first is None or args.last is None:
        parser.error("a range needs both --from D1 and --to D2")
    first, last = parse_run_date(args.first), parse_run_date(args.last)
    if last < first:
        parser.error(f"--to {last} is before --from {first}")
    return first, last


def _command(args, settings: Settings, run_date: date | None, until: date | None) -> int:
    if args.command == "demo":
        from feedback.demo import run_demo

        return run_demo(settings, verbose=args.verbose)
    started = datetime.now(UTC)
    if args.dry_run:
        with scratch_copy(settings) as scratch:
            metadata = execute_run(scratch, run_date, args.verbose, dry_run=True, until=until)
            print("dry run: nothing was changed, moved, recorded or sent")
            print_summary(scratch, run_date, metadata, started, until)
        return 0
    metadata = execute_run(settings, run_date, verbose=args.verbose, until=until)
    print_summary(settings, run_date, metadata, started, until)
    if metadata.get("sending/invitation_emails", {}).get("refused"):
        return EXIT_REFUSED
    return 0


def entry_point() -> None:
    """The `feedback` command: `main`, then the process ends."""
    # A run makes and drops many small objects (dbt's events and nodes, Dagster's events). With
    # the default thresholds the collector's passes cost a daily run about 0.2 s more; cycles
    # are still collected, just in larger batches.
    gc.set_threshold(10_000, 10, 10)
    code = main()
    # At exit the interpreter collects every object still alive, among them dbt's parsed project
    # and Dagster's definitions: about a second for memory the process hands back anyway.
    gc.freeze()
    sys.exit(code)


if __name__ == "__main__":
    entry_point()
