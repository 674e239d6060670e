"""Planning: names and edges are validated at construction and resolved into a stable DAG."""

from __future__ import annotations

from typing import Any

import pytest

from engine import (
    DependencyCycleError,
    DuplicateStepError,
    Step,
    UnknownDependencyError,
    Workflow,
    WorkflowValidationError,
)
from engine.graph import build_plan


def noop(ctx: Any, config: Any) -> None:
    return None


def step(name: str, depends_on: list[str] | None = None) -> Step:
    return Step.lambda_(name, noop, depends_on=depends_on)


def test_duplicate_step_names_are_rejected_and_named() -> None:
    with pytest.raises(DuplicateStepError) as info:
        Workflow("dup", [step("a"), step("b"), step("a"), step("b"), step("c")])
    message = str(info.value)
    assert "'dup'" in message
    assert "a, b" in message
    assert isinstance(info.value, WorkflowValidationError)


def test_unknown_dependency_suggests_the_closest_name() -> None:
    with pytest.raises(UnknownDependencyError) as info:
        Workflow("etl", [step("extract"), step("load", depends_on=["extrct"])])
    message = str(info.value)
    assert "'load'" in message and "'extrct'" in message
    assert "did you mean 'extract'?" in message


def test_unknown_dependency_without_a_close_match_has_no_suggestion() -> None:
    with pytest.raises(UnknownDependencyError) as info:
        Workflow("etl", [step("extract"), step("load", depends_on=["zzz"])])
    assert "did you mean" not in str(info.value)


def _assert_is_cycle(cycle: list[str], edges: set[tuple[str, str]]) -> None:
    """Every consecutive pair (and last -> first) must be an upstream -> downstream edge."""
    for upstream, downstream in zip(cycle, [*cycle[1:], cycle[0]], strict=True):
        assert (upstream, downstream) in edges


def test_cycle_error_lists_exactly_the_steps_on_the_cycle_in_order() -> None:
    steps = [
        step("start", depends_on=[]),
        step("a", depends_on=["start", "c"]),
        step("b", depends_on=["a"]),
        step("c", depends_on=["b"]),
        step("after", depends_on=["c"]),  # downstream of the cycle, not on it
    ]
    with pytest.raises(DependencyCycleError) as info:
        Workflow("loop", steps)
    error = info.value
    assert sorted(error.cycle) == ["a", "b", "c"]
    _assert_is_cycle(error.cycle, {("c", "a"), ("a", "b"), ("b", "c")})
    assert error.workflow == "loop"
    assert " -> ".join([*error.cycle, error.cycle[0]]) in str(error)
    assert "start" not in error.cycle and "after" not in error.cycle


def test_self_dependency_is_a_cycle_of_one() -> None:
    with pytest.raises(DependencyCycleError) as info:
        Workflow("self", [step("a", depends_on=[]), step("b", depends_on=["b"])])
    assert info.value.cycle == ["b"]
    assert "b -> b" in str(info.value)


def test_depends_on_none_means_after_the_previous_step() -> None:
    wf = Workflow("chain", [step("a"), step("b"), step("c")])
    assert wf.dependencies("a") == []
    assert wf.dependencies("b") == ["a"]
    assert wf.dependencies("c") == ["b"]
    assert wf.plan.edges() == [("a", "b"), ("b", "c")]


def test_empty_depends_on_makes_a_root() -> None:
    wf = Workflow("roots", [step("a"), step("b", depends_on=[]), step("c")])
    assert wf.dependencies("b") == []
    assert wf.dependencies("c") == ["b"]
    assert wf.plan.roots == ["a", "b"]


def test_order_keeps_declaration_order_when_it_is_valid() -> None:
    wf = Workflow("diamond", [
        step("a", depends_on=[]),
        step("b", depends_on=["a"]),
        step("c", depends_on=["a"]),
        step("d", depends_on=["c", "b"]),
    ])
    assert [wf.plan.names[i] for i in wf.plan.order] == ["a", "b", "c", "d"]
    assert wf.plan.dependencies_of("d") == ["c", "b"]
    assert wf.plan.dependents_of("a") == ["b", "c"]
    assert wf.plan.layers() == [["a"], ["b", "c"], ["d"]]


def test_forward_references_are_ordered_after_their_dependencies() -> None:
    wf = Workflow("forward", [
        step("load", depends_on=["transform"]),
        step("transform", depends_on=["extract"]),
        step("extract", depends_on=[]),
    ])
    assert [wf.plan.names[i] for i in wf.plan.order] == ["extract", "transform", "load"]


def test_repeated_dependency_is_one_edge() -> None:
    wf = Workflow("twice", [step("a"), step("b", depends_on=["a", "a"])])
    assert wf.dependencies("b") == ["a"]
    assert wf.plan.dependents_of("a") == ["b"]


def test_depends_on_as_a_string_is_a_type_error_with_advice() -> None:
    with pytest.raises(TypeError, match="list of step names"):
        step("b", depends_on="a")  # type: ignore[arg-type]


def test_map_iterator_steps_are_validated_with_the_workflow() -> None:
    bad_map = Step.map("fan", items_path="$.params.items",
                       iterator_steps=[step("x"), step("x")])
    with pytest.raises(DuplicateStepError, match="'m.fan'"):
        Workflow("m", [bad_map])


def test_empty_workflow_plans_to_nothing() -> None:
    plan = build_plan("empty", [])
    assert plan.order == () and plan.roots == [] and plan.layers() == []


def test_long_chain_plans_without_recursion() -> None:
    plan = build_plan("long", [step(f"s{i}") for i in range(20_000)])
    assert plan.order == tuple(range(20_000))
    assert plan.deps[19_999] == (19_998,)
