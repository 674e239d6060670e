"""Orders priced by a helper module and formatted by a local package: what an archive carries."""

from __future__ import annotations

from pkg_helpers import MARKER_ENV, total
from pkgtools.fmt import money

from engine import Step, StepResult, Workflow, WorkflowContext


def make_orders(n: int = 3, fail: bool = False) -> dict:
    """``n`` orders of 1, 2, ... units; ``fail=true`` fails the step (exit status 1)."""
    if fail:
        raise ValueError("asked to fail")
    return {"orders": [{"id": i, "units": i} for i in range(1, n + 1)]}


def price(ctx: WorkflowContext, config: dict) -> StepResult:
    """Price the orders with the helper module."""
    return StepResult.ok(output={"total": total(ctx.get_output("make", "orders", []),
                                                config.get("unit_price", 2.5))})


def report(total: float = 0.0) -> dict:
    """Format the total with the local package."""
    return {"report": money(total), "marker_env": MARKER_ENV}


orders = Workflow("pkg.orders", [
    Step.from_function("make", make_orders),
    Step.lambda_("price", price, config={"unit_price": 2.5}),
    Step.from_function("report", report),
], description="Orders priced and formatted by local modules", tags=["packaging"])
