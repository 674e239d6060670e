"""A long-lived worker process for the lifecycle property test: it starts, resumes and retries
runs of ``lifecycle_flows`` on command, all on one ``TrackedWorkflowRunner``, so a test can
kill -9 a process with several runs in flight.

Usage: worker.py DB. One JSON command per line on stdin, one JSON answer per line on stdout:

    {"op": "start", "flow": F, "run_id": ID, "params": {...}}
    {"op": "resume", "flow": F, "run_id": ID}
    {"op": "retry", "flow": F, "run_id": ID, "new_id": NEW_ID}
        -> {"ok": true, "run_id": ID, "pid": PID}
        |  {"ok": false, "type": ERROR_CLASS, "error": MESSAGE, "raised": BOOL}
    {"op": "quit"} -> waits (up to 30 s) for its runs to end, answers {"ok": true}, exits
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from lifecycle_flows import launch  # noqa: E402

from engine import RunHandle, TrackedWorkflowRunner  # noqa: E402


def main(db: str) -> None:
    answers = sys.stdout
    sys.stdout = sys.stderr  # whatever else prints must not break the protocol

    def answer(data: dict[str, Any]) -> None:
        answers.write(json.dumps(data) + "\n")
        answers.flush()

    handles: list[RunHandle] = []
    with TrackedWorkflowRunner(db, poll_interval=0.02) as runner:
        for line in sys.stdin:
            command = json.loads(line)
            op = command["op"]
            if op == "quit":
                for handle in handles:
                    with contextlib.suppress(Exception):  # how it ended is in the store
                        handle.wait(30)
                answer({"ok": True})
                break
            result = launch(runner, op, command["flow"], command["run_id"],
                            command.get("params"), command.get("new_id"))
            if result.handle is not None:
                handles.append(result.handle)
                answer({"ok": True, "run_id": result.handle.run_id, "pid": os.getpid()})
            else:
                answer({"ok": False, "type": type(result.error).__name__,
                        "error": str(result.error), "raised": result.raised})


if __name__ == "__main__":
    main(sys.argv[1])
