"""The engine is a UI-free library: importing it must not pull in Textual, Rich or the app."""

import json
import subprocess
import sys

import engine

FORBIDDEN = ("textual", "rich", "spine_tui", "screens", "pandas", "numba")


def test_engine_import_pulls_in_no_ui_or_heavy_modules() -> None:
    code = (
        "import json, sys, engine; "
        "print(json.dumps(sorted(m for m in sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = json.loads(out.stdout)
    offenders = [m for m in loaded if m.split(".")[0] in FORBIDDEN]
    assert offenders == []


def test_public_api_is_exactly_all() -> None:
    public = {name for name in dir(engine) if not name.startswith("_")}
    modules = {name for name in public if type(getattr(engine, name)).__name__ == "module"}
    assert public - modules == set(engine.__all__)
    assert sorted(engine.__all__) == engine.__all__
    for name in engine.__all__:
        assert getattr(engine, name) is not None


EXPECTED_API = {
    "ManagedWorkflow", "Step", "StepResult", "StepType", "Workflow", "WorkflowContext",
    "WorkflowRunner", "WorkflowResult", "RunStatus", "ErrorPolicy", "RetryPolicy",
    "ExecutionMode", "WorkflowExecutionPolicy", "workflow_step", "etl_pipeline",
    "scheduled_batch", "register_pipeline", "register_workflow", "WorkflowCycleError",
    "FeatureFlags",
}


def test_spec_names_are_exported() -> None:
    assert EXPECTED_API <= set(engine.__all__)
