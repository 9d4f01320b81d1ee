"""What a failed run says beside its cause when the cause is one an operator removes: a full
disk, another process holding the warehouse open. Each library a run goes through says these in
its own words; the hint says them once, with what to do. The command line prints them, and the
alert of a failed run carries them."""

from __future__ import annotations

import errno
import shutil

from feedback.core.settings import Settings
from feedback.reporting.bi_copy import REPORTING_FILE

# How a full disk shows in the errors of DuckDB, of SQLite under Dagster's storage and of
# Python's own files (SQLite's can also be "disk I/O error", hence the look at the free space).
_NO_SPACE = ("No space left on device", "database or disk is full")
MB = 1024 * 1024


def root_cause(error) -> str:
    """The innermost message of a Dagster error chain (a `SerializableErrorInfo`): what actually
    went wrong."""
    while error.cause is not None:
        error = error.cause
    return error.message.strip()


def hints(settings: Settings | None, error: BaseException) -> list[str]:
    """The hints for `error`, read from it and the exceptions it came from."""
    causes = [error]
    while (cause := causes[-1].__cause__ or causes[-1].__context__) and cause not in causes:
        causes.append(cause)
    enospc = any(getattr(cause, "errno", None) == errno.ENOSPC for cause in causes)
    return hints_for(settings, [str(cause) for cause in causes], enospc)


def hints_for(settings: Settings | None, said: list[str], enospc: bool = False) -> list[str]:
    """The hints for a failure told in words (`said`, its messages), as a run's record keeps it."""
    found = [_out_of_space(settings, said, enospc), _warehouse_held(said)]
    return [hint for hint in found if hint]


def _out_of_space(settings: Settings | None, said: list[str], enospc: bool) -> str | None:
    """When the data folder's disk is full, or has less room than a run's new copies of the
    warehouse and the BI file take."""
    if settings is None or not settings.data_dir.is_dir():
        return None
    copies = {
        path.name: path.stat().st_size
        for path in (settings.warehouse_path, settings.data_dir / REPORTING_FILE)
        if path.exists()
    }
    free = shutil.disk_usage(settings.data_dir).free
    full = enospc or any(words in text for text in said for words in _NO_SPACE)
    if not full and free >= sum(copies.values()) + 16 * MB:
        return None
    sizes = "".join(f", {name} {size / MB:.0f} MB" for name, size in copies.items())
    return (
        f"The disk of {settings.data_dir} is full or nearly ({free / MB:.0f} MB free{sizes}):"
        " a run writes a new copy of each of those files beside the old one. Make room and run"
        " again: the next run completes this one (nothing unsent counts as sent)."
    )


def _warehouse_held(said: list[str]) -> str | None:
    if not any("Could not set lock on file" in text for text in said):
        return None
    return (
        "Another process holds warehouse.duckdb open (DuckDB names it above). The file is the"
        " runs' own: BI tools and notebooks read reporting.duckdb, which no run waits for. Close"
        " it there and run again."
    )
