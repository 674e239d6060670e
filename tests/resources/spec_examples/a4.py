from pathlib import Path
from engine import Workflow, Step, StepResult
from engine import WorkflowPackager

# Named handlers (can be serialized by reference)
def extract_data(ctx, config) -> StepResult:
    return StepResult.ok(output={"records": 100})

def transform_data(ctx, config) -> StepResult:
    count = ctx.get_output("extract", "records", 0)
    return StepResult.ok(output={"transformed": count})

# Build workflow
wf = Workflow(
    name="portable.etl",
    steps=[
        Step.lambda_("extract", extract_data),
        Step.lambda_("transform", transform_data),
        Step.pipeline("load", "warehouse.load"),
    ],
    tags=["portable", "etl"],
)

# Package into executable .pyz archive
packager = WorkflowPackager()
result = packager.package(wf, output_dir=Path("dist"))

print(f"Archive: {result.archive_path}")
print(f"Steps: {result.manifest.step_count}")
print(f"Warnings: {result.manifest.warnings}")

# Later: inspect the archive without running it
manifest = WorkflowPackager.inspect(result.archive_path)
print(f"Workflow: {manifest.workflow_name}")
print(f"Handlers: {manifest.handler_files}")

# Run: python dist/portable_etl.pyz
