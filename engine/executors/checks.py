"""Refuse, before a run starts, handlers a worker process could not run.

A remote executor pickles the handler, which Python does *by reference*: the worker imports
``module`` and looks up ``qualname``. That fails for a lambda, a function defined inside
another (a closure), anything defined in ``__main__`` (the script you ran, which a worker
does not run), or an object that does not pickle. Finding out on the worker, mid-run, would
fail a step; here the run never starts and the error says how to fix it.
"""

from __future__ import annotations

import importlib
import pickle
from collections.abc import Callable, Iterable
from typing import Any

from ..steps import SkipIf, Step, StepType
from .base import HandlerNotPortableError

_HOW = ("define it with `def` at module level in an importable module (not the script run "
        "with `python`, not inside a function), or run this step with executor='threads'")


def shipped_handler(step: Step) -> Callable[..., Any] | None:
    """The function a worker calls for ``step`` (a ``skip_if`` is asked on the coordinator,
    so only the function it guards travels); None for steps that call no handler."""
    if step.step_type not in (StepType.LAMBDA, StepType.FUNCTION):
        return None
    handler = step.handler
    if isinstance(handler, SkipIf) and handler.from_field:
        return handler.fn
    return handler


def check_portable(fn: Any, step: str, executor: str) -> None:
    """Raise ``HandlerNotPortableError`` unless ``fn`` pickles and imports back by
    ``module:qualname`` to the same object."""
    module = getattr(fn, "__module__", None)
    qualname = getattr(fn, "__qualname__", None)
    ref = f"{module}:{qualname}" if module and qualname else repr(fn)
    why = None
    if isinstance(qualname, str) and "<lambda>" in qualname:
        why = "it is a lambda, which has no name a worker could import"
    elif isinstance(qualname, str) and "<locals>" in qualname:
        why = "it is defined inside a function (a closure), which a worker cannot import"
    elif module == "__main__":
        why = "it is defined in __main__ (the script you ran), which a worker does not run"
    elif module and qualname and not _imports_back(fn, module, qualname):
        why = f"importing {ref} does not give back this function"
    if why is None:
        try:
            pickle.dumps(fn)
        except Exception as exc:  # any pickling failure refuses the run, with its reason
            why = f"it cannot be pickled ({type(exc).__name__}: {exc})"
    if why is not None:
        raise HandlerNotPortableError(
            f"step {step!r}: handler {ref} cannot run on the {executor} executor: {why}; "
            f"{_HOW}")


def _imports_back(fn: Any, module: str, qualname: str) -> bool:
    try:
        target: Any = importlib.import_module(module)
        for part in qualname.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError):
        return False
    return target is fn or getattr(target, "__wrapped__", None) is fn


def check_steps(steps: Iterable[tuple[Step, str]]) -> None:
    """Check every (step, executor name) pair that will run remotely."""
    for step, executor in steps:
        fn = shipped_handler(step)
        if fn is not None:
            check_portable(fn, step.name, executor)
