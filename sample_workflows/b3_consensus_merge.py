"""Multi-source merge: two independent fetches feed one consensus step, run as a parallel DAG (spec B3).

``fetch_factset`` has ``depends_on=[]`` so it is a second root; ``merge`` waits for both and
reads their outputs from the context. Consensus EPS is the mean of the two sources
((1.52 + 1.50) / 2 = 1.51) and the spread their absolute difference (0.02).
"""

from __future__ import annotations

from engine import (
    ExecutionMode,
    Step,
    StepResult,
    Workflow,
    WorkflowContext,
    WorkflowExecutionPolicy,
)
from sample_workflows._common import run_and_show


def fetch_bloomberg(ctx: WorkflowContext, config: dict) -> StepResult:
    """Bloomberg's EPS and revenue estimate."""
    return StepResult.ok(output={"source": "bloomberg", "eps": 1.52, "revenue": 391e9})


def fetch_factset(ctx: WorkflowContext, config: dict) -> StepResult:
    """FactSet's EPS and revenue estimate."""
    return StepResult.ok(output={"source": "factset", "eps": 1.50, "revenue": 390e9})


def merge_sources(ctx: WorkflowContext, config: dict) -> StepResult:
    """Average the two EPS estimates and report how far apart they are."""
    bbg = ctx.get_output("fetch_bloomberg")
    fs = ctx.get_output("fetch_factset")
    avg_eps = (bbg["eps"] + fs["eps"]) / 2
    return StepResult.ok(output={
        "consensus_eps": avg_eps,
        "eps_spread": abs(bbg["eps"] - fs["eps"]),
        "sources_merged": 2,
    })


wf = Workflow(
    name="consensus.merge",
    steps=[
        Step.lambda_("fetch_bloomberg", fetch_bloomberg),
        Step.lambda_("fetch_factset", fetch_factset, depends_on=[]),
        Step.lambda_("merge", merge_sources, depends_on=["fetch_bloomberg", "fetch_factset"]),
    ],
    execution_policy=WorkflowExecutionPolicy(mode=ExecutionMode.PARALLEL),
    domain="research",
    description="Merge EPS estimates from two vendors into a consensus",
    tags=["basic", "parallel", "lambda", "fan-in"],
)

if __name__ == "__main__":
    run_and_show(wf)
