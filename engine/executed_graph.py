"""The graph a stored run actually ran: its definition as changed by adaptive steps.

Adaptive workflows edit their graph mid-run; every graph-changing ``adaptive_change`` event
carries the whole graph after the change (``detail["graph"]``), so the latest one is the
graph as it ran. A run without such events ran its definition, read (in order) from the
version stored for the run (declarations only, no code imported), then rebuilt by
``workflow_for_run`` (its file or the registry), and as a last resort its recorded steps
without edges. ``RunGraph`` is plain data with ``layers()``/``edges()``, so the TUI's DAG
drawing and the CLI's text take it as they take a ``Plan``; it carries the rebuilt definition
(``workflow``) when it has one, so a viewer can open its map and sub-workflow steps.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from .definitions import workflow_for_run
from .errors import WorkflowError
from .store.records import EventRecord, RunRecord
from .store.runs import RunStore
from .store.schema import StoreError
from .workflow import Workflow

#: where a ``RunGraph`` got its shape (``RunGraph.origin``)
FROM_CHANGES, FROM_VERSION, FROM_DEFINITION, FROM_STEPS = (
    "adaptive changes", "stored version", "definition", "step records")
_STEP_KINDS = ("pipeline", "workflow", "lambda", "function", "map", "wait", "approval")
_Declared = list[tuple[str, list[str] | None, str]]  # (name, depends_on, type) per step


@dataclass(frozen=True, slots=True)
class RunChange:
    """One recorded adaptive change: its kind, the step that asked (None: the engine), when,
    and the event's JSON ``detail``."""

    kind: str
    step: str | None
    at: datetime
    detail: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_event(cls, event: EventRecord) -> RunChange:
        detail = {k: v for k, v in event.data.items() if k != "change"}
        return cls(str(event.data.get("change", "")), event.step, event.at, detail)

    @property
    def added(self) -> str | None:
        """The step this change put into the graph, if it added one."""
        d = self.detail
        if self.kind in ("insert_before", "insert_after"):
            return _name(d.get("inserted"))
        if self.kind == "on_failure":
            return _name(d.get("handler"))
        if self.kind == "replace" and d.get("with") != d.get("replaced"):
            return _name(d.get("with"))
        return None

    def describe(self) -> str:
        """One line on what changed, e.g. ``+audit after plan`` or ``skipped a, b``."""
        d, kind = self.detail, self.kind
        if kind == "insert_before":
            return f"+{d.get('inserted')} before {d.get('before')}"
        if kind == "insert_after":
            return f"+{d.get('inserted')} after {d.get('after')}"
        if kind == "on_failure":
            return f"+{d.get('handler')} handles the failure of {d.get('failed_step')}"
        if kind == "replace":
            new = d.get("with")
            return f"replaced {d.get('replaced')}" + (
                f" by {new}" if new and new != d.get("replaced") else "")
        if kind == "skip":
            return "skipped " + (", ".join(map(str, d.get("steps") or [])) or "nothing")
        if kind == "retry":
            params = " with new params" if d.get("with_params") else ""
            return f"retried {d.get('retried')} (was {d.get('previous_status')}){params}"
        if kind == "spawn":
            return f"spawned {d.get('workflow')} as run {d.get('child_run_id')}"
        if kind == "continue_as_new":
            return f"continued as run {d.get('continued_as')}"
        if kind == "continued_from":
            return f"continues run {d.get('run_id')}"
        return kind

    def to_dict(self) -> dict[str, Any]:
        return {"change": self.kind, "step": self.step, "at": self.at.isoformat(),
                "summary": self.describe(), "detail": dict(self.detail)}


