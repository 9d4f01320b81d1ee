"""Named points at which a test stops a run dead, as a power cut or the OOM killer would.

`FEEDBACK_KILL_AT=<point>` makes the process SIGKILL itself when it reaches that point (after a
step of the asset graph, `after:<step>`, or one of the `crash_point` calls inside loading,
sending, masking and compaction); the tests then show that the next run completes and ends
where an uninterrupted run ends. `FEEDBACK_KILL_SIGNAL=SIGINT` sends that signal instead, as
Ctrl-C does. Unset, as always outside those tests, a point does nothing.
"""

import os
import signal

KILL_AT = "FEEDBACK_KILL_AT"
KILL_SIGNAL = "FEEDBACK_KILL_SIGNAL"


def crash_point(name: str) -> None:
    if os.environ.get(KILL_AT) == name:
        os.kill(os.getpid(), signal.Signals[os.environ.get(KILL_SIGNAL, "SIGKILL")])
