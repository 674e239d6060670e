from engine import Workflow, Step, StepResult
from engine import ExecutionMode, WorkflowExecutionPolicy

def fetch_bloomberg(ctx, config) -> StepResult:
    return StepResult.ok(output={"source": "bloomberg", "eps": 1.52, "revenue": 391e9})

def fetch_factset(ctx, config) -> StepResult:
    return StepResult.ok(output={"source": "factset", "eps": 1.50, "revenue": 390e9})

def merge_sources(ctx, config) -> StepResult:
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
)
