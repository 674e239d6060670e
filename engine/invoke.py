"""Calling step handlers: pick the calling convention, fill arguments, normalise what returns."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import InvalidReturnTypeError, OutputNotSerializableError, WorkflowError
from .results import StepResult
from .secrets import (
    SecretsResolver,
    is_reference,
    is_well_formed,
    resolve_references,
)
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
    #: parameters whose default is a secret reference (spec 14a: ``api_key="secret:env:KEY"``)
    secret_defaults: tuple[tuple[str, str], ...] = ()


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
        secret_defaults=tuple((p.name, p.default) for p in named if is_reference(p.default)),
    )


def function_kwargs(fn: Callable[..., Any], config: Mapping[str, Any],
                    ctx: WorkflowContext, step_name: str) -> dict[str, Any]:
    """Arguments for a plain function: step config, then run params, then earlier outputs.

    An argument that is a secret reference gets the secret's value, resolved now and held only
    by this call: a parameter's default (spec 14a, ``api_key="secret:env:KEY"``; malformed is
    an error) or a well-formed reference passed in a param or an earlier output (data that
    merely starts with ``secret:`` passes unchanged); config was resolved by ``call_handler``.
    """
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
    for name, reference in sig.secret_defaults:
        if name not in kwargs:
            kwargs[name] = resolve_references(reference, SecretsResolver.default(),
                                              step=step_name, path=name,
                                              label="default of argument")
    for name, value in kwargs.items():
        if type(value) is str and value.startswith("secret:") and is_well_formed(value):
            kwargs[name] = resolve_references(value, SecretsResolver.default(), step=step_name,
                                              path=name, label="argument")
    return kwargs


def call_handler(fn: Callable[..., Any], context_style: bool, config: Mapping[str, Any],
                 ctx: WorkflowContext, step_name: str) -> StepResult:
    """Run ``fn`` with the right convention and return a validated ``StepResult``; secret
    references in ``config`` are resolved on a copy first, so the step's own config keeps
    the reference text."""
    if config:  # one walk; the same object back when it holds no reference
        config = resolve_references(config, SecretsResolver.default(), step=step_name)
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
