"""What a run is doing while it works, for whoever watches it: a line as each step starts and,
over a range of dates, one at the end of each month. Counts only, like the summary.

The steps write to the `feedback.core.progress` logger; `shown_on` sends its lines to a stream (the
terminal of `feedback run`), with the time since the run started. Dagster's and dbt's own log
goes to the run's log file as before.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, timedelta
from typing import TextIO, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")


class _Elapsed(logging.Formatter):
    def __init__(self) -> None:
        super().__init__()
        self.started = time.monotonic()

    def format(self, record: logging.LogRecord) -> str:
        minutes, seconds = divmod(int(time.monotonic() - self.started), 60)
        return f"  {minutes:2d}:{seconds:02d}  {record.getMessage()}"


@contextmanager
def shown_on(stream: TextIO) -> Iterator[None]:
    handler = logging.StreamHandler(stream)
    handler.setFormatter(_Elapsed())
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    try:
        yield
    finally:
        log.removeHandler(handler)
        handler.flush()


def date_by_date(
    dates: Sequence[date], work: Callable[[date], T], done: Callable[[list[T]], str], step: str
) -> list[T]:
    """`work(day)` for each date in order; over a range, a line at each month's end saying
    what `done` makes of the results so far."""
    results = []
    for day in dates:
        results.append(work(day))
        if len(dates) > 1 and (day == dates[-1] or (day + timedelta(days=1)).day == 1):
            log.info("%s: through %s, %s", step, day, done(results))
    return results
