"""Process-wide registries of pipeline handlers and workflows."""

from __future__ import annotations

from typing import Any

import pytest

from engine import (
    ManagedWorkflow,
    Step,
    UnknownPipelineError,
    UnknownWorkflowError,
    Workflow,
    get_pipeline,
    get_workflow,
    list_pipelines,
    list_workflows,
    register_pipeline,
    register_workflow,
    unregister_pipeline,
    unregister_workflow,
    workflow_step,
)
from engine.registry import missing_references

pytestmark = pytest.mark.usefixtures("clean_registry")


def handler(ctx: Any, config: Any) -> None:
    return None


def other_handler(ctx: Any, config: Any) -> None:
    return None


@workflow_step
def decorated(x: int = 1) -> dict[str, int]:
    return {"x": x}


def test_pipeline_register_get_list_unregister() -> None:
    register_pipeline("reg.b", handler)
    register_pipeline("reg.a", other_handler)
    assert get_pipeline("reg.b") is handler
    assert [n for n in list_pipelines() if n.startswith("reg.")] == ["reg.a", "reg.b"]
    unregister_pipeline("reg.b")
    unregister_pipeline("reg.b")  # unregistering twice is harmless
    with pytest.raises(UnknownPipelineError, match="reg.b"):
        get_pipeline("reg.b")


def test_re_registering_replaces_unless_told_not_to() -> None:
    register_pipeline("reg.p", handler)
    register_pipeline("reg.p", other_handler)
    assert get_pipeline("reg.p") is other_handler
    with pytest.raises(ValueError, match="already registered"):
        register_pipeline("reg.p", handler, replace=False)
    assert get_pipeline("reg.p") is other_handler


def test_pipeline_needs_a_name_and_a_callable() -> None:
    with pytest.raises(ValueError, match="non-empty string"):
        register_pipeline("", handler)
    with pytest.raises(TypeError, match="must be callable, got int"):
        register_pipeline("reg.bad", 42)  # type: ignore[arg-type]


def test_decorated_step_registers_its_function() -> None:
    register_pipeline("reg.decorated", decorated)
    assert get_pipeline("reg.decorated") is decorated.fn


def test_workflow_register_get_list_unregister() -> None:
    wf = Workflow("reg.flow", [Step.lambda_("a", handler)])
    assert register_workflow(wf) is wf
    assert get_workflow("reg.flow") is wf and "reg.flow" in list_workflows()
    unregister_workflow("reg.flow")
    with pytest.raises(UnknownWorkflowError, match="register it with"):
        get_workflow("reg.flow")


def test_managed_workflow_registers_its_built_workflow() -> None:
    managed = ManagedWorkflow("reg.managed").step("a", lambda: {"a": 1})
    wf = register_workflow(managed)
    assert isinstance(wf, Workflow) and get_workflow("reg.managed") is wf


def test_register_workflow_rejects_other_objects() -> None:
    with pytest.raises(TypeError, match="needs a Workflow, got dict"):
        register_workflow({"name": "x"})


def test_missing_references_lists_unregistered_pipelines_and_workflows() -> None:
    register_pipeline("reg.known", handler)
    register_workflow(Workflow("reg.known_flow", [Step.lambda_("a", handler)]))
    wf = Workflow("reg.parent", [
        Step.pipeline("a", "reg.known"),
        Step.pipeline("b", "reg.unknown"),
        Step.workflow("c", "reg.known_flow"),
        Step.workflow("d", "reg.unknown_flow"),
        Step.workflow("e", "reg.parent"),  # itself: reported as a cycle at run time instead
    ])
    assert missing_references(wf) == (["reg.unknown"], ["reg.unknown_flow"])

