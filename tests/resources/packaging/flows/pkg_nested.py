"""A workflow that does not export as YAML (a lambda handler) and calls a sub-workflow and a
pipeline defined here: the archive's definition is this module."""

from __future__ import annotations

from engine import Step, Workflow, register_pipeline


def double(value: int = 0) -> dict:
    """The pipeline ``pkg.double``."""
    return {"doubled": value * 2}


register_pipeline("pkg.double", double)

child = Workflow("pkg.child", [Step.lambda_("seed", lambda ctx, config: {"value": 21})],
                 description="The sub-workflow", tags=["packaging"])
parent = Workflow("pkg.parent", [
    Step.workflow("run_child", "pkg.child"),
    Step.pipeline("double", "pkg.double"),
], description="Calls a sub-workflow, then a pipeline", tags=["packaging"])
