"""``DLQManager``: a dead-letter queue in the run store for items a workflow could not process
(spec M1), with their error and payload, to be listed, replayed or purged later.

Items are added by handlers (``add``, or the spec's ``add_to_dlq``); inside a step the run,
workflow and step are filled in from the step being run. Replaying means one of two things:

- through a function, ``replay(item_or_queue, fn)``: ``fn(payload)`` runs here, now; the item
  is marked replayed when it returns, and handed back (pending, with the new error and one
  more attempt) when it raises — the library user's way;
- through a workflow, ``replay(item_or_queue, "workflow.name")`` (or a ``Workflow``): a run
  starts through ``engine.start_run`` with the payload as its params (a payload that is not a
  mapping becomes ``{"payload": value}``), recorded in the same store; the item is marked
  replayed with that run's id once the run is stored. With ``wait=True`` the replay waits for
  the run and hands the item back if it did not complete — ``spine-engine dlq replay``.

An item is claimed in one ``UPDATE`` before it is replayed, so two processes replaying the same
queue never replay one item twice. ``purge`` is a soft delete: purged items stay in the table
(``purged_at``) but are no longer listed or replayed.
"""

from __future__ import annotations

import builtins
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from .discovery import DiscoveredWorkflow
from .managed import ManagedWorkflow
from .policies import ErrorCategory
from .results import RunStatus
from .serialization import first_unserializable
from .start import RunHandle, start_run
from .step_scope import current_step
from .store import dead_letters as letters
from .store.dead_letters import DeadLetter, UnknownDeadLetterError
from .store.lazy import LazyStore
from .workflow import Workflow

__all__ = ["DLQError", "DLQManager", "DLQReplay", "DeadLetter", "UnknownDeadLetterError"]

ReplayTarget = Callable[[Any], Any] | Workflow | ManagedWorkflow | DiscoveredWorkflow | str
_WORKFLOWS = (Workflow, ManagedWorkflow, DiscoveredWorkflow, str)


class DLQError(ValueError):
    """A dead-letter request that cannot be done as asked (an item already replayed, a bad
    queue name or payload); the message says what to do instead."""


@dataclass(frozen=True, slots=True)
class DLQReplay:
    """What replaying one item did: ``ok`` when the function returned or the run started (and,
    when waited for, completed); ``run_id`` of the run a workflow replay started."""

    letter_id: int
    ok: bool
    run_id: str | None = None
    error: str | None = None
    handle: RunHandle | None = field(default=None, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.letter_id, "ok": self.ok, "run_id": self.run_id, "error": self.error}


