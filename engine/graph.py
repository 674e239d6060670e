"""Turns a list of steps into a validated execution plan (resolved edges, stable topological order).

Planning is iterative and linear in steps + edges (plus a heap for the stable order), so long
chains never hit the recursion limit.
"""

from __future__ import annotations

import difflib
import heapq
from collections.abc import Sequence
from dataclasses import dataclass

from .errors import DependencyCycleError, DuplicateStepError, UnknownDependencyError
from .steps import Step


@dataclass(frozen=True, slots=True)
class Plan:
    """Resolved DAG of a workflow; steps are referred to by their declaration index."""

    names: tuple[str, ...]
    index: dict[str, int]
    deps: tuple[tuple[int, ...], ...]
    dependents: tuple[tuple[int, ...], ...]
    order: tuple[int, ...]

    @property
    def roots(self) -> list[str]:
        return [self.names[i] for i, d in enumerate(self.deps) if not d]

    def dependencies_of(self, name: str) -> list[str]:
        return [self.names[i] for i in self.deps[self.index[name]]]

    def dependents_of(self, name: str) -> list[str]:
        return [self.names[i] for i in self.dependents[self.index[name]]]

    def edges(self) -> list[tuple[str, str]]:
        """(upstream, downstream) pairs in declaration order."""
        return [(self.names[d], self.names[i]) for i, ds in enumerate(self.deps) for d in ds]

    def layers(self) -> list[list[str]]:
        """Steps grouped by longest distance from a root (what can run together)."""
        depth = [0] * len(self.names)
        for i in self.order:
            for d in self.deps[i]:
                depth[i] = max(depth[i], depth[d] + 1)
        out: list[list[str]] = [[] for _ in range(max(depth, default=-1) + 1)]
        for i in range(len(self.names)):
            out[depth[i]].append(self.names[i])
        return out


def build_plan(workflow_name: str, steps: Sequence[Step]) -> Plan:
    """Validate names and edges and compute a topological order that keeps declaration order."""
    names = tuple(s.name for s in steps)
    index: dict[str, int] = {}
    duplicates: list[str] = []
    for i, name in enumerate(names):
        if name in index:
            duplicates.append(name)
        index[name] = i
    if duplicates:
        raise DuplicateStepError(
            f"workflow {workflow_name!r} has duplicate step name(s): "
            f"{', '.join(sorted(set(duplicates)))}; step names must be unique"
        )

    deps: list[tuple[int, ...]] = []
    for i, step in enumerate(steps):
        if step.depends_on is None:
            deps.append((i - 1,) if i else ())
            continue
        resolved: list[int] = []
        for dep in step.depends_on:
            j = index.get(dep)
            if j is None:
                hint = difflib.get_close_matches(dep, names, n=1)
                suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
                raise UnknownDependencyError(
                    f"step {step.name!r} in workflow {workflow_name!r} depends on unknown step "
                    f"{dep!r}{suggestion}"
                )
            if j not in resolved:
                resolved.append(j)
        deps.append(tuple(resolved))

    dependents: list[list[int]] = [[] for _ in names]
    indegree = [0] * len(names)
    for i, ds in enumerate(deps):
        indegree[i] = len(ds)
        for d in ds:
            dependents[d].append(i)

    ready = [i for i, n in enumerate(indegree) if n == 0]
    heapq.heapify(ready)
    order: list[int] = []
    remaining = indegree[:]
    while ready:
        i = heapq.heappop(ready)
        order.append(i)
        for j in dependents[i]:
            remaining[j] -= 1
            if remaining[j] == 0:
                heapq.heappush(ready, j)
    if len(order) != len(names):
        raise DependencyCycleError(workflow_name, [names[i] for i in _find_cycle(deps, remaining)])
    return Plan(names, index, tuple(deps), tuple(tuple(d) for d in dependents), tuple(order))


def _find_cycle(deps: Sequence[Sequence[int]], remaining: Sequence[int]) -> list[int]:
    """Walk unfinished nodes along unfinished dependencies until a node repeats."""
    stuck = {i for i, n in enumerate(remaining) if n > 0}
    node = min(stuck)
    seen: dict[int, int] = {}
    path: list[int] = []
    while node not in seen:
        seen[node] = len(path)
        path.append(node)
        node = next(d for d in deps[node] if d in stuck)
    cycle = path[seen[node]:]
    cycle.reverse()  # report in execution direction: upstream first
    return cycle
