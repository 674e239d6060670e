"""How a handler travels to a worker: a plain function by its ``module:qualname`` reference,
a callable instance by value.

Pickling a function stores only its reference and refuses a function that is not the very
object its module attribute holds. Workflow files break that rule without being wrong:
``@workflow_step`` leaves a wrapper at the module attribute (the step calls the function it
wraps), and a hot reload re-executes a module, so a workflow built earlier holds the functions
of the run before. So a function travels as a ``FunctionRef``: the worker imports the module
and follows the same number of ``__wrapped__`` links the coordinator followed to reach a
function of the same qualified name. A callable instance (a §8 ``Calculation``) has no
reference of its own (``module:qualname`` names its class): it is pickled whole, its class by
reference, as pickle always does.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

from ..refs import import_ref

#: how many ``__wrapped__`` links a reference may follow (a guard against a cyclic chain)
MAX_WRAPPED = 8


@dataclass(frozen=True, slots=True)
class FunctionRef:
    """A plain function as shipped: import ``module:qualname``, follow ``wrapped`` links."""

    module: str
    qualname: str
    wrapped: int = 0

    @property
    def ref(self) -> str:
        return f"{self.module}:{self.qualname}"


def is_plain_function(fn: Any) -> bool:
    """A ``def`` function (or lambda): shipped by reference, never by value."""
    return inspect.isfunction(fn)


def function_ref(fn: Any) -> FunctionRef:
    """The reference a worker imports ``fn`` by; raises ``LookupError`` saying why there is
    none (the module does not import, or holds no function of that qualified name)."""
    module, qualname = fn.__module__, fn.__qualname__
    ref = f"{module}:{qualname}"
    try:
        target = import_ref(ref)
    except AttributeError:
        raise LookupError(f"module {module} has no attribute {qualname}") from None
    except Exception as exc:  # whatever importing the user's module raises
        raise LookupError(f"importing {module} fails ({type(exc).__name__}: {exc})") from None
    chain = _wrapped_chain(target)
    for hops, item in enumerate(chain):  # the very object first: exact when nothing reloaded
        if item is fn:
            return FunctionRef(module, qualname, hops)
    for hops, item in enumerate(chain):  # reloaded since: the function of that name now
        if is_plain_function(item) and item.__qualname__ == qualname:
            return FunctionRef(module, qualname, hops)
    raise LookupError(f"importing {ref} gives {type(target).__name__} {target!r}, not a "
                      "function of that name")


def resolve(shipped: Any) -> Any:
    """The callable a worker calls for what ``pack`` shipped."""
    if not isinstance(shipped, FunctionRef):
        return shipped
    target = import_ref(shipped.ref)
    for _ in range(shipped.wrapped):
        target = target.__wrapped__
    return target


def pack(fn: Any) -> Any:
    """What travels in a ``WorkTask`` for ``fn`` (checked beforehand by ``check_portable``)."""
    return function_ref(fn) if is_plain_function(fn) else fn


def _wrapped_chain(target: Any) -> list[Any]:
    chain = [target]
    while len(chain) <= MAX_WRAPPED:
        inner = getattr(chain[-1], "__wrapped__", None)
        if inner is None:
            break
        chain.append(inner)
    return chain
