"""Property: on any DAG, in either mode, every step runs once and only after its dependencies."""

from __future__ import annotations

import threading
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from engine import ExecutionMode, RunStatus, Step, Workflow, WorkflowExecutionPolicy, WorkflowRunner

# One entry per step: None (after the previous), [] (a root) or indices of earlier steps.
DepSpec = list[int] | None


@st.composite
def dags(draw: st.DrawFn) -> list[DepSpec]:
    size = draw(st.integers(min_value=1, max_value=25))
    specs: list[DepSpec] = []
    for i in range(size):
        kind = draw(st.sampled_from(["none", "root", "some"]))
        if kind == "none":
            specs.append(None)
        elif kind == "root" or i == 0:
            specs.append([])
        else:
            specs.append(draw(st.lists(st.integers(0, i - 1), min_size=1, max_size=4)))
    return specs


def expected_deps(specs: list[DepSpec]) -> list[set[int]]:
    """What ``depends_on`` means, computed independently of the engine."""
    return [({i - 1} if i else set()) if spec is None else set(spec)
            for i, spec in enumerate(specs)]


class Log:
    """A thread-safe journal of ("start"|"end", step index) entries."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.entries: list[tuple[str, int]] = []

    def handler(self, index: int) -> Any:
        def run(ctx: Any, config: Any) -> dict[str, int]:
            with self.lock:
                self.entries.append(("start", index))
            with self.lock:
                self.entries.append(("end", index))
            return {f"out{index}": index}

        return run


def build(specs: list[DepSpec], log: Log, policy: WorkflowExecutionPolicy) -> Workflow:
    steps = [
        Step.lambda_(f"s{i}", log.handler(i),
                     depends_on=None if spec is None else [f"s{j}" for j in spec])
        for i, spec in enumerate(specs)
    ]
    return Workflow("prop", steps, execution_policy=policy)


@settings(max_examples=60, deadline=None)
@given(specs=dags(), mode=st.sampled_from(list(ExecutionMode)),
       max_concurrency=st.integers(min_value=1, max_value=4))
def test_every_step_runs_once_after_all_its_dependencies(
        specs: list[DepSpec], mode: ExecutionMode, max_concurrency: int) -> None:
    log = Log()
    policy = WorkflowExecutionPolicy(mode=mode, max_concurrency=max_concurrency)
    wf = build(specs, log, policy)
    deps = expected_deps(specs)
    assert [set(wf.plan.deps[i]) for i in range(len(specs))] == deps

    result = WorkflowRunner().execute(wf)

    assert result.status is RunStatus.COMPLETED, result.error
    starts = [i for kind, i in log.entries if kind == "start"]
    assert sorted(starts) == list(range(len(specs)))  # each step exactly once
    position = {entry: n for n, entry in enumerate(log.entries)}
    for i, needed in enumerate(deps):
        for d in needed:
            assert position[("end", d)] < position[("start", i)], (i, d)
    if mode is ExecutionMode.SEQUENTIAL:
        # one at a time: every start is directly followed by its own end
        assert all(log.entries[n + 1] == ("end", i)
                   for n, (kind, i) in enumerate(log.entries) if kind == "start")
    assert set(result.outputs) == {f"s{i}" for i in range(len(specs))}