class DLQManager:
    """Dead letters in one run store (default: ``$SPINE_DB``, opened on first use)."""

    def __init__(self, store: Any = None, *, clock: Callable[[], float] = time.time) -> None:
        self._store = LazyStore(store)
        self._clock = clock

    @property
    def store_path(self) -> Path:
        """The run-store file the items are kept in."""
        return self._store.path

    # ------------------------------------------------------------------ adding
    def add(self, queue: str, payload: Any, *, error: str | BaseException | None = None,
            error_category: ErrorCategory | str | None = None, run_id: str | None = None,
            workflow: str | None = None, step: str | None = None,
            attempts: int = 0) -> DeadLetter:
        """Store ``payload`` (JSON-serialisable) in ``queue`` with why it failed; inside a step,
        ``run_id``/``workflow``/``step`` default to the step being run."""
        _check_queue(queue)
        problem = first_unserializable(payload, "payload")
        if problem is not None:
            raise DLQError(f"dead letter for queue {queue!r}: {problem[0]} is a {problem[1]}, "
                           "which JSON cannot hold; store plain data (convert or drop it)")
        scope = current_step()
        if scope is not None:
            run_id = run_id or scope.run_id
            workflow = workflow or scope.workflow
            step = step or scope.step
        if isinstance(error, BaseException):
            error_category = error_category or getattr(error, "category", None)
            error = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        category = None if error_category is None else \
            str(getattr(error_category, "value", error_category)).upper()
        return letters.insert(self._store.db, queue, payload, error=error,
                              error_category=category, run_id=run_id, workflow=workflow,
                              step=step, attempts=attempts, now=self._clock())

    #: the spec's name for ``add``
    add_to_dlq = add

    # ------------------------------------------------------------------ reading
    def get(self, letter_id: int) -> DeadLetter:
        """One item by id, whatever its status (``UnknownDeadLetterError`` if none)."""
        return letters.get(self._store.db, letter_id)

    def list(self, queue: str | None = None, include_replayed: bool = False,
             limit: int | None = 100, *, include_purged: bool = False
             ) -> builtins.list[DeadLetter]:
        """Items in queue order (oldest first): pending ones, and replayed (or purged) ones
        when asked for."""
        return letters.select(self._store.db, queue=queue, include_replayed=include_replayed,
                              include_purged=include_purged, limit=limit)

    def queues(self) -> dict[str, int]:
        """Pending items per queue."""
        return letters.queue_counts(self._store.db)

    # ------------------------------------------------------------------ replaying
    def replay(self, item_or_queue: int | str, target: ReplayTarget, *,
               started_by: str = "script", wait: bool = False,
               limit: int | None = None) -> builtins.list[DLQReplay]:
        """Replay one item (an id) or a queue's pending items, oldest first (at most
        ``limit``), through a function or a workflow (see the module docstring)."""
        db = self._store.db
        if isinstance(item_or_queue, bool) or not isinstance(item_or_queue, int | str):
            raise DLQError(f"replay takes an item id or a queue name, got {item_or_queue!r}")
        if isinstance(item_or_queue, int):
            item = letters.get(db, item_or_queue)
            if item.status != "pending":
                raise DLQError(_not_pending(item))
            items = [item]
        else:
            _check_queue(item_or_queue)
            items = letters.select(db, queue=item_or_queue, limit=limit)
        if not callable(target) and not isinstance(target, _WORKFLOWS):
            raise DLQError(f"replay through a function or a workflow, got {target!r}")
        done: builtins.list[DLQReplay] = []
        for item in items:
            if not letters.claim(db, item.id, self._clock()):
                if isinstance(item_or_queue, int):  # someone else took it meanwhile
                    raise DLQError(_not_pending(letters.get(db, item.id)))
                continue
            done.append(self._replay_one(item, target, started_by, wait))
        return done

    def _replay_one(self, item: DeadLetter, target: ReplayTarget, started_by: str,
                    wait: bool) -> DLQReplay:
        db = self._store.db
        if callable(target) and not isinstance(target, _WORKFLOWS):
            try:
                target(item.payload)
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                letters.release(db, item.id, error, _category(exc))
                return DLQReplay(item.id, False, error=error)
            letters.record_replay(db, item.id, None)
            return DLQReplay(item.id, True)
        params = dict(item.payload) if isinstance(item.payload, Mapping) else \
            {"payload": item.payload}
        try:
            handle = start_run(target, params, db=self._store.path, started_by=started_by)
        except Exception as exc:  # an unknown workflow, bad params: the item stays pending
            error = f"{type(exc).__name__}: {exc}"
            letters.release(db, item.id, error, ErrorCategory.CONFIGURATION.value)
            return DLQReplay(item.id, False, error=error)
        letters.record_replay(db, item.id, handle.run_id)
        if not wait:
            return DLQReplay(item.id, True, handle.run_id, handle=handle)
        try:
            result = handle.wait()
        except Exception as exc:  # a definition error the run failed with
            result_error, category = f"{type(exc).__name__}: {exc}", _category(exc)
        else:
            if result.status is RunStatus.COMPLETED:
                return DLQReplay(item.id, True, handle.run_id, handle=handle)
            result_error = f"run {handle.run_id} {result.status.value}: {result.error}"
            failed = result.steps.get(result.error_step or "")
            category = failed.error_category if failed is not None else None
        letters.release(db, item.id, result_error, category, counted=True)
        return DLQReplay(item.id, False, handle.run_id, result_error, handle=handle)

    # ------------------------------------------------------------------ purging
    def purge(self, queue: str | None = None, older_than: float | timedelta | None = None,
              *, ids: Sequence[int] | None = None) -> int:
        """Soft-delete items (pending and replayed) of ``queue`` (all queues when None), only
        those created more than ``older_than`` ago (seconds or a timedelta) when given, only
        ``ids`` when given; returns how many were purged."""
        if queue is not None:
            _check_queue(queue)
        now = self._clock()
        before = None
        if older_than is not None:
            seconds = older_than.total_seconds() if isinstance(older_than, timedelta) \
                else float(older_than)
            if seconds < 0:
                raise DLQError(f"older_than must not be negative, got {older_than!r}")
            before = now - seconds
        return letters.purge(self._store.db, queue=queue, before=before,
                             ids=None if ids is None else [int(i) for i in ids], now=now)

    def __repr__(self) -> str:
        return f"DLQManager({self._store!r})"


def _check_queue(queue: Any) -> None:
    if not isinstance(queue, str) or not queue.strip():
        raise DLQError(f"a dead-letter queue needs a non-empty name, got {queue!r}")


def _not_pending(item: DeadLetter) -> str:
    if item.status == "purged":
        return f"dead letter {item.id} was purged; it can no longer be replayed"
    run = f" (run {item.replay_run_id})" if item.replay_run_id else ""
    return f"dead letter {item.id} was replayed already{run}; add it again to replay it twice"


def _category(exc: BaseException) -> str | None:
    category = getattr(exc, "category", None)
    return None if category is None else str(getattr(category, "value", category)).upper()
