"""Calling step handlers: pick the calling convention, fill arguments, normalise what returns."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import InvalidReturnTypeError, OutputNotSerializableError, WorkflowError
from .results import StepResult
from .serialization import first_unserializable

if TYPE_CHECKING:
    from .context import WorkflowContext

_CTX_NAMES = frozenset({"ctx", "context"})
_CONFIG_NAMES = frozenset({"config", "cfg"})


class MissingArgumentError(WorkflowError):
    """A plain-function step needs an argument no config, param or output provides."""


@dataclass(frozen=True, slots=True)
class Signature:
    """What the engine needs to know about a handler's parameters, computed once."""

    context_style: bool
    names: tuple[str, ...]
    required: frozenset[str]
    var_keyword: bool


def signature_of(fn: Callable[..., Any]) -> Signature:
    """The handler's ``Signature``, cached per callable (unhashable callables are inspected
    on every call rather than rejected)."""
    try:
        return _cached_signature(fn)
    except TypeError:  # unhashable callable, e.g. an instance of a dataclass with __call__
        return _inspect_signature(fn)


@functools.lru_cache(maxsize=8192)
def _cached_signature(fn: Callable[..., Any]) -> Signature:
    return _inspect_signature(fn)


def _inspect_signature(fn: Callable[..., Any]) -> Signature:
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):  # builtins without signatures
        return Signature(False, (), frozenset(), True)
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    context_style = (
        len(positional) >= 2
        and positional[0].name in _CTX_NAMES
        and positional[1].name in _CONFIG_NAMES
        and all(p.default is not p.empty for p in positional[2:])
    )
    named = [p for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    return Signature(
        context_style=context_style,
        names=tuple(p.name for p in named),
        required=frozenset(p.name for p in named if p.default is p.empty),
        var_keyword=any(p.kind is p.VAR_KEYWORD for p in params),
    )


def function_kwargs(fn: Callable[..., Any], config: Mapping[str, Any],
                    ctx: WorkflowContext, step_name: str) -> dict[str, Any]:
    """Arguments for a plain function: step config, then run params, then earlier outputs."""
    sig = signature_of(fn)
    if sig.var_keyword:
        kwargs = {**ctx.latest, **ctx.params, **config}
    else:
        kwargs = {}
    params, latest = ctx.params, ctx.latest
    for name in sig.names:
        if name in config:
            kwargs[name] = config[name]
        elif name in params:
            kwargs[name] = params[name]
        elif name in latest:
            kwargs[name] = latest[name]
        elif name in _CTX_NAMES:
            kwargs[name] = ctx
        elif name in sig.required:
            raise MissingArgumentError(
                f"step {step_name!r}: {getattr(fn, '__name__', 'handler')}() needs argument "
                f"{name!r}; set it in the step's config, pass it as a run param "
                f"(--param {name}=...), or return it from an earlier step"
            )
    return kwargs


def call_handler(fn: Callable[..., Any], context_style: bool, config: Mapping[str, Any],
                 ctx: WorkflowContext, step_name: str) -> StepResult:
    """Run ``fn`` with the right convention and return a validated ``StepResult``."""
    if context_style:
        returned = fn(ctx, config)
    else:
        returned = fn(**function_kwargs(fn, config, ctx, step_name))
    return normalize_result(step_name, returned)


def normalize_result(step_name: str, returned: Any) -> StepResult:
    """Turn a handler's return value into a ``StepResult`` or raise a specific error."""
    if returned is None:
        return StepResult(True, {})
    if isinstance(returned, StepResult):
        result = returned
    elif isinstance(returned, dict):
        result = StepResult(True, returned)
    else:
        raise InvalidReturnTypeError(
            f"step {step_name!r} returned {type(returned).__name__} ({_short(returned)}); "
            "return a dict, None, or StepResult.ok(output={...})"
        )
    if result.output:
        bad = first_unserializable(result.output)
        if bad is not None:
            where, type_name = bad
            raise OutputNotSerializableError(
                f"step {step_name!r} returned {type_name} at {where}, which is not "
                "JSON-serialisable; convert it (e.g. to a dict or list) or put large "
                "objects in the artifact store and return the ArtifactRef"
            )
    return result


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
