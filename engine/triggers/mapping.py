"""``param_mapping``: run params taken from an event by JSONPath (``$.repository.full_name``).

Paths are parsed with ``jsonpath-ng`` when the trigger is constructed, so a malformed one fails
while the workflow file loads, naming the trigger and the path. When an event is mapped, a path
that matches nothing gives ``None`` (the param is passed, as ``None``, so a workflow default
does not silently take its place); one match gives its value; several matches (``$.items[*].id``)
give the list of values, in document order.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import TriggerDefinitionError


def parse_path(path: str) -> Any:
    """The compiled JSONPath, or ``ValueError`` saying why ``path`` is not one."""
    # deliberate lazy import: ``import engine`` stays free of ply's parser tables
    from jsonpath_ng import parse
    from jsonpath_ng.exceptions import JSONPathError

    if not isinstance(path, str) or not path.strip():
        raise ValueError(f"expected a JSONPath such as '$.field', got {path!r}")
    try:
        return parse(path)
    except (JSONPathError, ValueError, TypeError, AttributeError, IndexError) as exc:
        raise ValueError(f"{path!r} is not a valid JSONPath ({exc}); write it like "
                         "'$.field.sub' or '$.items[0].id'") from None


class ParamMapping:
    """Compiled ``{param: JSONPath}``; ``apply(event)`` gives the run params."""

    __slots__ = ("paths", "_compiled")

    def __init__(self, trigger: str, paths: Mapping[str, str]) -> None:
        if not isinstance(paths, Mapping):
            raise TriggerDefinitionError(f"trigger {trigger!r}: param_mapping must map param "
                                         f"names to JSONPath strings, got {type(paths).__name__}")
        self.paths = dict(paths)
        self._compiled: dict[str, Any] = {}
        for param, path in self.paths.items():
            if not isinstance(param, str) or not param:
                raise TriggerDefinitionError(f"trigger {trigger!r}: param_mapping has a key "
                                             f"{param!r}; keys are run param names")
            try:
                self._compiled[param] = parse_path(path)
            except ValueError as exc:
                raise TriggerDefinitionError(f"trigger {trigger!r}: param_mapping[{param!r}]: "
                                             f"{exc}") from None

    def apply(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """The run params for ``event`` (see the module docstring for no and many matches)."""
        params: dict[str, Any] = {}
        for param, expression in self._compiled.items():
            found = [match.value for match in expression.find(event)]
            params[param] = None if not found else found[0] if len(found) == 1 else found
        return params

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ParamMapping) and other.paths == self.paths

    def __repr__(self) -> str:
        return f"ParamMapping({self.paths!r})"
