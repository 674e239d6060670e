"""Workflows dead letters are replayed through in the DLQ tests: one repairs a record, one
always fails (its error goes back onto the item)."""

from __future__ import annotations

from engine import Step, StepResult, Workflow


def repair(id: int, amount: float | None = None) -> dict:
    """Fill a missing amount with a reference value."""
    return {"id": int(id), "amount": 1.5 if amount is None else amount}


def reject(ctx: object, config: dict) -> StepResult:
    """Refuse every record."""
    return StepResult.fail("still no amount", category="DATA_QUALITY")


repair_flow = Workflow("res.repair", [Step.from_function("repair", repair)])
reject_flow = Workflow("res.reject", [Step.lambda_("reject", reject)])
