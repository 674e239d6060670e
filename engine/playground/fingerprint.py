"""What counts as a change to a step, for edit and continue: fingerprints of code, config, wiring.

A step's fingerprint is the code it runs (``code_print``: its handler, hooks, a pipeline's
registered handler, a sub-workflow's steps, a map's inner steps), its config, its resolved
dependencies and its other options. Fingerprints are taken when a definition is loaded, so
a later in-place ``importlib.reload`` cannot change the old side of a comparison; they only
mean something within one process. Everything here is a pure function of what it is given.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from ..errors import UnknownPipelineError, UnknownWorkflowError
from ..expressions import Expression
from ..registry import get_pipeline, get_workflow
from ..steps import Step, StepType
from ..workflow import Workflow
from .code_print import code_digest, digest_text, handler_fingerprint, stable_text


class ChangeReason(StrEnum):
    """Why a step counts as changed."""

    CODE = "code"  # its handler, or code the handler reaches, compiles differently
    CONFIG = "config"  # step config (and a sub-workflow step's params)
    DEPENDENCIES = "dependencies"  # the steps it runs after
    OPTIONS = "options"  # type, error/retry policy, timeout, map/wait/approval settings
    ADDED = "added"
    REMOVED = "removed"


@dataclass(frozen=True, slots=True)
class StepPrint:
    """A step's fingerprint: ``code`` is ``(label, digest)`` of each piece of code it runs."""

    code: tuple[tuple[str, str], ...]
    config: str
    dependencies: tuple[str, ...]
    options: str


@dataclass(frozen=True, slots=True)
class StepChange:
    """One changed step and why; ``code`` names the functions or constants that differ."""

    step: str
    reasons: tuple[ChangeReason, ...]
    code: tuple[str, ...] = ()

    def describe(self) -> str:
        """``code (check, _limit), config``: a short why, for a status line."""
        parts = []
        for reason in self.reasons:
            if reason is ChangeReason.CODE and self.code:
                parts.append(f"code ({', '.join(self.code)})")
            else:
                parts.append(reason.value)
        return ", ".join(parts)


def step_print(step: Step, dependencies: Iterable[str] = (), *,
               _workflows: frozenset[str] = frozenset()) -> StepPrint:
    """The fingerprint of ``step`` run after ``dependencies`` (resolved names)."""
    code: list[tuple[str, str]] = []
    if step.handler is not None:
        code += handler_fingerprint(step.handler)
    if step.on_failure is not None:
        code += [(f"on_failure {label}", d) for label, d in handler_fingerprint(step.on_failure)]
    if step.step_type is StepType.PIPELINE and step.pipeline_name:
        try:
            handler = get_pipeline(step.pipeline_name)
        except UnknownPipelineError:  # not registered (yet): the name is all there is
            code.append((f"pipeline {step.pipeline_name}", "missing"))
        else:
            code += handler_fingerprint(handler)
    if step.step_type is StepType.WORKFLOW and step.workflow_name:
        code += _child_code(step.workflow_name, _workflows)
    for inner in step.iterator_steps:
        inner_print = step_print(inner, _workflows=_workflows)
        code += [(f"{inner.name}: {label}", d) for label, d in inner_print.code]
        code.append((f"{inner.name}: settings",
                     digest_text(inner_print.config + inner_print.options)))
    config = stable_text({"config": step.config, "params": step.params})
    return StepPrint(tuple(code), digest_text(config), tuple(sorted(dependencies)),
                     digest_text(_options(step)))


def _child_code(name: str, seen: frozenset[str]) -> list[tuple[str, str]]:
    if name in seen:
        return [(f"workflow {name}", "cycle")]
    try:
        child = get_workflow(name)
    except UnknownWorkflowError:
        return [(f"workflow {name}", "missing")]
    prints = workflow_prints(child, _workflows=seen | {name})
    out = []
    for step, p in prints.items():
        out += [(f"{name}.{step}: {label}", d) for label, d in p.code]
        out.append((f"{name}.{step}: settings",
                    digest_text(p.config + p.options + ",".join(p.dependencies))))
    return out


#: ``Step.to_dict`` keys fingerprinted elsewhere (code, config, wiring) or cosmetic
_NOT_OPTIONS = frozenset({"name", "handler", "config", "params", "depends_on", "description",
                          "iterator_steps", "on_failure"})


def _options(step: Step) -> str:
    """Everything else a step declares (type, policies, map/wait/approval settings, and any
    field ``to_dict`` learns later), so a new option counts without a change here."""
    options = {k: v for k, v in step.to_dict().items() if k not in _NOT_OPTIONS}
    if isinstance(step.skip_if, Expression):
        options["skip_if"] = step.skip_if.text
    elif step.skip_if is not None:
        options.pop("skip_if", None)  # a function: its code is part of ``code``
    return stable_text(options)


def workflow_prints(workflow: Workflow, *,
                    _workflows: frozenset[str] = frozenset()) -> dict[str, StepPrint]:
    """Every step's fingerprint, in plan order, with dependencies resolved by the plan."""
    plan = workflow.plan
    seen = _workflows | {workflow.name}
    return {plan.names[i]: step_print(workflow.steps[i], (plan.names[d] for d in plan.deps[i]),
                                      _workflows=seen)
            for i in plan.order}


def compare_prints(old: Mapping[str, StepPrint], new: Mapping[str, StepPrint]
                   ) -> tuple[StepChange, ...]:
    """The steps that differ: those of ``new`` in its order, then the removed ones."""
    changes = []
    for name, after in new.items():
        before = old.get(name)
        if before is None:
            changes.append(StepChange(name, (ChangeReason.ADDED,)))
            continue
        reasons = []
        code: tuple[str, ...] = ()
        if before.code != after.code:
            reasons.append(ChangeReason.CODE)
            code = _code_labels(before.code, after.code)
        if before.config != after.config:
            reasons.append(ChangeReason.CONFIG)
        if before.dependencies != after.dependencies:
            reasons.append(ChangeReason.DEPENDENCIES)
        if before.options != after.options:
            reasons.append(ChangeReason.OPTIONS)
        if reasons:
            changes.append(StepChange(name, tuple(reasons), code))
    changes += [StepChange(name, (ChangeReason.REMOVED,)) for name in old if name not in new]
    return tuple(changes)


def _code_labels(before: tuple[tuple[str, str], ...], after: tuple[tuple[str, str], ...]
                 ) -> tuple[str, ...]:
    old, new = dict(before), dict(after)
    labels = [label for label, digest in after if old.get(label) != digest]
    labels += [label for label in old if label not in new]
    return tuple(dict.fromkeys(labels))


__all__ = ["ChangeReason", "StepChange", "StepPrint", "code_digest", "compare_prints",
           "handler_fingerprint", "step_print", "workflow_prints"]
