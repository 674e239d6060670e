"""``AnomalyRecorder``: what a workflow noticed that people should look at, without failing
the run (a quality score below target, records quarantined, a breaker that opened), kept in
the run store as an audit trail (spec 15, M1).

Anomalies are never deleted; ``resolve`` marks one handled. Inside a step the run, workflow
and step are filled in from the step being run. Categories and severities are the fixed sets
below (given as members or their names, case-insensitive), so listings can filter on them.
"""

from __future__ import annotations

import builtins
import time
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any

from .serialization import first_unserializable
from .step_scope import current_step
from .store import anomalies as rows
from .store.anomalies import AnomalyRecord, UnknownAnomalyError
from .store.lazy import LazyStore

__all__ = ["AnomalyCategory", "AnomalyRecord", "AnomalyRecorder", "Severity",
           "UnknownAnomalyError"]


class Severity(StrEnum):
    """How urgent an anomaly is, from diagnostic to needing someone now."""

    DEBUG = "DEBUG"
    INFO = "INFO"
    WARN = "WARN"
    ERROR = "ERROR"
    CRITICAL = "CRITICAL"


class AnomalyCategory(StrEnum):
    """What kind of problem an anomaly is, for routing and filtering."""

    QUALITY_GATE = "QUALITY_GATE"
    DATA_QUALITY = "DATA_QUALITY"
    DEPENDENCY = "DEPENDENCY"
    NETWORK = "NETWORK"
    SOURCE_ERROR = "SOURCE_ERROR"
    STEP_FAILURE = "STEP_FAILURE"
    WORKFLOW_FAILURE = "WORKFLOW_FAILURE"
    CONFIGURATION = "CONFIGURATION"
    TIMEOUT = "TIMEOUT"
    RESOURCE = "RESOURCE"
    UNKNOWN = "UNKNOWN"


_SEVERITY_ALIASES = {"WARNING": Severity.WARN}


class AnomalyRecorder:
    """Anomalies in one run store (default: ``$SPINE_DB``, opened on first use)."""

    def __init__(self, store: Any = None, *, clock: Callable[[], float] = time.time) -> None:
        self._store = LazyStore(store)
        self._clock = clock

    def record(self, category: AnomalyCategory | str, severity: Severity | str, message: str,
               *, details: Mapping[str, Any] | None = None, run_id: str | None = None,
               workflow: str | None = None, step: str | None = None) -> AnomalyRecord:
        """Store one anomaly and return it; ``details`` is JSON-serialisable data."""
        cat = parse_category(category)
        sev = parse_severity(severity)
        if not isinstance(message, str) or not message.strip():
            raise ValueError(f"an anomaly needs a message saying what happened, got {message!r}")
        data = dict(details or {})
        problem = first_unserializable(data, "details")
        if problem is not None:
            raise ValueError(f"anomaly details: {problem[0]} is a {problem[1]}, which JSON "
                             "cannot hold; pass plain data")
        scope = current_step()
        if scope is not None:
            run_id = run_id or scope.run_id
            workflow = workflow or scope.workflow
            step = step or scope.step
        return rows.insert(self._store.db, category=cat.value, severity=sev.value,
                           message=message, details=data, run_id=run_id, workflow=workflow,
                           step=step, now=self._clock())

    def get(self, anomaly_id: int) -> AnomalyRecord:
        return rows.get(self._store.db, anomaly_id)

    def list(self, *, unresolved_only: bool = False, severity: Severity | str | None = None,
             category: AnomalyCategory | str | None = None, run_id: str | None = None,
             workflow: str | None = None, since: float | None = None,
             limit: int | None = 100) -> builtins.list[AnomalyRecord]:
        """Anomalies newest first, filtered by whichever arguments are given."""
        return rows.select(self._store.db, unresolved_only=unresolved_only,
                           severity=None if severity is None else parse_severity(severity).value,
                           category=None if category is None else parse_category(category).value,
                           run_id=run_id, workflow=workflow, since=since, limit=limit)

    def resolve(self, anomaly_id: int) -> AnomalyRecord:
        """Mark an anomaly handled (resolving it again keeps the first time)."""
        return rows.resolve(self._store.db, anomaly_id, self._clock())

    def __repr__(self) -> str:
        return f"AnomalyRecorder({self._store!r})"


def parse_severity(value: Severity | str) -> Severity:
    """A ``Severity`` from a member or its name (``warn``, ``WARNING``, ``error`` ...)."""
    if isinstance(value, Severity):
        return value
    text = str(value).strip().upper()
    try:
        return _SEVERITY_ALIASES.get(text) or Severity(text)
    except ValueError:
        raise ValueError(f"unknown severity {value!r}; use one of "
                         f"{', '.join(s.value for s in Severity)}") from None


def parse_category(value: AnomalyCategory | str) -> AnomalyCategory:
    """An ``AnomalyCategory`` from a member or its name, case-insensitive."""
    if isinstance(value, AnomalyCategory):
        return value
    try:
        return AnomalyCategory(str(value).strip().upper())
    except ValueError:
        raise ValueError(f"unknown anomaly category {value!r}; use one of "
                         f"{', '.join(c.value for c in AnomalyCategory)}") from None
