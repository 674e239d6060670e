"""Debug pipeline: a three-step chain whose last step fails on purpose, for the playground (spec M4).

``fetch`` yields [1, 2, 3, 4, 5], ``transform`` doubles them to [2, 4, 6, 8, 10] and
``validate`` fails with category DATA_QUALITY ("Values exceed threshold") because 10 > 8.
Spec vs code: the spec's playground session rewinds and sets the param ``max_value=4``
before re-running ``transform``, but no handler reads ``max_value`` (the threshold 8 is
fixed in ``validate``), so the param changes nothing and ``validate`` still fails.
"""

from __future__ import annotations

from engine import Step, StepResult, Workflow, WorkflowContext
from sample_workflows._common import run_and_show


# Handlers (some intentionally buggy for debugging demo)
def fetch_data(ctx: WorkflowContext, config: dict) -> StepResult:
    """Produce five records."""
    return StepResult.ok(output={"records": [1, 2, 3, 4, 5], "count": 5})


def transform(ctx: WorkflowContext, config: dict) -> StepResult:
    """Double every record."""
    records = ctx.get_output("fetch", "records", [])
    return StepResult.ok(output={"doubled": [r * 2 for r in records]})


def validate(ctx: WorkflowContext, config: dict) -> StepResult:
    """Fail when any doubled value is above 8."""
    doubled = ctx.get_output("transform", "doubled", [])
    if any(v > 8 for v in doubled):
        return StepResult.fail("Values exceed threshold", category="DATA_QUALITY")
    return StepResult.ok(output={"valid": True})


wf = Workflow(
    name="debug.pipeline",
    steps=[
        Step.lambda_("fetch", fetch_data),
        Step.lambda_("transform", transform),
        Step.lambda_("validate", validate),
    ],
    domain="examples",
    description="Three steps that fail at validate, to practise debugging in the playground",
    tags=["debugging", "playground", "failing"],
)

if __name__ == "__main__":
    run_and_show(wf)
