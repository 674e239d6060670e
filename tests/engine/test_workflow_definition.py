"""The ``Workflow`` definition: validation, lookups and its JSON description."""

from __future__ import annotations

from typing import Any

import pytest

from engine import (
    ErrorPolicy,
    ExecutionMode,
    RetryPolicy,
    Step,
    UnknownStepError,
    Workflow,
    WorkflowExecutionPolicy,
    WorkflowRunner,
    WorkflowValidationError,
    workflow_step,
)


def noop(ctx: Any, config: Any) -> None:
    return None


def echo(**kwargs: Any) -> dict[str, Any]:
    return dict(kwargs)


@workflow_step
def decorated() -> dict[str, Any]:
    return {}


@pytest.mark.parametrize("name", ["", "   ", None, 3])
def test_workflow_needs_a_name(name: Any) -> None:
    with pytest.raises(WorkflowValidationError, match="non-empty name"):
        Workflow(name, [Step.lambda_("a", noop)])


def test_non_step_items_are_rejected_with_their_position() -> None:
    with pytest.raises(WorkflowValidationError, match="item 1 of steps is a str"):
        Workflow("w", [Step.lambda_("a", noop), "b"])  # type: ignore[list-item]


def test_decorated_function_gets_an_as_step_hint() -> None:
    with pytest.raises(WorkflowValidationError, match=r"call \.as_step\(\)"):
        Workflow("w", [decorated])  # type: ignore[list-item]
    wf = Workflow("w", [decorated.as_step()])
    assert wf.step_names() == ["decorated"]


@pytest.mark.parametrize("version", [0, -1, 1.5])
def test_version_must_be_a_positive_int(version: Any) -> None:
    with pytest.raises(WorkflowValidationError, match="version"):
        Workflow("w", [Step.lambda_("a", noop)], version=version)


def test_get_step_and_unknown_step() -> None:
    a = Step.lambda_("a", noop)
    wf = Workflow("w", [a, Step.lambda_("b", noop)])
    assert wf.get_step("a") is a
    with pytest.raises(UnknownStepError, match="'w' has no step 'zz'"):
        wf.get_step("zz")
    with pytest.raises(UnknownStepError):
        wf.dependencies("zz")


def test_referenced_pipelines_and_workflows_include_map_iterators_once() -> None:
    wf = Workflow("w", [
        Step.pipeline("fetch", "data.fetch"),
        Step.map("fan", items_path="$.outputs.fetch.items", iterator_steps=[
            Step.pipeline("clean", "data.clean"),
            Step.workflow("child", "sub.enrich"),
        ]),
        Step.pipeline("fetch_again", "data.fetch"),
        Step.workflow("notify", "sub.notify"),
    ])
    assert wf.pipeline_names() == ["data.fetch", "data.clean"]
    assert wf.workflow_names() == ["sub.enrich", "sub.notify"]


def test_to_dict_describes_steps_and_policy() -> None:
    policy = WorkflowExecutionPolicy(mode=ExecutionMode.PARALLEL, max_concurrency=3,
                                     on_failure=ErrorPolicy.CONTINUE)
    wf = Workflow("w", [
        Step.lambda_("a", noop, config={"k": 1}),
        Step.from_function("b", echo, depends_on=["a"], on_error=ErrorPolicy.RETRY,
                           retry_policy=RetryPolicy(max_attempts=2)),
        Step.workflow("c", "child", params={"x": "$.outputs.a.k"}, wait=False),
    ], domain="d", version=2, tags=["t"], defaults={"p": 1}, execution_policy=policy,
        schedule="0 6 * * *")
    data = wf.to_dict()
    assert data["name"] == "w" and data["version"] == 2 and data["domain"] == "d"
    assert data["defaults"] == {"p": 1} and data["tags"] == ["t"]
    assert data["schedule"] == "0 6 * * *"
    assert data["execution_policy"] == {"mode": "parallel", "max_concurrency": 3,
                                        "on_failure": "continue"}
    a, b, c = data["steps"]
    assert a["type"] == "lambda" and a["config"] == {"k": 1}
    assert a["handler"].endswith(":noop")
    assert "depends_on" not in a
    assert b["depends_on"] == ["a"] and b["retry_policy"]["max_attempts"] == 2
    assert c["workflow"] == "child" and c["wait"] is False
    assert c["params"] == {"x": "$.outputs.a.k"}


def test_invalid_schedule_is_rejected_with_the_expected_format() -> None:
    with pytest.raises(WorkflowValidationError, match="not a valid cron expression"):
        Workflow("w", [Step.lambda_("a", noop)], schedule="every day")


def test_defaults_are_run_params_that_a_run_overrides() -> None:
    wf = Workflow("w", [Step.from_function("echo", echo)], defaults={"a": 1, "b": 2})
    result = WorkflowRunner().execute(wf, {"b": 20})
    assert result.params == {"a": 1, "b": 20}
    assert result.outputs["echo"] == {"a": 1, "b": 20}


def test_repr_and_mode() -> None:
    wf = Workflow("w", [Step.lambda_("a", noop)], version=3)
    assert repr(wf) == "Workflow(name='w', steps=1, version=3)"
    assert wf.mode is ExecutionMode.SEQUENTIAL
