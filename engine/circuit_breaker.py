"""``CircuitBreaker``: stop calling a failing dependency for a while, shared by every process
that uses the same run store (spec 15c, I5, M1).

Closed, calls go through and consecutive failures are counted; ``failure_threshold`` of them
open the breaker. Open, ``allow_request()`` is False until ``recovery_timeout`` seconds have
passed; then the breaker is half-open and lets trial calls through (all of them: it does not
ration trials). ``success_threshold`` trial successes close it again; one trial failure
re-opens it for another ``recovery_timeout``. A success while closed resets the failure count.
A late outcome reported while open (of a call let through before it opened) changes nothing.

The state lives in the run store (``engine.store.breakers``), keyed by name, so threads and
processes share it: each change is one write transaction, and every ``allow_request()`` reads
the row (one primary-key ``SELECT``, no cache), so a breaker opened by one process refuses in
all of them at once. Calls that change nothing (a success while closed with no failures, a
request while closed) do not write.

``store=None`` means the default run store (``$SPINE_DB``, else ``$SPINE_HOME/spine.db``),
looked up at each use: a breaker built at import time opens nothing until it is first used.
The thresholds stored with the row are those of the first process that used the name (or of
a ``reset``); each object applies its own thresholds to the shared counts.
"""

from __future__ import annotations

import logging
import time
import weakref
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, TypeVar

from .policies import ErrorCategory
from .results import RunStatus, StepResult
from .store import breakers as rows
from .store.breakers import BreakerRecord, CircuitState
from .store.lazy import LazyStore
from .store.schema import StoreError

__all__ = ["BreakerRecord", "CircuitBreaker", "CircuitOpenError", "CircuitState", "breaker_for",
           "list_breakers"]

logger = logging.getLogger("engine.circuit_breaker")
T = TypeVar("T")
Event = Literal["allow", "success", "failure", "reset", "trip"]

DEFAULT_FAILURE_THRESHOLD = 5
DEFAULT_RECOVERY_TIMEOUT = 60.0
DEFAULT_SUCCESS_THRESHOLD = 1

#: breakers built in this process for the default store, by name (the latest wins); a step's
#: ``circuit_breaker="x"`` finds its breaker here first
_registry: weakref.WeakValueDictionary[str, CircuitBreaker] = weakref.WeakValueDictionary()
#: breakers ``named`` had to build, kept so the next step guarded by the name finds them
_built_by_name: dict[str, CircuitBreaker] = {}


class CircuitOpenError(Exception):
    """A call was refused because its circuit breaker is open; a step failing with it gets the
    DEPENDENCY category, which retry policies can retry once the breaker lets trials through."""

    category = ErrorCategory.DEPENDENCY

    def __init__(self, message: str | None = None, *, breaker: str | None = None,
                 until: datetime | None = None) -> None:
        self.breaker = breaker
        self.until = until
        super().__init__(message or open_message(breaker or "?", until))


def open_message(name: str, until: datetime | None, failures: int | None = None) -> str:
    """``circuit breaker 'x' is open until 2025-01-31T06:00:05Z (3 failures in a row)``."""
    when = f" until {until.strftime('%Y-%m-%dT%H:%M:%SZ')}" if until is not None else ""
    count = f" ({failures} failures in a row)" if failures else ""
    return f"circuit breaker {name!r} is open{when}{count}"


