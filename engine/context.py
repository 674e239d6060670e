"""``WorkflowContext``: what a running step can see (params, earlier outputs, run identity)."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

_MISSING = object()


class WorkflowContext:
    """Run-scoped state handed to every handler.

    ``outputs`` maps step name -> output in completion order. ``latest`` is the flat
    "latest wins" view of every dict output, used to fill plain functions' arguments.
    """

    __slots__ = ("run_id", "workflow_name", "params", "outputs", "latest", "call_chain",
                 "artifact_store", "cancel_event", "__weakref__")

    def __init__(self, run_id: str, workflow_name: str = "",
                 params: Mapping[str, Any] | None = None,
                 outputs: Mapping[str, Any] | None = None,
                 call_chain: tuple[str, ...] = ()) -> None:
        self.run_id = run_id
        self.workflow_name = workflow_name
        self.params: dict[str, Any] = dict(params or {})
        self.outputs: dict[str, Any] = {}
        self.latest: dict[str, Any] = {}
        self.call_chain = call_chain or ((workflow_name,) if workflow_name else ())
        self.artifact_store: Any = None
        #: the run's cancel signal (set by the runner); waited sub-workflows and map items share it
        self.cancel_event: threading.Event | None = None
        for name, value in (outputs or {}).items():
            self.set_output(name, value)

    def get_param(self, key: str, default: Any = None) -> Any:
        return self.params.get(key, default)

    def get_output(self, step: str, key: str | None = None, default: Any = None) -> Any:
        """The output of ``step`` (or one ``key`` of it); ``default`` if absent."""
        output = self.outputs.get(step, _MISSING)
        if output is _MISSING:
            return default
        if key is None:
            return output
        if isinstance(output, Mapping):
            return output.get(key, default)
        return getattr(output, key, default)

    def has_output(self, step: str) -> bool:
        return step in self.outputs

    def set_output(self, step: str, output: Any) -> None:
        """Record a step's output (the runner calls this; handlers normally do not)."""
        outputs = self.outputs
        if step in outputs:
            del outputs[step]  # re-insert so iteration order stays completion order
        outputs[step] = output
        if type(output) is dict or isinstance(output, Mapping):  # exact dict: skip the ABC check
            self.latest.update(output)

    def resolve(self, value: Any) -> Any:
        """Resolve ``$.outputs.step[.key...]`` and ``$.params.key`` references; other values pass."""
        if not (isinstance(value, str) and value.startswith("$.")):
            return value
        parts = value[2:].split(".")
        root, rest = parts[0], parts[1:]
        if root == "outputs":
            if not rest:
                return dict(self.outputs)
            current: Any = self.outputs.get(rest[0], _MISSING)
            rest = rest[1:]
        elif root == "params":
            current = self.params
        else:
            raise KeyError(f"reference {value!r} must start with $.outputs or $.params")
        for part in rest:
            if current is _MISSING:
                break
            if isinstance(current, Mapping):
                current = current.get(part, _MISSING)
            elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
                current = current[int(part)]
            else:
                current = _MISSING
        if current is _MISSING:
            raise KeyError(f"reference {value!r} does not resolve to a value in this run")
        return current

    def snapshot(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "params": dict(self.params), "outputs": dict(self.outputs)}

    def __repr__(self) -> str:
        return (f"WorkflowContext(run_id={self.run_id!r}, workflow={self.workflow_name!r}, "
                f"params={list(self.params)}, outputs={list(self.outputs)})")
