"""Fixture for the TUI tests: a sequential four-step chain with retries and a timeout."""

from __future__ import annotations

from engine import ErrorPolicy, RetryPolicy, Step, StepResult, Workflow


def extract(ctx, config):
    """Read the day's ledger rows."""
    return StepResult.ok(output={"rows": [1, 2, 3]})


def validate(rows: list[int]) -> dict:
    """Reject empty batches."""
    return {"valid": bool(rows)}


def transform(rows: list[int]) -> dict:
    return {"total": sum(rows)}


def load(total: int) -> dict:
    return {"loaded": total}


daily = Workflow(
    "tui.etl.daily",
    steps=[
        Step.lambda_("extract", extract, config={"source": "ledger.csv", "limit": 500}),
        Step.from_function("validate", validate),
        Step.from_function(
            "transform", transform, on_error=ErrorPolicy.RETRY,
            retry_policy=RetryPolicy(max_attempts=4, initial_delay_seconds=0.5),
            timeout_seconds=30,
        ),
        Step.from_function("load", load),
    ],
    domain="finance",
    description="Nightly ledger load: extract, validate, transform and load the day's rows.",
    version=3,
    tags=["etl", "daily"],
)