class CircuitBreaker:
    """A named, thread- and process-safe circuit breaker kept in the run store.

    Use it by hand (``allow_request()`` then ``record_success()``/``record_failure()``), around
    a call (``call(fn, ...)`` or ``with breaker:``, both raising ``CircuitOpenError`` when
    open), or on a step (``Step.lambda_(..., circuit_breaker=breaker_or_name)``).
    ``clock`` gives "now" in unix seconds (tests pass a fake one).
    """

    def __init__(self, name: str, failure_threshold: int = DEFAULT_FAILURE_THRESHOLD,
                 recovery_timeout: float = DEFAULT_RECOVERY_TIMEOUT,
                 success_threshold: int = DEFAULT_SUCCESS_THRESHOLD, *, store: Any = None,
                 clock: Callable[[], float] = time.time) -> None:
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"a circuit breaker needs a non-empty name, got {name!r}")
        _check_thresholds(name, failure_threshold, recovery_timeout, success_threshold)
        self.name = name
        self.failure_threshold = int(failure_threshold)
        self.recovery_timeout = float(recovery_timeout)
        self.success_threshold = int(success_threshold)
        self._store = LazyStore(store)
        self._clock = clock
        if store is None:  # names resolve against the default store (``named``)
            _registry[name] = self

    @classmethod
    def named(cls, name: str, *, store: Any = None) -> CircuitBreaker:
        """The breaker built last in this process under ``name`` (for the default store),
        else one with the thresholds stored for ``name`` (the defaults when it has none)."""
        existing = _registry.get(name) if store is None else None
        if existing is not None:
            return existing
        try:
            stored = rows.find(LazyStore(store).db, name)
        except StoreError:  # reported when the breaker is used
            stored = None
        if stored is None:
            built = cls(name, store=store)
        else:
            built = cls(name, stored.failure_threshold, stored.recovery_timeout,
                        stored.success_threshold, store=store)
        if store is None:
            _built_by_name[name] = built
        return built

    # ------------------------------------------------------------------ reads
    @property
    def store_path(self) -> Path:
        """The run-store file the state is kept in."""
        return self._store.path

    def snapshot(self) -> BreakerRecord:
        """The shared state as stored (a fresh closed one before the first write)."""
        return rows.find(self._store.db, self.name) or self._fresh(0.0)

    @property
    def state(self) -> CircuitState:
        """Closed, open or half-open; an open breaker past its recovery timeout reads as
        half-open (it lets the next request through)."""
        record = self.snapshot()
        if record.state is CircuitState.OPEN and self._recovered(record, self._clock()):
            return CircuitState.HALF_OPEN
        return record.state

    @property
    def failures(self) -> int:
        return self.snapshot().failures

    @property
    def open_until(self) -> datetime | None:
        """When an open breaker lets trial requests through (None unless open)."""
        record = self.snapshot()
        if record.state is not CircuitState.OPEN or record.opened_at is None:
            return None
        return datetime.fromtimestamp(record.opened_at + self.recovery_timeout, UTC)

    # ------------------------------------------------------------------ changes
    def allow_request(self) -> bool:
        """True when a call may go ahead: closed, half-open, or open past its recovery timeout
        (which moves it to half-open for every process)."""
        return self._apply("allow").state is not CircuitState.OPEN

    def record_success(self) -> None:
        """A call succeeded: resets the failure count, or counts towards closing a half-open
        breaker."""
        self._apply("success")

    def record_failure(self) -> None:
        """A call failed: counts towards opening a closed breaker, re-opens a half-open one."""
        self._apply("failure")

    def reset(self) -> None:
        """Close the breaker and clear its counts (an operator's "it is fixed")."""
        self._apply("reset")

    def trip(self) -> None:
        """Open the breaker now (an operator's "stop calling it"), for ``recovery_timeout``."""
        self._apply("trip")

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)`` through the breaker; raises ``CircuitOpenError`` when open,
        and records the call's success or failure (an exception, which is re-raised)."""
        self._check_allowed()
        try:
            result = fn(*args, **kwargs)
        except Exception:
            self.record_failure()
            raise
        self.record_success()
        return result

    def __enter__(self) -> CircuitBreaker:
        self._check_allowed()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if kind is None:
            self.record_success()
        elif issubclass(kind, Exception):  # not KeyboardInterrupt and friends
            self.record_failure()

    # ------------------------------------------------------------------ steps
    def refuse(self, step: str) -> StepResult | None:
        """None when ``step`` may run; else its failed result (DEPENDENCY while open)."""
        try:
            if self.allow_request():
                return None
            record = self.snapshot()
        except StoreError as exc:
            return StepResult.fail(f"circuit breaker {self.name!r} could not be read from the "
                                   f"run store ({exc}); step {step!r} was not run",
                                   category=ErrorCategory.CONFIGURATION)
        until = None if record.opened_at is None else \
            datetime.fromtimestamp(record.opened_at + self.recovery_timeout, UTC)
        return StepResult.fail(f"{open_message(self.name, until, record.failures)}; step "
                               f"{step!r} was not run", category=ErrorCategory.DEPENDENCY)

    def record_outcome(self, result: StepResult) -> None:
        """Count one step attempt: completed is a success, failed a failure; skipped and
        cancelled attempts say nothing about the dependency. A store error is logged: the
        attempt's own outcome stands."""
        if result.status is RunStatus.SKIPPED or result.category == ErrorCategory.CANCELLED:
            return
        try:
            self._apply("success" if result.success else "failure")
        except StoreError:
            logger.exception("circuit breaker %r: the attempt's outcome was not recorded",
                             self.name)

    # ------------------------------------------------------------------ internals
    def _check_allowed(self) -> None:
        if not self.allow_request():
            until = self.open_until
            raise CircuitOpenError(open_message(self.name, until, self.failures),
                                   breaker=self.name, until=until)

    def _apply(self, event: Event) -> BreakerRecord:
        """Read the row; when ``event`` changes it, or there is no row yet (the first use
        creates it, so the breaker is listed), apply it in one write transaction."""
        db = self._store.db
        now = self._clock()
        current = rows.find(db, self.name)
        if current is not None and self._next(current, event, now) == current:
            return current
        stored = rows.update(db, self.name,
                             lambda row: self._next(row or self._fresh(now), event, now))
        return stored or self._fresh(now)

    def _fresh(self, now: float) -> BreakerRecord:
        return BreakerRecord(self.name, updated_at=now, **self._thresholds())

    def _thresholds(self) -> dict[str, Any]:
        return {"failure_threshold": self.failure_threshold,
                "recovery_timeout": self.recovery_timeout,
                "success_threshold": self.success_threshold}

    def _recovered(self, row: BreakerRecord, now: float) -> bool:
        return row.opened_at is None or now >= row.opened_at + self.recovery_timeout

    def _next(self, row: BreakerRecord, event: Event, now: float) -> BreakerRecord:
        """The row after ``event`` under this breaker's thresholds (``row`` when unchanged)."""
        state = row.state
        if event == "reset":
            return replace(row, state=CircuitState.CLOSED, failures=0, successes=0,
                           opened_at=None, updated_at=now, **self._thresholds())
        if event == "trip":
            return replace(row, state=CircuitState.OPEN, successes=0, opened_at=now,
                           updated_at=now)
        if event == "allow":
            if state is CircuitState.OPEN and self._recovered(row, now):
                return replace(row, state=CircuitState.HALF_OPEN, successes=0, updated_at=now)
            return row
        if event == "success":
            if state is CircuitState.CLOSED:
                return row if row.failures == 0 else replace(row, failures=0, updated_at=now)
            if state is CircuitState.HALF_OPEN:
                if row.successes + 1 >= self.success_threshold:
                    return replace(row, state=CircuitState.CLOSED, failures=0, successes=0,
                                   opened_at=None, updated_at=now)
                return replace(row, successes=row.successes + 1, updated_at=now)
            return row
        # a failure
        if state is CircuitState.CLOSED:
            if row.failures + 1 >= self.failure_threshold:
                return replace(row, state=CircuitState.OPEN, failures=row.failures + 1,
                               successes=0, opened_at=now, updated_at=now)
            return replace(row, failures=row.failures + 1, updated_at=now)
        if state is CircuitState.HALF_OPEN:
            return replace(row, state=CircuitState.OPEN, failures=row.failures + 1,
                           successes=0, opened_at=now, updated_at=now)
        return row

    def to_dict(self) -> dict[str, Any]:
        """The declaration (name and thresholds), as a step's export writes it."""
        return {"name": self.name, **self._thresholds()}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CircuitBreaker):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash((CircuitBreaker, self.name, self.failure_threshold, self.recovery_timeout,
                     self.success_threshold))

    def __repr__(self) -> str:
        return (f"CircuitBreaker({self.name!r}, failure_threshold={self.failure_threshold}, "
                f"recovery_timeout={self.recovery_timeout:g}, "
                f"success_threshold={self.success_threshold})")


