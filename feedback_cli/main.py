"""`feedback run [--as-of D | --from D1 --to D2]`, `feedback demo` and `feedback ui`: thin doors
onto the Dagster asset graph."""

from __future__ import annotations

import argparse
import gc
import logging
import os
import sys
import traceback
from datetime import UTC, date, datetime
from pathlib import Path

from feedback.core.run_lock import RunBusy, run_lock
from feedback.core.settings import Settings, parse_run_date
from feedback_cli.demo import run_demo
from feedback_cli.run import RunFailed, RunInterrupted, execute_run, scratch_copy
from feedback_cli.summary import print_summary
from orchestration import failure_hints

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")

# The run completed, but the mail server refused some invitations for good.
EXIT_REFUSED = 3
# Another run is busy on the data folder: nothing was done, try again later (sysexits' TEMPFAIL).
EXIT_BUSY = 75
# Stopped by Ctrl-C (SIGINT), as the shell counts it: 128 + 2. Dagster takes SIGTERM as SIGINT.
EXIT_INTERRUPTED = 130


def _parser() -> argparse.ArgumentParser:
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
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
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
        found = failure_hints.hints(settings, error)
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
    if metadata.get("invitations/invitation_emails", {}).get("refused"):
        return EXIT_REFUSED
    return 0


def entry_point() -> None:
    """The `feedback` command: `main`, then the process ends."""
    # A run makes and drops many small objects (dbt's events and nodes, Dagster's events): with
    # the default thresholds the collector passes over them far more often than it finds
    # cycles. Cycles are still collected, just in larger batches.
    gc.set_threshold(10_000, 10, 10)
    code = main()
    # At exit the interpreter collects every object still alive, among them dbt's parsed project
    # and Dagster's definitions, only to free memory the process hands back anyway.
    gc.freeze()
    sys.exit(code)


if __name__ == "__main__":
    entry_point()
