"""CLI fixture: a parallel diamond that completes (two roots, a join, a final load)."""

from __future__ import annotations

from engine import ExecutionMode, Step, StepResult, Workflow, WorkflowExecutionPolicy


def fetch_a(ctx, config):
    return StepResult.ok(output={"a": [1, 2, 3]})


def fetch_b() -> dict:
    return {"b": 10}


def combine(a: list[int], b: int) -> dict:
    return {"total": sum(a) + b}


def load(total: int) -> dict:
    print(f"loading {total} rows")  # chatty on purpose: --json output must stay parseable
    return {"loaded": total}


complete = Workflow(
    "cli.complete",
    steps=[
        Step.lambda_("fetch_a", fetch_a, depends_on=[]),
        Step.from_function("fetch_b", fetch_b, depends_on=[]),
        Step.from_function("combine", combine, depends_on=["fetch_a", "fetch_b"],
                           timeout_seconds=30),
        Step.from_function("load", load),
    ],
    domain="testing",
    description="Two fetches joined and loaded.",
    version=2,
    tags=["cli", "diamond"],
    execution_policy=WorkflowExecutionPolicy(mode=ExecutionMode.PARALLEL, max_concurrency=2),
)