def list_breakers(store: Any = None) -> list[BreakerRecord]:
    """Every breaker stored in ``store`` (default: ``$SPINE_DB``), by name, as stored (an
    open one past its recovery timeout still reads ``open`` until something asks it)."""
    return rows.list_breakers(LazyStore(store).db)


def breaker_for(value: CircuitBreaker | str) -> CircuitBreaker:
    """The breaker a step's ``circuit_breaker`` names: itself, or ``CircuitBreaker.named``."""
    return value if isinstance(value, CircuitBreaker) else CircuitBreaker.named(value)


def check_step_guard(step: str, breaker: object, idle_kind: str | None) -> None:
    """Refuse a step's ``circuit_breaker`` that is neither a breaker nor a name, or one on a
    step kind that calls nothing (``idle_kind``: wait, approval)."""
    if isinstance(breaker, str):
        if not breaker.strip():
            raise ValueError(f"step {step!r}: circuit_breaker needs a breaker name")
    elif not isinstance(breaker, CircuitBreaker):
        raise TypeError(f"step {step!r}: circuit_breaker must be a CircuitBreaker or a "
                        f"breaker's name, got {type(breaker).__name__}")
    if idle_kind is not None:
        raise ValueError(f"step {step!r}: circuit_breaker guards steps that call something, "
                         f"not a {idle_kind} step")


def _check_thresholds(name: str, failure_threshold: Any, recovery_timeout: Any,
                      success_threshold: Any) -> None:
    for label, value in (("failure_threshold", failure_threshold),
                         ("success_threshold", success_threshold)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"circuit breaker {name!r}: {label} must be a whole number >= 1, "
                             f"got {value!r}")
    if isinstance(recovery_timeout, bool) or not isinstance(recovery_timeout, int | float) \
            or recovery_timeout < 0:
        raise ValueError(f"circuit breaker {name!r}: recovery_timeout must be seconds >= 0, "
                         f"got {recovery_timeout!r}")
