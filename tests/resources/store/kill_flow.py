"""A workflow whose third step kills its own process (SIGKILL) the first time it runs."""

import os
import signal
import sys
from pathlib import Path

from engine import Step, TrackedWorkflowRunner, Workflow

COUNTER = Path(os.environ.get("KILL_FLOW_COUNTER", "counter.txt"))
MARKER = Path(os.environ.get("KILL_FLOW_MARKER", "killed.marker"))


def record(name: str) -> None:
    with COUNTER.open("a") as handle:
        handle.write(name + "\n")


def make(name: str):
    def handler(ctx, config):
        record(name)
        print(f"{name} ran")
        if name == "three" and not MARKER.exists():
            MARKER.write_text("killed once")
            os.kill(os.getpid(), signal.SIGKILL)
        previous = ctx.get_output("one", "value", 0)
        return {"value": previous + len(name), "step": name}

    handler.__name__ = f"step_{name}"
    return handler


flow = Workflow("kill.flow", steps=[Step.lambda_(n, make(n))
                                    for n in ("one", "two", "three", "four", "five")])

if __name__ == "__main__":
    db, run_id = sys.argv[1], sys.argv[2]
    with TrackedWorkflowRunner(db) as runner:
        runner.execute(flow, {"p": 1}, run_id=run_id, source=__file__)
