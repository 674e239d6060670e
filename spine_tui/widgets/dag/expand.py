"""Opening sub-workflow and map steps in place, so the DAG viewer can show what a box runs.

``expand`` turns a workflow and the set of opened box keys into a graph ``compute_layout``
draws: an opened step ``s`` is replaced by its inner steps keyed ``s/inner`` (the registered
child workflow's steps, or the map's iterator steps, which run once per item), wired from
``s``'s upstreams to the inner roots and from the inner leaves to ``s``'s downstreams, to any
depth. A child that is not registered, or that would call a workflow already open above it,
stays closed and ``problems`` says why. Pure (no widgets, no I/O) and linear in nodes +
edges, so it is cheap to redo on every toggle.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field

from engine import (
    MAP_ITEM_SCOPE,
    Plan,
    Step,
    StepType,
    Workflow,
    WorkflowError,
    build_plan,
    get_workflow,
)

from ...messages import STEP_PATH_SEP as SEP

CLOSED = "▸"
PER_ITEM = "×item"
COMPOSITE = (StepType.WORKFLOW, StepType.MAP)
_WORST_FIRST = ("failed", "interrupted", "cancelled", "retrying", "running", "waiting",
                "paused", "pending", "queued", "skipped", "completed")
_RANK = {status: k for k, status in enumerate(_WORST_FIRST)}
_UNDER_WAY = frozenset({"running", "retrying", "waiting", "paused"})


@dataclass(frozen=True, slots=True)
class DagNode:
    """One box of the expanded drawing: the step it shows and where it sits in the nesting."""

    key: str
    step: Step
    path: tuple[str, ...]
    """Step names from the top-level step down to this one (``key`` joins them with ``/``)."""
    dependencies: tuple[str, ...]
    """Resolved upstream step names inside the node's own workflow or map."""
    enclosing: tuple[StepType, ...] = ()
    """The type of each opened step around this one, outermost first."""
    scope: str = ""
    """Where the step runs when it is inside an opened step (empty at the top level)."""

    @property
    def parent(self) -> str | None:
        return SEP.join(self.path[:-1]) or None

    @property
    def top(self) -> str:
        return self.path[0]

    @property
    def composite(self) -> bool:
        return self.step.step_type in COMPOSITE

    @property
    def per_item(self) -> bool:
        """Inside a map: runs once for every item."""
        return StepType.MAP in self.enclosing


@dataclass(frozen=True, slots=True)
class ExpandedDag:
    """A workflow's boxes with the opened steps replaced by their inner steps (``_PlanLike``)."""

    nodes: dict[str, DagNode]
    """Every box by key, in declaration order with inner steps in their parent's place."""
    links: tuple[tuple[str, str], ...]
    grouped: tuple[tuple[str, ...], ...]
    opened: frozenset[str]
    """The requested keys that are open (the others were closed or could not open)."""
    problems: dict[str, str] = field(default_factory=dict)
    """Why a drawn sub-workflow box cannot be opened, by key."""

    def layers(self) -> list[list[str]]:
        return [list(layer) for layer in self.grouped]

    def edges(self) -> list[tuple[str, str]]:
        return list(self.links)

    def labels(self) -> dict[str, str]:
        """The top-edge label of each box: its type, ``▸`` when it opens, ``×item`` per item."""
        out: dict[str, str] = {}
        for key, node in self.nodes.items():
            label = node.step.step_type.value
            if node.composite and key not in self.problems:
                label = f"{CLOSED} {label}"
            out[key] = f"{label} {PER_ITEM}" if node.per_item else label
        return out

    def inside(self, key: str) -> list[str]:
        """Keys of the boxes drawn for opened step ``key``, in declaration order."""
        prefix = key + SEP
        return [k for k in self.nodes if k.startswith(prefix)]

    def closing(self, key: str) -> frozenset[str]:
        """The opened keys once ``key`` and every step opened inside it are closed."""
        return frozenset(k for k in self.opened if k != key and not k.startswith(key + SEP))

    def nearest(self, key: str) -> str | None:
        """The box that stands for ``key`` now: itself, the closed step around it, or the
        first box inside it (or inside its nearest open parent); None when nothing is."""
        parts = key.split(SEP)
        prefixes = [SEP.join(parts[:k]) for k in range(len(parts), 0, -1)]
        for candidate in prefixes:
            if candidate in self.nodes:
                return candidate
        return next((k for p in prefixes for k in self.inside(p)), None)


Lookup = Callable[[str], Workflow]


def expand(workflow: Workflow, opened: Collection[str] = (), *,
           lookup: Lookup = get_workflow) -> ExpandedDag:
    """``workflow`` with every step in ``opened`` (keys like ``s`` or ``s/inner``) replaced
    by its inner steps; ``lookup`` finds a sub-workflow by name (the engine's registry)."""
    builder = _Builder(lookup, frozenset(opened), frozenset(workflow.plan.names))
    builder.add(workflow.steps, workflow.plan, (), (), (workflow.name,), "")
    return ExpandedDag(builder.nodes, tuple(builder.links), _layers(builder.nodes, builder.links),
                       frozenset(builder.opened), builder.problems)


