"""``IncrementalCursors``: look at and reset the high-water marks of incremental sources."""

from __future__ import annotations

import builtins
from pathlib import Path
from typing import Any

from ..errors import WorkflowError
from ..store import incremental
from ..store.incremental import CursorRecord
from ..store.lazy import LazyStore


class UnknownCursorError(WorkflowError, LookupError):
    """No cursor of that name is stored (it was reset, or its source never completed a run)."""


class IncrementalCursors:
    """The cursors kept in one run store (default ``$SPINE_DB``, opened on first use).

    A cursor moves forward only when a run that read it completes; ``reset`` makes the next
    run read every row again, ``set`` starts it from a chosen value (e.g. to re-process the
    last week).
    """

    def __init__(self, store: Any = None) -> None:
        self._store = LazyStore(store)

    @property
    def store_path(self) -> Path:
        return self._store.path

    def get(self, name: str) -> CursorRecord:
        """The cursor ``name`` (``UnknownCursorError`` when none is stored)."""
        found = incremental.get_cursor(self._store.db, name)
        if found is None:
            raise UnknownCursorError(self._unknown(name))
        return found

    def find(self, name: str) -> CursorRecord | None:
        return incremental.get_cursor(self._store.db, name)

    def list(self, workflow: str | None = None) -> builtins.list[CursorRecord]:
        """Every stored cursor (of ``workflow`` when given), by name."""
        return incremental.list_cursors(self._store.db, workflow)

    def reset(self, name: str) -> CursorRecord:
        """Forget the cursor: the source's next run reads every row; returns what it was."""
        found = self.get(name)
        incremental.reset(self._store.db, name)
        return found

    def set(self, name: str, value: Any, cursor_field: str | None = None) -> CursorRecord:
        """Put the cursor at ``value`` (JSON data: a number, an ISO date text...); the field
        defaults to the stored cursor's."""
        found = incremental.get_cursor(self._store.db, name)
        field = cursor_field or (found.cursor_field if found is not None else None)
        if not field:
            raise UnknownCursorError(f"{self._unknown(name)}; to create it, give cursor_field")
        return incremental.set_value(self._store.db, name, value, field,
                                     workflow=found.workflow if found else None,
                                     step=found.step if found else None)

    def _unknown(self, name: str) -> str:
        names = [c.name for c in self.list()]
        known = f"; stored cursors: {', '.join(names)}" if names else "; no cursor is stored"
        return f"no cursor named {name!r} in {self._store.path}{known}"
