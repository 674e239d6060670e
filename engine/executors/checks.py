"""Refuse, before a run starts, handlers a worker process could not run; and say which steps
never leave the coordinating process.

A plain function travels by its ``module:qualname`` reference (``engine.executors.shipping``),
which a lambda, a function defined inside another (a closure) or one defined in ``__main__``
(the script you ran, which a worker does not run) do not have; the reference must import and
give back a function of that qualified name. A callable instance travels by value: its class
must import back by reference and the instance must pickle. Finding out on the worker, mid-run,
would fail a step; here the run never starts and the error says how to fix it.

Job steps (``engine.jobs``) run in the coordinating process on every executor: the job is
already a separate process (or container) that the step starts, watches, streams the log lines
of and kills on timeout, so shipping the step to a worker would only add a hop. Their handler
says so with a true ``runs_in_coordinator`` attribute, as sub-workflow and approval steps do by
their kind.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from typing import Any

from ..errors import UnknownPipelineError
from ..refs import import_ref
from ..registry import get_pipeline
from ..steps import SkipIf, Step, StepType
from .base import HandlerNotPortableError
from .shipping import function_ref, is_plain_function

_HOW = ("define it with `def` at module level in an importable module (not the script run "
        "with `python`, not inside a function), or run this step with executor='threads'")
_HOW_INSTANCE = ("a callable object travels by value: define its class at module level in an "
                 "importable module and keep what it holds picklable, or run this step with "
                 "executor='threads'")


def shipped_handler(step: Step) -> Callable[..., Any] | None:
    """The function a worker calls for ``step`` (a ``skip_if`` is asked on the coordinator,
    so only the function it guards travels); None for steps that call no handler here or that
    run in the coordinating process (job steps)."""
    if step.step_type not in (StepType.LAMBDA, StepType.FUNCTION):
        return None
    handler = step.handler
    if isinstance(handler, SkipIf) and handler.from_field:
        handler = handler.fn
    return None if _coordinator_only(handler) else handler


def runs_in_coordinator(step: Step) -> bool:
    """Whether ``step``'s handler runs in the coordinating process whatever the executor: a
    job step (a pipeline or lambda step whose handler has ``runs_in_coordinator``)."""
    if step.step_type is StepType.PIPELINE:
        try:
            return _coordinator_only(get_pipeline(step.pipeline_name or ""))
        except UnknownPipelineError:  # the run's definition error, reported where it runs
            return False
    if step.step_type in (StepType.LAMBDA, StepType.FUNCTION):
        handler = step.handler
        if isinstance(handler, SkipIf) and handler.from_field:
            handler = handler.fn
        return _coordinator_only(handler)
    return False


def _coordinator_only(handler: Any) -> bool:
    return getattr(type(handler), "runs_in_coordinator", False) is True


def check_portable(fn: Any, step: str, executor: str) -> None:
    """Raise ``HandlerNotPortableError`` unless ``fn`` can be shipped: a function by a
    ``module:qualname`` reference that imports back to a function of that name, a callable
    instance by value (its class importable by reference, the instance picklable)."""
    if is_plain_function(fn):
        ref = f"{fn.__module__}:{fn.__qualname__}"
        why = _function_problem(fn)
        how = _HOW
    else:
        cls = type(fn)
        ref = f"{cls.__module__}:{cls.__qualname__} instance"
        why = _instance_problem(fn)
        how = _HOW_INSTANCE
    if why is not None:
        raise HandlerNotPortableError(
            f"step {step!r}: handler {ref} cannot run on the {executor} executor: {why}; "
            f"{how}")


def _function_problem(fn: Any) -> str | None:
    module, qualname = fn.__module__, fn.__qualname__
    if "<lambda>" in qualname:
        return "it is a lambda, which has no name a worker could import"
    if "<locals>" in qualname:
        return "it is defined inside a function (a closure), which a worker cannot import"
    if module == "__main__" or not module:
        return "it is defined in __main__ (the script you ran), which a worker does not run"
    try:
        function_ref(fn)
    except LookupError as exc:
        return f"its reference does not import back to it: {exc}"
    return None


def _instance_problem(obj: Any) -> str | None:
    """Why a callable object cannot travel by value (None: it can)."""
    cls = type(obj)
    module, qualname = cls.__module__, cls.__qualname__
    if module != "builtins":  # a bound method, a builtin: pickle knows how to send those
        if "<locals>" in qualname:
            return "its class is defined inside a function, which a worker cannot import"
        if module == "__main__":
            return ("its class is defined in __main__ (the script you ran), which a worker "
                    "does not run")
        try:
            found = import_ref(f"{module}:{qualname}")
        except Exception as exc:  # whatever importing the user's module raises
            return f"its class {module}:{qualname} does not import ({type(exc).__name__}: {exc})"
        if found is not cls:
            return (f"importing {module}:{qualname} gives another class than this object's "
                    "(was its module reloaded after the object was made?)")
    try:
        pickle.dumps(obj)
    except Exception as exc:  # any pickling failure refuses the run, with its reason
        return f"it cannot be pickled ({type(exc).__name__}: {exc})"
    return None