class _Builder:
    """Walks the opened steps depth first, collecting boxes, edges and refusals."""

    def __init__(self, lookup: Lookup, wanted: frozenset[str], top: frozenset[str]) -> None:
        self.lookup = lookup
        self.wanted = wanted
        self.top = top
        self.nodes: dict[str, DagNode] = {}
        self.links: list[tuple[str, str]] = []
        self.opened: set[str] = set()
        self.problems: dict[str, str] = {}

    def add(self, steps: Sequence[Step], plan: Plan, prefix: tuple[str, ...],
            enclosing: tuple[StepType, ...], chain: tuple[str, ...], scope: str
            ) -> tuple[list[str], list[str]]:
        """Add one workflow's (or map's) steps; returns the keys its incoming edges reach
        (the roots' boxes) and the keys its outgoing edges leave from (the leaves')."""
        ends: dict[str, tuple[list[str], list[str]]] = {}
        for step in steps:
            path = (*prefix, step.name)
            key = SEP.join(path)
            inner = self._open(step, key, path, enclosing, chain)
            if inner is not None:
                ends[step.name] = inner
                continue
            self.nodes[key] = DagNode(key, step, path, tuple(plan.dependencies_of(step.name)),
                                      enclosing, scope)
            ends[step.name] = ([key], [key])
        for up, down in plan.edges():
            for source in ends[up][1]:
                self.links.extend((source, target) for target in ends[down][0])
        entries = [k for i, deps in enumerate(plan.deps) if not deps for k in ends[plan.names[i]][0]]
        exits = [k for i, after in enumerate(plan.dependents) if not after
                 for k in ends[plan.names[i]][1]]
        return entries, exits

    def _open(self, step: Step, key: str, path: tuple[str, ...],
              enclosing: tuple[StepType, ...], chain: tuple[str, ...]
              ) -> tuple[list[str], list[str]] | None:
        """Add ``step``'s inner steps when it is opened and can be; None keeps its box."""
        if step.step_type is StepType.MAP:
            if key not in self.wanted:
                return None
            try:
                plan = build_plan(key, step.iterator_steps)
            except WorkflowError as exc:
                self.problems[key] = str(exc)
                return None
            inner_steps: Sequence[Step] = step.iterator_steps
            scope = f"map {key}: once per item of {step.items_path}"
        elif step.step_type is StepType.WORKFLOW:
            child, problem = self._child(step, chain)
            if child is None:
                self.problems[key] = problem
                return None
            if key not in self.wanted:
                return None
            plan, inner_steps = child.plan, child.steps
            chain = (*chain, child.name)
            scope = f"sub-workflow {child.name} (step {key})"
        else:
            return None
        clash = [n for n in plan.names if SEP.join((*path, n)) in self.top]
        if clash:
            self.problems[key] = f"its step {clash[0]!r} would clash with step {key}/{clash[0]}"
            return None
        self.opened.add(key)
        return self.add(inner_steps, plan, path, (*enclosing, step.step_type), chain, scope)

    def _child(self, step: Step, chain: tuple[str, ...]) -> tuple[Workflow | None, str]:
        """The sub-workflow ``step`` runs, or why it cannot be shown."""
        name = step.workflow_name or ""
        if name in chain:
            return None, f"it calls {name} again ({' → '.join((*chain, name))})"
        try:
            child = self.lookup(name)
        except (WorkflowError, LookupError):
            return None, f"workflow {name} is not registered (engine.register_workflow)"
        if not child.steps:
            return None, f"workflow {name} has no steps"
        return child, ""


def _layers(nodes: Mapping[str, DagNode], links: Sequence[tuple[str, str]]
            ) -> tuple[tuple[str, ...], ...]:
    """Boxes grouped by longest distance from a root, declaration order inside a layer."""
    succ: dict[str, list[str]] = {k: [] for k in nodes}
    indegree = dict.fromkeys(nodes, 0)
    for up, down in links:
        succ[up].append(down)
        indegree[down] += 1
    depth = dict.fromkeys(nodes, 0)
    ready = [k for k, n in indegree.items() if n == 0]
    while ready:
        key = ready.pop()
        for down in succ[key]:
            depth[down] = max(depth[down], depth[key] + 1)
            indegree[down] -= 1
            if indegree[down] == 0:
                ready.append(down)
    out: list[list[str]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
    for key in nodes:
        out[depth[key]].append(key)
    return tuple(tuple(layer) for layer in out)


def node_statuses(dag: ExpandedDag, statuses: Mapping[str, str]) -> dict[str, str]:
    """Each box's status in a live run: top-level steps their own; inner steps the worst
    over the runs of them reported so far (a map's items name them ``fan[3].inner``, a
    sub-workflow's run ``enrich/inner``, nested alike: ``fan[3].each/describe``); an inner
    step not reached yet is pending while its enclosing step runs, and otherwise takes that
    step's status (a run reported only at the top level)."""
    reported: dict[str, list[str]] = {}
    for name, value in statuses.items():
        if "[" in name or SEP in name:
            reported.setdefault(MAP_ITEM_SCOPE.sub(SEP, name), []).append(value)
    memo: dict[str, str | None] = {}

    def status_of(path: tuple[str, ...]) -> str | None:
        key = SEP.join(path)
        if key in memo:
            return memo[key]
        found: str | None
        if len(path) == 1:
            found = statuses.get(key)
        elif key in reported:
            found = min(reported[key], key=lambda s: _RANK.get(s, -1))
        else:
            parent = status_of(path[:-1])
            found = "pending" if parent in _UNDER_WAY else parent
        memo[key] = found
        return found

    out: dict[str, str] = {}
    for key, node in dag.nodes.items():
        status = status_of(node.path)
        if status:
            out[key] = status
    return out
