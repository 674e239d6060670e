"""Edit-and-continue fixture for the workbench: ``fetch`` -> ``check`` -> ``report``; the
playground tests copy it to a tmp folder, run it, then edit and save it.

``fetch`` appends a line to the file named by ``$TUI_SWAP_CALLS`` each time it runs, so a
test sees it never runs again, and when ``$TUI_SWAP_GATE`` names a file it waits for that
file to exist (a slow step a test releases); ``check`` fails while a row is above
``threshold()`` (from the helper module beside it: 3 as shipped, the rows go up to 4).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from tui_swap_helpers import threshold

from engine import Step, StepResult, Workflow


def _count(name: str) -> None:
    calls = os.environ.get("TUI_SWAP_CALLS")
    if calls:
        with Path(calls).open("a", encoding="utf-8") as handle:
            handle.write(name + "\n")


def fetch(ctx, config):
    _count("fetch")
    gate = os.environ.get("TUI_SWAP_GATE")
    deadline = time.monotonic() + 30
    while gate and not Path(gate).exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    return StepResult.ok(output={"rows": [1, 2, 3, 4]})


def check(ctx, config):
    rows = ctx.get_output("fetch", "rows", [])
    too_big = [r for r in rows if r > threshold()]
    if too_big:
        return StepResult.fail(f"rows above {threshold()}: {too_big}", category="DATA_QUALITY")
    return StepResult.ok(output={"checked": len(rows)})


def report(ctx, config):
    return StepResult.ok(output={"summary": f"{ctx.get_output('check', 'checked')} rows ok"})


flow = Workflow("tui.swap.flow", [Step.lambda_("fetch", fetch), Step.lambda_("check", check),
                                  Step.lambda_("report", report)])
