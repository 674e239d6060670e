"""Structured differences between two stored workflow definitions.

Both stored forms (the ``spine.io/v1`` document and ``Workflow.to_dict()``) are first
reduced to one flat view (workflow fields, and per step its fields with defaults dropped),
so a step whose handler became a lambda shows as that one change, not as a rewrite.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..policies import WorkflowExecutionPolicy

_POLICY = WorkflowExecutionPolicy()
_WORKFLOW_DEFAULTS: dict[str, Any] = {
    "domain": "", "description": "", "tags": [], "defaults": {}, "schedule": None,
    "policy.execution": _POLICY.mode.value, "policy.max_concurrency": _POLICY.max_concurrency,
    "policy.on_failure": _POLICY.on_failure.value}
_STEP_DEFAULTS: dict[str, Any] = {
    "description": "", "config": {}, "params": {}, "depends_on": None, "on_error": "stop",
    "retry": None, "timeout_seconds": None, "wait_for_completion": True,
    "inherit_context": True, "partition_by": None, "handler": None, "pipeline": None,
    "workflow": None, "items_path": None, "max_concurrency": None, "steps": None,
    "duration_seconds": None, "skip_if": None, "on_failure": None}
_SHARED = ("description", "config", "params", "depends_on", "on_error", "timeout_seconds",
           "inherit_context", "skip_if", "on_failure")


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One field's value before and after (defaults filled in, so never "missing")."""

    field: str
    old: Any
    new: Any

    def describe(self) -> str:
        return f"{self.field}: {_short(self.old)} -> {_short(self.new)}"

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.field, "old": self.old, "new": self.new}


@dataclass(frozen=True, slots=True)
class StepChange:
    """A step present in both versions whose fields differ."""

    step: str
    fields: tuple[FieldChange, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"step": self.step, "fields": [f.to_dict() for f in self.fields]}


@dataclass(frozen=True, slots=True)
class VersionDiff:
    """What changed from ``old_version`` to ``new_version`` of workflow ``name``."""

    name: str
    old_version: int
    new_version: int
    added_steps: tuple[str, ...] = ()
    removed_steps: tuple[str, ...] = ()
    changed_steps: tuple[StepChange, ...] = ()
    workflow_changes: tuple[FieldChange, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not (self.added_steps or self.removed_steps or self.changed_steps
                    or self.workflow_changes)

    def step_changes(self, step: str) -> dict[str, FieldChange]:
        """Changed fields of one step by field name (empty when the step did not change)."""
        found = next((c for c in self.changed_steps if c.step == step), None)
        return {f.field: f for f in found.fields} if found else {}

    def changes(self) -> list[str]:
        """Short human strings: ``added step load``, ``changed fetch.config``, ..."""
        out = [f"added step {s}" for s in self.added_steps]
        out += [f"removed step {s}" for s in self.removed_steps]
        out += [f"changed {c.step}.{f.field}" for c in self.changed_steps for f in c.fields]
        out += [f"changed {f.field}" for f in self.workflow_changes]
        return out

    def summary(self) -> str:
        """A readable multi-line report with old and new values."""
        head = f"{self.name}: v{self.old_version} -> v{self.new_version}"
        if self.is_empty:
            return f"{head}: no changes"
        lines = [head]
        lines += [f"  + step {s}" for s in self.added_steps]
        lines += [f"  - step {s}" for s in self.removed_steps]
        for change in self.changed_steps:
            lines.append(f"  ~ step {change.step}")
            lines += [f"      {f.describe()}" for f in change.fields]
        lines += [f"  ~ {f.describe()}" for f in self.workflow_changes]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "old_version": self.old_version,
                "new_version": self.new_version, "added_steps": list(self.added_steps),
                "removed_steps": list(self.removed_steps),
                "changed_steps": [c.to_dict() for c in self.changed_steps],
                "workflow_changes": [f.to_dict() for f in self.workflow_changes],
                "changes": self.changes()}


#: the spec's name for what ``WorkflowVersionStore.diff`` returns (§9)
WorkflowDiff = VersionDiff


def diff_definitions(name: str, old_version: int, new_version: int, old: dict[str, Any],
                     new: dict[str, Any]) -> VersionDiff:
    old_wf, old_steps = _view(old)
    new_wf, new_steps = _view(new)
    changed: list[StepChange] = []
    for step in (s for s in old_steps if s in new_steps):
        fields = _changed(old_steps[step], new_steps[step], _STEP_DEFAULTS)
        if fields:
            changed.append(StepChange(step, fields))
    common_old = [s for s in old_steps if s in new_steps]
    common_new = [s for s in new_steps if s in old_steps]
    if common_old != common_new:  # order matters: depends_on=None means "after the previous"
        old_wf["step_order"], new_wf["step_order"] = common_old, common_new
    return VersionDiff(
        name, old_version, new_version,
        added_steps=tuple(s for s in new_steps if s not in old_steps),
        removed_steps=tuple(s for s in old_steps if s not in new_steps),
        changed_steps=tuple(changed),
        workflow_changes=_changed(old_wf, new_wf, _WORKFLOW_DEFAULTS))


