"""Custom metrics recorded inside steps (spec §15a): ``counter``, ``gauge``, ``histogram``.

They live in prometheus-client's process registry (``prometheus_client.REGISTRY``), so
``spine-engine serve``'s ``/metrics`` — or a script's own ``start_http_server`` — exposes
them with the process's other metrics. Prometheus fixes a metric's type and label names when
it is first used: a later call with another type or other tag keys is a ``MetricError``.
Names starting ``spine_`` are the engine's own (computed from the run store) and refused.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from prometheus_client import REGISTRY, Counter, Gauge, Histogram

from ..errors import WorkflowError

RESERVED_PREFIX = "spine_"
#: default histogram buckets: sub-second timings up to batch sizes in the thousands
DEFAULT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 25.0, 50.0,
                   100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0, 10000.0)
_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


class MetricError(WorkflowError, ValueError):
    """A metric call cannot be recorded: bad name or tags, or a type or tag keys that differ
    from the metric's first use."""


@dataclass(frozen=True, slots=True)
class _Family:
    kind: str
    labels: tuple[str, ...]
    metric: Any  # Counter | Gauge | Histogram


_families: dict[str, _Family] = {}
_lock = threading.Lock()


def counter(name: str, value: float = 1, tags: Mapping[str, Any] | None = None, *,
            description: str = "") -> None:
    """Add ``value`` (>= 0) to counter ``name`` for these ``tags``; exposed as ``NAME_total``."""
    metric = _labelled("counter", name, tags, description)
    try:
        metric.inc(value)
    except ValueError as exc:
        raise MetricError(f"counter {name!r}: {exc}") from None


def gauge(name: str, value: float, tags: Mapping[str, Any] | None = None, *,
          description: str = "") -> None:
    """Set gauge ``name`` for these ``tags`` to ``value`` (the last value wins)."""
    _labelled("gauge", name, tags, description).set(value)


def histogram(name: str, value: float, tags: Mapping[str, Any] | None = None, *,
              buckets: Sequence[float] | None = None, description: str = "") -> None:
    """Observe ``value`` in histogram ``name``; ``buckets`` (upper bounds) count only on the
    metric's first use, default ``DEFAULT_BUCKETS``."""
    _labelled("histogram", name, tags, description, buckets).observe(value)


def _labelled(kind: str, name: str, tags: Mapping[str, Any] | None, description: str,
              buckets: Sequence[float] | None = None) -> Any:
    """The child of metric ``name`` for ``tags``, creating the metric on first use."""
    tags = dict(tags or {})
    labels = tuple(sorted(tags))
    family = _families.get(name)
    if family is None:
        family = _create(kind, name, labels, description, buckets)
    if family.kind != kind:
        raise MetricError(f"metric {name!r} is a {family.kind}; it cannot be used as a {kind}")
    if family.labels != labels:
        raise MetricError(f"metric {name!r} has tags {list(family.labels)}; got "
                          f"{list(labels)} (Prometheus fixes a metric's tag keys at first use)")
    if not labels:
        return family.metric
    return family.metric.labels(*(str(tags[label]) for label in labels))


def _create(kind: str, name: str, labels: tuple[str, ...], description: str,
            buckets: Sequence[float] | None) -> _Family:
    _check_name(name, labels, kind)
    with _lock:
        family = _families.get(name)
        if family is not None:
            return family
        doc = description or f"{name} ({kind} recorded by workflow steps)"
        try:
            if kind == "counter":
                metric: Any = Counter(name, doc, labels, registry=REGISTRY)
            elif kind == "gauge":
                metric = Gauge(name, doc, labels, registry=REGISTRY)
            else:
                metric = Histogram(name, doc, labels, registry=REGISTRY,
                                   buckets=tuple(buckets or DEFAULT_BUCKETS))
        except ValueError as exc:  # e.g. a name another library registered already
            raise MetricError(f"metric {name!r}: {exc}") from None
        family = _families[name] = _Family(kind, labels, metric)
        return family


def _check_name(name: str, labels: tuple[str, ...], kind: str) -> None:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise MetricError(f"metric name {name!r} is not valid: use letters, digits, '_' and "
                          "':' and do not start with a digit (e.g. 'records_processed')")
    if name.startswith(RESERVED_PREFIX):
        raise MetricError(f"metric name {name!r}: names starting {RESERVED_PREFIX!r} are the "
                          "engine's own; choose another prefix")
    for label in labels:
        if not _LABEL.fullmatch(label) or label.startswith("__") or (
                kind == "histogram" and label == "le"):
            raise MetricError(f"metric {name!r}: tag key {label!r} is not a valid label name "
                              "(letters, digits and '_', not starting with '__'; not 'le' on "
                              "a histogram)")