@dataclass(frozen=True, slots=True)
class RunGraph:
    """Steps and edges of a run as it ran, which steps were added at runtime and the changes.

    ``origin`` says where the shape came from (``FROM_CHANGES`` ... ``FROM_STEPS``);
    ``kinds`` maps steps to their type where the definition says it; ``statuses`` are the
    steps' recorded statuses when the graph was read (plus ``skipped`` for steps a change
    skipped, which never start and so have no record). ``workflow`` is the run's definition
    as ``workflow_for_run`` rebuilt it (inserted steps included), None when it was not asked
    for or could not be rebuilt (``definition_error`` then says why).
    """

    run_id: str
    steps: tuple[str, ...]
    edge_pairs: tuple[tuple[str, str], ...]
    inserted: frozenset[str] = frozenset()
    replaced: frozenset[str] = frozenset()
    changes: tuple[RunChange, ...] = ()
    origin: str = FROM_STEPS
    kinds: Mapping[str, str] = field(default_factory=dict)
    statuses: Mapping[str, str] = field(default_factory=dict)
    workflow: Workflow | None = field(default=None, compare=False, repr=False)
    definition_error: str | None = None

    def edges(self) -> list[tuple[str, str]]:
        """(upstream, downstream) pairs, as ``Plan.edges``."""
        return list(self.edge_pairs)

    def layers(self) -> list[list[str]]:
        """Steps grouped by longest distance from a root, in step order (as ``Plan.layers``);
        steps caught in a cycle (a damaged record) go in one last layer."""
        index = {name: i for i, name in enumerate(self.steps)}
        downs: list[list[int]] = [[] for _ in self.steps]
        waiting = [0] * len(self.steps)
        for up, down in self.edge_pairs:
            if up in index and down in index:
                downs[index[up]].append(index[down])
                waiting[index[down]] += 1
        depth = [0] * len(self.steps)
        ready = [i for i, n in enumerate(waiting) if n == 0]
        placed: set[int] = set()
        while ready:
            i = ready.pop()
            placed.add(i)
            for j in downs[i]:
                depth[j] = max(depth[j], depth[i] + 1)
                waiting[j] -= 1
                if waiting[j] == 0:
                    ready.append(j)
        last = max((depth[i] for i in placed), default=-1)
        for i in range(len(self.steps)):
            if i not in placed:
                depth[i] = last + 1
        out: list[list[str]] = [[] for _ in range(max(depth, default=-1) + 1)]
        for i, name in enumerate(self.steps):
            out[depth[i]].append(name)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "origin": self.origin, "steps": list(self.steps),
                "edges": [list(e) for e in self.edge_pairs], "layers": self.layers(),
                "inserted": sorted(self.inserted), "replaced": sorted(self.replaced),
                "kinds": dict(self.kinds), "statuses": dict(self.statuses),
                "changes": [c.to_dict() for c in self.changes]}


