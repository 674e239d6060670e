from engine import WorkflowPlayground
from engine import Workflow, Step, StepResult

# Handlers (some intentionally buggy for debugging demo)
def fetch_data(ctx, config) -> StepResult:
    return StepResult.ok(output={"records": [1, 2, 3, 4, 5], "count": 5})

def transform(ctx, config) -> StepResult:
    records = ctx.get_output("fetch", "records", [])
    return StepResult.ok(output={"doubled": [r * 2 for r in records]})

def validate(ctx, config) -> StepResult:
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
)

# Load into playground for interactive debugging
pg = WorkflowPlayground()
pg.load(wf)

# Step through one at a time
snap1 = pg.step()
print(f"Step 1: {snap1.step_name} → {snap1.status}")
print(f"  Output: {snap1.output}")

snap2 = pg.step()
print(f"Step 2: {snap2.step_name} → {snap2.status}")
print(f"  Output: {snap2.output}")

# Peek at next step without executing
next_step = pg.peek()
print(f"Next: {next_step.name} ({next_step.step_type.value})")

# Step 3 will fail — let's see
snap3 = pg.step()
print(f"Step 3: {snap3.step_name} → {snap3.status}")
print(f"  Error: {snap3.error}")

# REWIND — go back and fix the issue
pg.step_back()
pg.step_back()

# Inject different params and retry
pg.set_param("max_value", 4)
snap2b = pg.step()  # Re-run transform

# Print full history
summary = pg.summary()
print(f"Total snapshots: {len(summary['history'])}")
print(f"Remaining steps: {len(pg.remaining_steps)}")
