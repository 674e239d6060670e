"""``@workflow_step``: turn a plain function into a reusable step without changing how it is called."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from typing import Any, overload

from .policies import ErrorPolicy, RetryPolicy
from .steps import Step


class WorkflowStepFunction:
    """A plain function plus the step name it runs under; calling it calls the function."""

    def __init__(self, fn: Callable[..., Any], name: str | None = None,
                 config: Mapping[str, Any] | None = None, description: str = "") -> None:
        self.fn = fn
        self.step_name = name or fn.__name__
        self.config = dict(config or {})
        self.description = description
        functools.update_wrapper(self, fn)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)

    def as_step(self, name: str | None = None, config: Mapping[str, Any] | None = None,
                depends_on: Iterable[str] | None = None, on_error: ErrorPolicy = ErrorPolicy.STOP,
                retry_policy: RetryPolicy | None = None,
                timeout_seconds: float | None = None) -> Step:
        """A ``Step.from_function`` for this function (decorator config under ``config``)."""
        return Step.from_function(name or self.step_name, self.fn,
                                  config={**self.config, **(config or {})},
                                  depends_on=depends_on, on_error=on_error,
                                  retry_policy=retry_policy, timeout_seconds=timeout_seconds,
                                  description=self.description)

    def __repr__(self) -> str:
        return f"<workflow_step {self.step_name!r} -> {self.fn.__module__}.{self.fn.__qualname__}>"


@overload
def workflow_step(fn: Callable[..., Any], /) -> WorkflowStepFunction: ...
@overload
def workflow_step(*, name: str | None = None, config: Mapping[str, Any] | None = None,
                  description: str = "") -> Callable[[Callable[..., Any]], WorkflowStepFunction]: ...


def workflow_step(fn: Callable[..., Any] | None = None, /, *, name: str | None = None,
                  config: Mapping[str, Any] | None = None, description: str = "") -> Any:
    """Decorate a plain function so ``fn.as_step()`` makes it a workflow step.

    Usable bare (``@workflow_step``) or with options (``@workflow_step(name="extract")``).
    """
    def wrap(func: Callable[..., Any]) -> WorkflowStepFunction:
        doc = (func.__doc__ or "").strip().splitlines()
        return WorkflowStepFunction(func, name, config, description or (doc[0] if doc else ""))

    return wrap(fn) if fn is not None else wrap
