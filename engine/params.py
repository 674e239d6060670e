"""Run params from ``key=value`` text (command lines, schedules): typed like a YAML scalar.

``n=3`` gives an int, ``rate=0.5`` a float, ``dry=true`` a bool, ``x=null`` None, and
``ids=[1, 2]`` / ``opts={"a": 1}`` a list or dict, and ``n='"3"'`` the quoted string. Anything
else stays the string it was typed as, so ``name=Ada`` needs no quoting: dates (they would not
survive JSON), ``~``, and YAML 1.1's ``yes``/``no``/``on``/``off`` (only ``true``/``false`` are bools).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .serialization import to_json

_PLAIN = (bool, int, float, type(None))


def parse_param(text: str) -> tuple[str, Any]:
    """Split ``key=value`` and type the value; raises ``ValueError`` saying how to fix it."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ValueError(f"param {text!r} is not key=value (e.g. n=3, name=Ada, ids=[1,2])")
    return key, _typed(raw)


def parse_params(items: Iterable[str]) -> dict[str, Any]:
    """Several ``key=value`` texts as one dict; a repeated key keeps its last value."""
    return dict(parse_param(item) for item in items)


def _typed(raw: str) -> Any:
    text = raw.strip()
    if not text:
        return ""
    import yaml

    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        if text[0] in "[{":
            raise ValueError(f"value {raw!r} looks like a list/dict but is not valid "
                             "JSON/YAML; quote it or fix the brackets") from None
        return raw
    if isinstance(value, bool) and text.lower() not in ("true", "false"):
        return raw
    if value is None and text.lower() != "null":  # "~" is a path to most people
        return raw
    if isinstance(value, _PLAIN):
        return value
    if isinstance(value, str) and text[0] in "'\"":
        return value
    if isinstance(value, list | dict) and text[0] in "[{":
        return value
    return raw


def resolve_params(workflow: Any, params: Mapping[str, Any] | None = None,
                   partition: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A run's params, decided once: the workflow's ``defaults``, then the partition's keys
    (a partition slice is a default param, as Dagster's partition key is), then ``params``."""
    return {**getattr(workflow, "defaults", {}), **(partition or {}), **(params or {})}


def partition_key(partition: Mapping[str, Any]) -> str:
    """Canonical text for a partition (key order does not matter): what marks it done."""
    return to_json(dict(sorted(partition.items())), separators=(",", ":"))
