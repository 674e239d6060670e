"""The process-wide masker: every resolved secret value is registered here, and text or data on
its way to the store (log lines, errors, outputs, event details) has those values replaced by
``[REDACTED]``.

One compiled pattern (longest values first) is rebuilt only when a new value arrives; while
nothing is registered every call is a single ``None`` check, so runs without secrets pay
nothing. Values shorter than ``MIN_LENGTH`` are not masked: replacing every ``"1"`` or ``"ok"``
would wreck logs while hiding nothing a guess would not find.
"""

from __future__ import annotations

import dataclasses
import json
import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

REDACTED = "[REDACTED]"
MIN_LENGTH = 3

#: the fields of events (and similar dataclasses) that may carry user text or data
_DATA_FIELDS = frozenset({"message", "error", "output", "detail", "params", "payload", "reason"})

E = TypeVar("E")

#: up to this many known forms, ``in`` tests find a value faster than the regex searches
_SCAN_LIMIT = 16

_lock = threading.Lock()
_values: set[str] = set()
_pattern: re.Pattern[str] | None = None
_ordered: tuple[str, ...] = ()  # longest first, as the pattern tries them
_event_fields: dict[type, tuple[str, ...]] = {}


def register(value: str) -> None:
    """Remember ``value`` (and the forms it takes inside reprs, JSON and single log lines)."""
    if not isinstance(value, str) or len(value) < MIN_LENGTH or value in _values:
        return
    forms = {value, repr(value)[1:-1], json.dumps(value)[1:-1]}
    forms.update(line.strip() for line in value.splitlines())  # a multi-line key, line by line
    with _lock:
        _values.update(f for f in forms if len(f) >= MIN_LENGTH)
        _rebuild()


def _rebuild() -> None:
    global _pattern, _ordered
    _ordered = tuple(sorted(_values, key=len, reverse=True))
    _pattern = re.compile("|".join(map(re.escape, _ordered))) if _ordered else None


def active() -> bool:
    """True once any secret value has been registered in this process."""
    return _pattern is not None


def mask(text: str) -> str:
    """``text`` with every registered secret value replaced by ``[REDACTED]``."""
    pattern = _pattern
    if pattern is None or not text:
        return text
    ordered = _ordered
    if len(ordered) > _SCAN_LIMIT:
        return pattern.sub(REDACTED, text)
    for value in ordered:  # longest first, so a value inside a longer one is not split
        if value in text:
            text = text.replace(value, REDACTED)
    return text


def mask_data(data: Any) -> Any:
    """JSON-like ``data`` with secret values masked in every string (keys too); the same object
    comes back when nothing needed masking, so the common case copies nothing.

    One ``repr`` (C code) is searched first and the data walked only when it holds a known
    value: the registered forms include the escaped one ``repr`` writes, so this misses
    nothing a walk would find."""
    if _pattern is None or data is None:
        return data
    if type(data) is str:
        return mask(data)
    try:
        text = repr(data)
    except Exception:  # a custom __repr__ that fails: walk instead
        return _mask_value(data)
    for value in _ordered:
        if value in text:
            return _mask_value(data)
    return data


_PLAIN = frozenset({int, float, bool, type(None)})


def _mask_value(data: Any) -> Any:
    kind = type(data)
    if kind is str:
        return mask(data)
    if kind in _PLAIN:
        return data
    if kind is dict or isinstance(data, Mapping):
        out: dict[Any, Any] | None = None  # copied from the first change on
        for index, (key, value) in enumerate(data.items()):
            kind = type(value)
            if kind is str:
                new_value = mask(value)
            elif kind in _PLAIN:
                new_value = value
            else:
                new_value = _mask_value(value)
            new_key = mask(key) if type(key) is str else key
            if out is None and (new_value is not value or new_key is not key):
                out = dict(list(data.items())[:index])
            if out is not None:
                out[new_key] = new_value
        return data if out is None else out
    if kind is list or kind is tuple or isinstance(data, list | tuple):
        items = [_mask_value(item) for item in data]
        if all(new is old for new, old in zip(items, data, strict=True)):
            return data
        return type(data)(items) if isinstance(data, list) else tuple(items)
    return data


def mask_event(event: E) -> E:
    """The event with its text and data fields masked (a copy only when something changed)."""
    if _pattern is None:
        return event
    names = _event_fields.get(type(event))
    if names is None:
        names = _fields_of(type(event))
    changes = {}
    for name in names:
        value = getattr(event, name)
        masked = mask_data(value)
        if masked is not value:
            changes[name] = masked
    return dataclasses.replace(event, **changes) if changes else event  # type: ignore[type-var]


def _fields_of(kind: type) -> tuple[str, ...]:
    if kind.__name__ == "LogLine" and kind.__module__ == "engine.events":
        names: tuple[str, ...] = ()  # masked where it is made (engine.logcapture), not twice
    else:
        names = tuple(f.name for f in dataclasses.fields(kind) if f.name in _DATA_FIELDS) \
            if dataclasses.is_dataclass(kind) else ()
    _event_fields[kind] = names
    return names


def known_values() -> frozenset[str]:
    """The registered values (for tests and diagnostics; never print them)."""
    return frozenset(_values)


def forget(values: Iterable[str] | None = None) -> None:
    """Stop masking ``values`` (all when None); tests use it to keep runs independent."""
    with _lock:
        if values is None:
            _values.clear()
        else:
            _values.difference_update(values)
        _rebuild()
