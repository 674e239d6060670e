"""A workflow whose first step inserts a step at run time, for resume/load tests of adaptive
runs; ``finish`` fails until the ``fixed`` file exists under ``$CTL_DIR``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from engine import Step, StepResult, Workflow


def ctl_dir() -> Path:
    return Path(os.environ.get("CTL_DIR", "."))


def mark(name: str) -> None:  # the same counter file as flows.py (self-contained: other tests
    with (ctl_dir() / "counter.txt").open("a") as handle:  # load modules named "flows")
        handle.write(name + "\n")


def plan(ctx: Any, config: Any) -> dict[str, Any]:
    mark("plan")
    ctx.insert_step_after("plan", Step.lambda_("audit", audit))
    return {"planned": True}


def audit(ctx: Any, config: Any) -> dict[str, Any]:
    mark("audit")
    return {"audited": ctx.get_output("plan", "planned")}


def finish(ctx: Any, config: Any) -> Any:
    mark("finish")
    if not (ctl_dir() / "fixed").exists():
        return StepResult.fail("not fixed yet", category="DATA_QUALITY")
    return {"done": ctx.get_output("audit", "audited")}


def adaptive() -> Workflow:
    return Workflow("ctl.adaptive", steps=[Step.lambda_("plan", plan),
                                           Step.lambda_("finish", finish)])


workflow = adaptive()