def step_count(definition: dict[str, Any]) -> int:
    if "apiVersion" in definition:
        return len((definition.get("spec") or {}).get("steps") or [])
    return len(definition.get("steps") or [])


def _changed(old: dict[str, Any], new: dict[str, Any],
             defaults: dict[str, Any]) -> tuple[FieldChange, ...]:
    keys = list(dict.fromkeys([*old, *new]))
    return tuple(FieldChange(k, old.get(k, defaults.get(k)), new.get(k, defaults.get(k)))
                 for k in keys if old.get(k, defaults.get(k)) != new.get(k, defaults.get(k)))


def _view(definition: dict[str, Any]) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """(workflow fields, {step name: step fields}) of either stored form."""
    if "apiVersion" in definition:
        meta = definition.get("metadata") or {}
        body = definition.get("spec") or {}
        policy = body.get("policy") or {}
        fields = {"domain": meta.get("domain"), "description": meta.get("description"),
                  "tags": meta.get("tags"), "defaults": body.get("defaults"),
                  "schedule": body.get("schedule"), "policy.execution": policy.get("execution"),
                  "policy.max_concurrency": policy.get("max_concurrency"),
                  "policy.on_failure": policy.get("on_failure")}
        steps = [_spec_step(s) for s in body.get("steps") or []]
    else:
        policy = definition.get("execution_policy") or {}
        fields = {"domain": definition.get("domain"),
                  "description": definition.get("description"),
                  "tags": definition.get("tags"), "defaults": definition.get("defaults"),
                  "schedule": definition.get("schedule"), "policy.execution": policy.get("mode"),
                  "policy.max_concurrency": policy.get("max_concurrency"),
                  "policy.on_failure": policy.get("on_failure")}
        steps = [_dict_step(s) for s in definition.get("steps") or []]
    return _drop(fields, _WORKFLOW_DEFAULTS), {s.pop("name"): s for s in steps}


def _spec_step(doc: dict[str, Any]) -> dict[str, Any]:
    """Fields of a step from the ``spine.io/v1`` document."""
    view: dict[str, Any] = {"name": doc.get("name")}
    kind = next((k for k in ("pipeline", "workflow", "lambda", "function", "map", "wait")
                 if k in doc), None)
    view["type"] = kind
    if kind in ("pipeline", "workflow"):
        view[kind] = doc[kind]
    elif kind in ("lambda", "function"):
        view["handler"] = doc[kind]
    elif kind == "map":
        inner = doc["map"] or {}
        view.update(items_path=inner.get("items_path"), partition_by=inner.get("partition_by"),
                    max_concurrency=inner.get("max_concurrency", 4),
                    steps=[_spec_step(s) for s in inner.get("steps") or []])
    elif kind == "wait":
        view["duration_seconds"] = (doc["wait"] or {}).get("duration_seconds", 0.0)
    view.update({k: doc[k] for k in (*_SHARED, "retry", "wait_for_completion") if k in doc})
    return _drop(view, _STEP_DEFAULTS)


def _dict_step(doc: dict[str, Any]) -> dict[str, Any]:
    """Fields of a step from ``Step.to_dict()``, named as in the document form."""
    kind = doc.get("type")
    view: dict[str, Any] = {"name": doc.get("name"), "type": kind,
                            "handler": doc.get("handler"), "pipeline": doc.get("pipeline"),
                            "workflow": doc.get("workflow"), "retry": doc.get("retry_policy")}
    if kind == "workflow":
        view["wait_for_completion"] = doc.get("wait", True)
    if kind == "map":
        view.update(items_path=doc.get("items_path"), partition_by=doc.get("partition_by"),
                    max_concurrency=doc.get("max_concurrency"),
                    steps=[_dict_step(s) for s in doc.get("iterator_steps") or []])
    if kind == "wait":
        view["duration_seconds"] = doc.get("duration_seconds", 0.0)
    view.update({k: doc[k] for k in _SHARED if k in doc})
    return _drop(view, _STEP_DEFAULTS)


def _drop(view: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    """Leave out default values, so either form states only what a user declared."""
    return {k: v for k, v in view.items()
            if k == "name" or v is not None and not (k in defaults and v == defaults[k])}


def _short(value: Any, width: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= width else text[:width - 3] + "..."
