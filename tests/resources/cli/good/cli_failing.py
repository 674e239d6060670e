"""CLI fixture: the second step fails with a DATA_QUALITY error, so the third never runs."""

from __future__ import annotations

from engine import ErrorCategory, Step, StepResult, Workflow


def extract(ctx, config):
    return StepResult.ok(output={"rows": 0})


def check(ctx, config):
    return StepResult.fail("no rows to process", category=ErrorCategory.DATA_QUALITY)


def publish() -> dict:
    return {"published": True}


failing = Workflow(
    "cli.failing",
    steps=[
        Step.lambda_("extract", extract),
        Step.lambda_("check", check),
        Step.from_function("publish", publish),
    ],
    domain="testing",
)
