"""``EventRouter`` (spec §7): match events to triggers and start their runs.

The router holds the triggers registered on it plus those declared in the current catalog
(``catalog()`` is called on every event, so a hot-reloaded catalog is used at once). It is
handed the run entry point, ``start`` (``engine.start_run``, or a ``functools.partial`` of it
sharing one runner), rather than importing it: discovery and the YAML loader build triggers,
so the trigger package sits below them and never imports them back.

Webhooks: ``handle_webhook(name, body, signature)`` verifies the signature, parses the JSON,
applies the filter and mapping and starts the run; nothing else (no file I/O, no discovery)
happens on that path. Files and polling: ``start()`` runs one thread per enabled trigger of
those kinds, and a supervisor thread that follows the catalog (a trigger added, changed or
removed by a reload is started, restarted or stopped within ``REFRESH_SECONDS``); ``stop()``
ends them. ``astart``/``astop``/``handle_event`` are the async faces of the same calls.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ..store import open_store, trigger_seen
from ..store.db import Database
from . import webhook
from .errors import (
    TriggerDefinitionError,
    TriggerError,
    TriggerStartError,
    TriggerWorkflowError,
    UnknownTriggerError,
)
from .sources import WebhookSource
from .trigger import EventTrigger, TriggerFire
from .watchers import FileWatcher, PollingWatcher, Watcher

if TYPE_CHECKING:
    from ..discovery import Catalog

#: ``start(target, params, *, db=..., started_by=...)`` returning a handle with ``run_id``
StartRun = Callable[..., Any]
REFRESH_SECONDS = 1.0
_WATCHERS: dict[str, type[Watcher]] = {"file": FileWatcher, "poll": PollingWatcher}
log = logging.getLogger("engine.triggers")


class EventRouter:
    """Routes events to triggers and starts their runs through ``start``.

    ``catalog`` returns the current ``Catalog`` (its workflows are the runs' targets, its
    ``triggers`` are routed too); without one, workflows are looked up by name in the registry
    and only registered triggers exist. ``db`` is the run store (path, ``RunStore``...), where
    runs are recorded and file/polling triggers remember what they have seen.
    """

    def __init__(self, catalog: Callable[[], Catalog] | None = None, *, start: StartRun,
                 db: Any = None, triggers: Iterable[EventTrigger] = ()) -> None:
        self._catalog = catalog
        self._start = start
        self._db = db
        self._registered: dict[str, EventTrigger] = {}
        self._lock = threading.Lock()
        self._watchers: dict[str, Watcher] = {}
        self._stop: threading.Event | None = None
        self._supervisor: threading.Thread | None = None
        self._database: Database | None = None
        self._db_lock = threading.Lock()
        for trigger in triggers:
            self.register(trigger)

    # ------------------------------------------------------------------ triggers
    def register(self, trigger: EventTrigger) -> None:
        """Add a trigger (its name must be new among registered ones); a running router starts
        watching it within ``REFRESH_SECONDS``."""
        if not isinstance(trigger, EventTrigger):
            raise TypeError(f"register() takes an EventTrigger, got {type(trigger).__name__}")
        with self._lock:
            if trigger.name in self._registered:
                raise TriggerDefinitionError(f"trigger {trigger.name!r} is already "
                                             "registered; trigger names are unique")
            self._registered[trigger.name] = trigger

    @property
    def triggers(self) -> tuple[EventTrigger, ...]:
        """Registered triggers, then the catalog's (a registered one wins a name clash)."""
        with self._lock:
            found = dict(self._registered)
        if self._catalog is not None:
            for trigger in self._catalog().triggers:
                found.setdefault(trigger.name, trigger)
        return tuple(found.values())

    def get(self, name: str) -> EventTrigger:
        """The trigger called ``name``, or ``UnknownTriggerError`` listing the known ones."""
        with self._lock:
            trigger = self._registered.get(name)
        if trigger is not None:
            return trigger
        known = self.triggers
        found = next((t for t in known if t.name == name), None)
        if found is None:
            names = ", ".join(sorted(t.name for t in known)) or "none"
            raise UnknownTriggerError(f"no trigger named {name!r} (triggers: {names})")
        return found

    # ------------------------------------------------------------------ events
    def fire(self, name: str, event: Mapping[str, Any]) -> TriggerFire | None:
        """Run trigger ``name`` on ``event`` by hand: None when it is disabled or its filter
        does not match; ``TriggerFilterError``/``TriggerWorkflowError``/``TriggerStartError``
        when it cannot fire."""
        return self._run(self.get(name), event)

    def dispatch(self, source: str, event: Mapping[str, Any]) -> list[TriggerFire]:
        """Run every trigger whose name is ``source``, or whose source key (webhook path,
        folder, URL) is ``source``, on ``event``; a trigger that fails is logged and the
        others still run. ``UnknownTriggerError`` when none is called that."""
        chosen = [t for t in self.triggers if source in (t.name, t.event_source.key)]
        if not chosen:
            raise UnknownTriggerError(f"no trigger is named or listens to {source!r}")
        fired = []
        for trigger in chosen:
            try:
                started = self._run(trigger, event)
            except TriggerError as exc:
                log.error("trigger %r did not fire: %s", trigger.name, exc)
                continue
            if started is not None:
                fired.append(started)
        return fired

    async def handle_event(self, source: str, event: Mapping[str, Any]) -> list[TriggerFire]:
        """``dispatch`` for async callers (spec §7), off the event loop's thread."""
        return await _to_thread(self.dispatch, source, event)

    def handle_webhook(self, name: str, body: bytes,
                       signature: str | None) -> TriggerFire | None:
        """A webhook request for trigger ``name`` (or the trigger whose ``path`` it is).

        Raises, for the HTTP layer: ``UnknownTriggerError`` (404), ``TriggerSignatureError``
        (401: checked before anything else about the request), ``TriggerPayloadError`` (400),
        ``TriggerFilterError`` (422), ``TriggerWorkflowError`` (409), ``TriggerStartError``
        (500). Returns None when the trigger is disabled or its filter does not match (202,
        nothing started).
        """
        trigger = self._webhook(name)
        assert isinstance(trigger.event_source, WebhookSource)
        webhook.verify(trigger.name, trigger.event_source, body, signature)
        return self._run(trigger, webhook.parse_event(body))

    def _webhook(self, name: str) -> EventTrigger:
        try:
            trigger = self.get(name)
        except UnknownTriggerError:
            by_path = next((t for t in self.triggers if t.kind == "webhook"
                            and t.event_source.key == name), None)
            if by_path is None:
                raise
            trigger = by_path
        if not isinstance(trigger.event_source, WebhookSource):
            raise UnknownTriggerError(f"trigger {name!r} is a {trigger.kind} trigger, not a "
                                      "webhook")
        return trigger

    def _run(self, trigger: EventTrigger, event: Mapping[str, Any]) -> TriggerFire | None:
        """Filter, map and start one trigger's run on ``event``."""
        if not trigger.enabled:
            log.info("trigger %r is disabled: event ignored", trigger.name)
            return None
        if not trigger.matches(event):
            log.debug("trigger %r: the filter did not match the event", trigger.name)
            return None
        params = trigger.params_for(event)
        target = self._target(trigger)
        try:
            handle = self._start(target, params, db=self._db, started_by=trigger.started_by)
        except Exception as exc:
            raise TriggerStartError(f"trigger {trigger.name!r} could not start "
                                    f"{trigger.workflow_name!r}: {type(exc).__name__}: {exc}"
                                    ) from exc
        log.info("trigger %r started run %s of %r", trigger.name, handle.run_id,
                 trigger.workflow_name)
        return TriggerFire(trigger.name, trigger.workflow_name, handle.run_id, params)

    def _target(self, trigger: EventTrigger) -> Any:
        """What ``start`` runs: the catalog's workflow, else the registered name."""
        if self._catalog is None:
            return trigger.workflow_name
        item = self._catalog().get(trigger.workflow_name)
        if item is None:
            raise TriggerWorkflowError(f"trigger {trigger.name!r} starts workflow "
                                       f"{trigger.workflow_name!r}, which is not in the "
                                       "catalog; check the name or the file that defines it")
        return item

    def _offer(self, trigger: EventTrigger, item: str, event: dict[str, Any]) -> bool:
        """A watcher found ``item``: claim it (once across processes), fire, note the run; an
        item whose run could not start is forgotten, to be offered again."""
        db = self._store()
        if not trigger_seen.claim(db, trigger.name, item):
            return False
        try:
            fired = self._run(trigger, event)
        except Exception as exc:  # logged here: a watcher thread has nobody else to tell
            log.error("trigger %r did not fire for %s: %s", trigger.name, item, exc)
            trigger_seen.forget(db, trigger.name, [item])
            return False
        if fired is not None:
            trigger_seen.record_run(db, trigger.name, item, fired.run_id)
        return fired is not None

    # ------------------------------------------------------------------ watching
    def start(self) -> None:
        """Start watching for every enabled file and polling trigger, in daemon threads."""
        with self._lock:
            if self._stop is not None:
                return
            self._stop = stop = threading.Event()
        self.refresh()
        self._supervisor = threading.Thread(target=self._follow_catalog, args=(stop,),
                                            name="spine-trigger-router", daemon=True)
        self._supervisor.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop every watcher thread and wait (up to ``timeout`` each) for them to end."""
        with self._lock:
            stop, self._stop = self._stop, None
            watchers, self._watchers = list(self._watchers.values()), {}
        if stop is not None:
            stop.set()
        if self._supervisor is not None:
            self._supervisor.join(timeout)
            self._supervisor = None
        for watcher in watchers:
            watcher.stop()
        for watcher in watchers:
            watcher.join(timeout)
        self._close_store()

    async def astart(self) -> None:
        """``start`` for async callers (the spec's ``async start()``)."""
        await _to_thread(self.start)

    async def astop(self) -> None:
        """``stop`` for async callers."""
        await _to_thread(self.stop)

    def __enter__(self) -> EventRouter:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    @property
    def watching(self) -> dict[str, Watcher]:
        """The running watchers by trigger name (``ready``: watching; ``error``: why not)."""
        with self._lock:
            return dict(self._watchers)

    @property
    def ready(self) -> bool:
        """Whether the router runs and every watcher is watching."""
        with self._lock:
            return self._stop is not None and all(w.ready.is_set()
                                                  for w in self._watchers.values())

    def refresh(self) -> None:
        """Start, restart or stop watchers so they match the current triggers."""
        wanted = {t.name: t for t in self.triggers if t.enabled and t.kind in _WATCHERS}
        with self._lock:
            if self._stop is None:
                return
            stale = [w for name, w in self._watchers.items() if wanted.get(name) != w.trigger]
            for watcher in stale:
                del self._watchers[watcher.trigger.name]
            fresh = [t for name, t in wanted.items() if name not in self._watchers]
            for trigger in fresh:
                watcher = _WATCHERS[trigger.kind](trigger, self._store(), self._offer)
                self._watchers[trigger.name] = watcher
                watcher.start()
        for watcher in stale:
            watcher.stop()

    def _follow_catalog(self, stop: threading.Event) -> None:
        while not stop.wait(REFRESH_SECONDS):
            try:
                self.refresh()
            except Exception:  # a broken catalog callable must not end the supervisor
                log.exception("trigger router could not refresh its watchers")

    def _store(self) -> Database:
        """The store's database, opened on first use (webhooks never need it)."""
        with self._db_lock:
            if self._database is None:
                self._database = open_store(self._db).db
            return self._database

    def _close_store(self) -> None:
        """Close the database the router opened itself (not one it was handed)."""
        with self._db_lock:
            database, self._database = self._database, None
        if database is not None and database is not getattr(self._db, "db", self._db):
            database.close()


async def _to_thread(function: Callable[..., Any], *args: Any) -> Any:
    """``asyncio.to_thread``, with asyncio loaded only by callers of the async methods: importing
    ``engine`` stays free of it (a synchronous user never pays its ~12 ms)."""
    import asyncio

    return await asyncio.to_thread(function, *args)
