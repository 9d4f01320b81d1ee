"""One run at a time on a data folder.

A run holds an exclusive `flock` on `<data folder>/.run.lock` from start to end. A second run
refuses at once and touches nothing. The kernel releases the lock when its process ends, however
it ends, so a killed run never blocks the next. The lock is re-entrant within a process: the CLI
takes it, and the Dagster run it executes in process finds it held.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

LOCK_FILE = ".run.lock"

_held: set[Path] = set()


class RunBusy(Exception):
    """Another run holds the data folder."""


@contextmanager
def run_lock(data_dir: Path) -> Iterator[None]:
    path = (data_dir / LOCK_FILE).resolve()
    if path in _held:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(descriptor, 200, 0).decode("ascii", "replace").strip()
        os.close(descriptor)
        raise RunBusy(
            f"another feedback run is busy on {data_dir} ({holder or 'holder unknown'}); "
            "this one changed nothing. Run it again when that one has finished"
        ) from None
    os.ftruncate(descriptor, 0)
    os.pwrite(
        descriptor,
        f"pid {os.getpid()}, since {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC".encode(),
        0,
    )
    _held.add(path)
    try:
        yield
    finally:
        _held.discard(path)
        os.close(descriptor)