def run_graph(store: RunStore, run_id: str, paths: Iterable[str | Path] | None = None,
              *, rebuild: bool = True, definition: bool = False,
              search: Iterable[str | Path] | None = None) -> RunGraph:
    """The graph run ``run_id`` (an id or unique prefix) ran, as the module docstring says.

    ``paths`` and ``search`` are passed to ``workflow_for_run`` (folders loaded first, and
    where a registered workflow is looked for without them); ``rebuild=False`` never loads
    code (a run without changes or a stored version then shows its recorded steps);
    ``definition=True`` rebuilds the definition even when the shape came from the changes or
    the stored version, to carry it as ``RunGraph.workflow``.
    """
    record = store.get_run(run_id)
    statuses = {s.step: str(s.status) for s in store.step_runs(record.run_id)}
    rows = store.db.query("SELECT * FROM events WHERE run_id = ? AND kind = 'adaptive_change' "
                          "ORDER BY seq", [record.run_id])
    changes = tuple(RunChange.from_event(EventRecord.from_row(r)) for r in rows)
    shape = [c.detail["graph"] for c in changes if isinstance(c.detail.get("graph"), dict)]
    declared = _version_steps(store, record)
    kinds = {name: kind for name, _, kind in declared if kind}
    workflow: Workflow | None = None
    problem: str | None = None
    if rebuild and (definition or not (shape or declared)):
        workflow, problem = _rebuilt(store, record, paths, search)
        for step in workflow.steps if workflow is not None else ():
            kinds.setdefault(step.name, step.step_type.value)
    if shape:
        names = tuple(str(n) for n in shape[-1].get("steps") or [])
        edges = tuple((str(u), str(d)) for u, d in shape[-1].get("edges") or [])
        origin = FROM_CHANGES
    elif declared:
        names = tuple(name for name, _, _ in declared)
        edges, origin = _declared_edges(declared), FROM_VERSION
    elif workflow is not None:
        names, edges = workflow.plan.names, tuple(workflow.plan.edges())
        origin = FROM_DEFINITION
    else:
        names, edges, origin = (), (), FROM_STEPS
    if not names:
        names, edges, origin = tuple(statuses), (), FROM_STEPS
    for change in changes:
        recorded = change.detail.get("definition")
        added = change.added
        if added and isinstance(recorded, dict) and recorded.get("type"):
            kinds[added] = str(recorded["type"])
    for change in changes:  # skipped steps never start, so only the change records them
        if change.kind == "skip":
            for name in change.detail.get("steps") or []:
                statuses.setdefault(str(name), "skipped")
    known = set(names)
    inserted = frozenset(n for c in changes if (n := c.added) in known)
    replaced = frozenset(str(n) for c in changes if c.kind == "replace"
                         and (n := c.detail.get("with")) in known)
    return RunGraph(record.run_id, names, tuple(e for e in edges if set(e) <= known), inserted,
                    replaced, changes, origin, {k: v for k, v in kinds.items() if k in known},
                    statuses, workflow, problem)


def _name(value: Any) -> str | None:
    return str(value) if value else None


def _rebuilt(store: RunStore, record: RunRecord, paths: Iterable[str | Path] | None,
             search: Iterable[str | Path] | None) -> tuple[Workflow | None, str | None]:
    """The definition ``workflow_for_run`` rebuilds, or None and why it cannot."""
    try:
        return workflow_for_run(store, record, paths, search=search), None
    except (StoreError, WorkflowError, LookupError, OSError) as exc:  # nothing to rebuild from
        return None, str(exc) or type(exc).__name__


def _declared_edges(declared: _Declared) -> tuple[tuple[str, str], ...]:
    """Edges from ``depends_on`` as declared: None means after the previous step."""
    edges: list[tuple[str, str]] = []
    previous: str | None = None
    for name, deps, _ in declared:
        ups = ([previous] if previous else []) if deps is None else deps
        edges.extend((up, name) for up in ups)
        previous = name
    return tuple(edges)


def _version_steps(store: RunStore, record: RunRecord) -> _Declared:
    """(name, depends_on, type) of each top-level step of the run's stored version."""
    if record.version is None:
        return []
    rows = store.db.query("SELECT definition FROM workflow_versions WHERE name = ? AND "
                          "version = ?", [record.workflow, record.version])
    if not rows:
        return []
    try:
        definition = json.loads(rows[0]["definition"])
    except (TypeError, ValueError):
        return []
    if "apiVersion" in definition:
        steps = (definition.get("spec") or {}).get("steps") or []
        kind_of = _spec_kind
    else:
        steps = definition.get("steps") or []
        kind_of = _dict_kind
    out: _Declared = []
    for step in steps:
        if isinstance(step, dict) and step.get("name"):
            deps = step.get("depends_on")
            out.append((str(step["name"]), None if deps is None else [str(d) for d in deps],
                        kind_of(step)))
    return out


def _spec_kind(step: Mapping[str, Any]) -> str:
    return next((k for k in _STEP_KINDS if k in step), "")


def _dict_kind(step: Mapping[str, Any]) -> str:
    return str(step.get("type") or "")
