"""CLI fixture: three steps that print numbered lines slowly, for ``logs --follow``."""

from __future__ import annotations

import time

from engine import Step, Workflow

LINES_PER_STEP = 3
PAUSE_SECONDS = 0.12


def make(name: str):
    def chatter() -> dict:
        for number in range(1, LINES_PER_STEP + 1):
            print(f"{name} line {number}", flush=True)
            time.sleep(PAUSE_SECONDS)
        return {"printed": LINES_PER_STEP}

    chatter.__name__ = f"chatter_{name}"
    return chatter


chatty = Workflow("cli.chatty", steps=[Step.from_function(name, make(name))
                                       for name in ("first", "second", "third")])
