"""CLI fixture: five steps; the third SIGKILLs its own process the first time it runs.

Every step appends its name to the file in ``$CLI_KILL_COUNTER`` (proof of what executed);
``$CLI_KILL_MARKER`` records that the kill already happened, so a resumed run completes.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

from engine import Step, Workflow


def make(name: str):
    def handler(ctx, config):
        with Path(os.environ["CLI_KILL_COUNTER"]).open("a") as counter:
            counter.write(name + "\n")
        print(f"{name} ran")
        marker = Path(os.environ["CLI_KILL_MARKER"])
        if name == "three" and not marker.exists():
            marker.write_text("killed once")
            os.kill(os.getpid(), signal.SIGKILL)
        base = ctx.get_output("one", "value", 0) if name != "one" else ctx.get_param("base", 1)
        return {"value": base + len(name)}

    handler.__name__ = f"step_{name}"
    return handler


kill = Workflow("cli.kill", steps=[Step.lambda_(name, make(name))
                                   for name in ("one", "two", "three", "four", "five")])
