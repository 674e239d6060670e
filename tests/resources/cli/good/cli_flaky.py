"""CLI fixture: a step that fails once with a TRANSIENT error, then succeeds on retry."""

from __future__ import annotations

from engine import ErrorCategory, ErrorPolicy, RetryPolicy, Step, StepResult, Workflow

_calls: dict[str, int] = {}


def flaky(ctx, config):
    count = _calls[ctx.run_id] = _calls.get(ctx.run_id, 0) + 1
    if count == 1:
        return StepResult.fail("connection reset", category=ErrorCategory.TRANSIENT)
    return StepResult.ok(output={"attempts": count})


flaky_flow = Workflow(
    "cli.flaky",
    steps=[Step.lambda_("flaky", flaky, on_error=ErrorPolicy.RETRY,
                        retry_policy=RetryPolicy(max_attempts=3, initial_delay_seconds=0))],
)
