"""JSON rules for step outputs: what is allowed, how it is encoded, and where it first breaks.

Besides plain JSON types we accept ``datetime``/``date``/``time`` (ISO strings), ``Decimal``
(float), ``UUID`` and ``Path`` (strings), ``Enum`` (its value), tuples and sets (lists), the
same set Prefect and Pydantic encode without configuration. Classes with a ``to_dict()``
method can opt in through ``register_json_type``.
"""

from __future__ import annotations

import json
from datetime import date, datetime, time
from decimal import Decimal
from enum import Enum
from pathlib import PurePath
from typing import Any
from uuid import UUID

_SCALARS = (str, int, float, bool, type(None))
_ENCODED = (datetime, date, time, Decimal, UUID, PurePath, Enum)
_custom_types: tuple[type, ...] = ()


def register_json_type(cls: type) -> None:
    """Allow instances of ``cls`` (which must have ``to_dict()``) in step outputs."""
    global _custom_types
    if not callable(getattr(cls, "to_dict", None)):
        raise TypeError(f"{cls.__name__} needs a to_dict() method to be used in step outputs")
    if cls not in _custom_types:
        _custom_types = (*_custom_types, cls)


def first_unserializable(value: Any, path: str = "output") -> tuple[str, str] | None:
    """(path, type name) of the first value JSON cannot hold, or None when all is fine."""
    stack: list[tuple[Any, str]] = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, _SCALARS):
            continue
        if isinstance(item, dict):
            for key, sub in item.items():
                if not isinstance(key, _SCALARS):
                    return f"{where} key {key!r}", type(key).__name__
                stack.append((sub, f"{where}.{key}"))
        elif isinstance(item, list | tuple | set | frozenset):
            for i, sub in enumerate(item):
                stack.append((sub, f"{where}[{i}]"))
        elif isinstance(item, _ENCODED) or (_custom_types and isinstance(item, _custom_types)):
            continue
        else:
            return where, type(item).__name__
    return None


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, UUID | PurePath):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, set | frozenset):
        return sorted(value, key=repr)
    if _custom_types and isinstance(value, _custom_types):
        return value.to_dict()  # type: ignore[attr-defined]
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


def to_json(value: Any, **kwargs: Any) -> str:
    """Encode a step output (or anything built from allowed types) as JSON text."""
    return json.dumps(value, default=_default, **kwargs)


def to_jsonable(value: Any) -> Any:
    """A plain-JSON copy of ``value`` (dates become strings, tuples lists, ...)."""
    return json.loads(to_json(value))
