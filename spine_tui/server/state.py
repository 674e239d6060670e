"""What one ``serve`` process holds: the run store, the hot-reloaded catalog, one tracked
runner shared by every run it starts, and the handles of those runs until they end.

Routes, the schedule loop and the trigger router all start runs through ``start`` here, which
calls the engine's one entry point (``engine.start_run``) with who asked (``api``,
``schedule:NAME``, ``trigger:NAME``); so a run started over HTTP looks like any other.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine import (
    ArtifactStore,
    DiscoveredWorkflow,
    EventRouter,
    LocalArtifactStore,
    RunControl,
    RunHandle,
    ScheduleFire,
    ScheduleLoop,
    TrackedWorkflowRunner,
    WorkflowVersionStore,
    default_artifact_root,
    open_artifact_store,
    start_replay,
    start_resume,
    start_retry,
    start_run,
)
from engine.hot_reload import LOAD_LOCK, LiveCatalog
from engine.store import ApiKeyStore, RunStore, resolve_db_path

from .problems import ApiProblem

log = logging.getLogger(__name__)
MAX_BODY_BYTES = 10 * 1024 * 1024
SHUTDOWN_GRACE_SECONDS = 30.0
KEYS_CACHE_SECONDS = 1.0
ALERT_SWEEP_SECONDS = 15.0


@dataclass(frozen=True)
class ServerConfig:
    """How ``serve`` was started. ``managed_dir`` is where workflows created through the API
    are written as YAML files (watched like the other folders, so they hot-reload too);
    ``artifacts`` is the artifact store runs use (a URL, folder or ``artifacts:`` mapping; None:
    ``$SPINE_ARTIFACTS``, else ``artifacts/`` beside the run store)."""

    paths: tuple[Path, ...]
    db_path: Path
    managed_dir: Path
    host: str = "127.0.0.1"
    port: int = 8000
    max_body_bytes: int = MAX_BODY_BYTES
    grace_seconds: float = SHUTDOWN_GRACE_SECONDS
    watch: bool = True
    artifacts: str | Mapping[str, Any] | None = field(default=None, repr=False)  # may hold keys

    @classmethod
    def create(cls, paths: Sequence[str | Path], db: str | Path | None = None,
               managed_dir: str | Path | None = None, **options: Any) -> ServerConfig:
        db_path = resolve_db_path(db)
        managed = Path(managed_dir) if managed_dir else db_path.parent / "workflows"
        return cls(tuple(Path(p) for p in paths), db_path, managed, **options)


@dataclass
class ServerState:
    """The shared objects routes use; built once per process by ``open_state``."""

    config: ServerConfig
    store: RunStore
    versions: WorkflowVersionStore
    keys: ApiKeyStore
    catalog: LiveCatalog
    runner: TrackedWorkflowRunner
    control: RunControl
    handles: dict[str, RunHandle] = field(default_factory=dict)
    accepting: bool = True
    started_at: float = field(default_factory=time.time)
    schedules: ScheduleLoop | None = None
    triggers: EventRouter | None = None
    _schedules_stop: threading.Event = field(default_factory=threading.Event)
    _keys_checked: tuple[float, bool] = (0.0, False)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def keys_defined(self) -> bool:
        """Whether any API key is active (then every request needs one); read from the store
        at most once a second, so a key created or revoked by the CLI counts within 1 s."""
        checked_at, defined = self._keys_checked
        if time.monotonic() - checked_at > KEYS_CACHE_SECONDS:
            defined = self.keys.any_active()
            self._keys_checked = (time.monotonic(), defined)
        return defined

    # ------------------------------------------------------------------ workflows
    def workflow(self, name: str) -> DiscoveredWorkflow:
        """The current definition of ``name``; 404 naming the known ones otherwise."""
        found = self.catalog.current().get(name)
        if found is None:
            known = ", ".join(sorted(self.catalog.current().names())[:20]) or "none"
            raise ApiProblem(404, f"no workflow named {name!r} in the served folders "
                                  f"(known: {known})")
        return found

    # ------------------------------------------------------------------ starting runs
    def start(self, name: str, params: Mapping[str, Any] | None = None, *,
              partition: Mapping[str, Any] | None = None, started_by: str = "api") -> RunHandle:
        """Start a run of the workflow ``name`` (stored before this returns)."""
        self.require_accepting()
        target = self.workflow(name)
        return self._keep(start_run(target, dict(params or {}), partition=partition,
                                    started_by=started_by, runner=self.runner))

    def launch(self, target: Any, params: Mapping[str, Any] | None = None, *,
               partition: Mapping[str, Any] | None = None, started_by: str = "api",
               **_options: Any) -> RunHandle:
        """``engine.start_run`` on this server's runner, for the schedule loop and the trigger
        router (both hand their own ``db``, which is this store, so it is not needed here)."""
        if not self.accepting:
            raise RuntimeError("the server is shutting down; no new run was started")
        return self._keep(start_run(target, dict(params or {}), partition=partition,
                                    started_by=started_by, runner=self.runner))

    def retry(self, run_id: str) -> RunHandle:
        self.require_accepting()
        with LOAD_LOCK:  # the definition may be loaded from the run's file again
            return self._keep(start_retry(run_id, started_by="api", runner=self.runner,
                                          paths=self.config.paths))

    def resume(self, run_id: str) -> RunHandle:
        self.require_accepting()
        with LOAD_LOCK:
            return self._keep(start_resume(run_id, started_by="api", runner=self.runner,
                                           paths=self.config.paths))

    def replay(self, run_id: str, step: str) -> RunHandle:
        self.require_accepting()
        with LOAD_LOCK:
            return self._keep(start_replay(run_id, step, started_by="api", runner=self.runner,
                                           paths=self.config.paths))

    def artifact_stores(self) -> list[ArtifactStore]:
        """Where run artifacts may be: the runner's store (``ctx.artifact_store``: beside the
        run store, or the ``--artifacts`` URL) and ``$SPINE_HOME/artifacts``, where steps that
        open their own store write."""
        runner_store = self.runner.runner.artifact_store
        stores: list[ArtifactStore] = [runner_store]
        home = default_artifact_root()
        root = getattr(runner_store, "root", None)  # only local stores have a folder
        if home.is_dir() and (root is None or home.resolve() != Path(root).resolve()):
            stores.append(LocalArtifactStore(home))
        return stores

    def require_accepting(self) -> None:
        if not self.accepting:
            raise ApiProblem(503, "the server is shutting down and starts no new runs; "
                                  "try again once it is back", headers={"Retry-After": "5"})

    def _keep(self, handle: RunHandle) -> RunHandle:
        """Hold the handle until its run ends (shutdown cancels what is still going)."""
        with self._lock:
            self.handles[handle.run_id] = handle
        threading.Thread(target=self._forget, args=(handle,), daemon=True,
                         name=f"spine-api-{handle.run_id[:8]}").start()
        return handle

    def _forget(self, handle: RunHandle) -> None:
        try:
            handle.wait()
        except BaseException as exc:  # the run's own failure is in the store already
            log.debug("run %s ended with %s", handle.run_id, exc)
        with self._lock:
            self.handles.pop(handle.run_id, None)

    def live_handles(self) -> list[RunHandle]:
        with self._lock:
            return [h for h in self.handles.values() if not h.done]

    # ------------------------------------------------------------------ background
    def start_background(self) -> None:
        """Fire cron schedules and route event triggers over this catalog and store."""
        self.schedules = ScheduleLoop(self.store.db, self.catalog.current, runner=self.runner,
                                      on_fire=self._fired)
        self.schedules.start(self._schedules_stop)
        self.triggers = EventRouter(self.catalog.current, start=self.launch, db=self.store)
        self.triggers.start()
        threading.Thread(target=self._sweep_alerts, name="spine-alert-sweep",
                         daemon=True).start()

    def _sweep_alerts(self) -> None:
        """Send alerts left pending in the outbox (by a process that died, or a retry now
        due) even while no run starts: the runner's own sender only looks when runs do."""
        while not self._schedules_stop.wait(ALERT_SWEEP_SECONDS):
            try:
                self.runner.alerts.sweep()
            except Exception:  # the next sweep tries again; the outbox keeps the alerts
                log.exception("sweeping the alert outbox failed")

    def _fired(self, fire: ScheduleFire) -> None:
        if fire.handle is not None:
            self._keep(fire.handle)

    def stop_background(self) -> None:
        """Take no new work: new runs are refused, schedules and triggers stop firing."""
        self.accepting = False
        self._schedules_stop.set()
        if self.triggers is not None:
            self.triggers.stop()

    # ------------------------------------------------------------------ shutdown
    def drain(self, grace: float | None = None) -> list[str]:
        """Stop taking work, ask running runs to stop at their next step boundary (each step
        that finished is checkpointed), and wait up to ``grace`` seconds; returns the ids of
        runs that were stopped (``resume`` continues each from its last completed step)."""
        self.stop_background()
        live = self.live_handles()
        for handle in live:
            handle.cancel()
        deadline = time.monotonic() + (self.config.grace_seconds if grace is None else grace)
        for handle in live:
            try:
                handle.wait(max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                log.warning("run %s did not stop within the grace period; `spine-engine "
                            "resume %s` continues it", handle.run_id, handle.run_id)
            except BaseException as exc:
                log.debug("run %s ended with %s", handle.run_id, exc)
        return [h.run_id for h in live]

    def close(self) -> None:
        self.catalog.stop()
        self.runner.close()
        self.store.close()


def open_state(config: ServerConfig) -> ServerState:
    """Open the store and load the catalog of ``config`` (raises ``StoreError`` on a bad file,
    ``ArtifactError`` on an artifact store that cannot be used)."""
    artifacts = open_artifact_store(config.artifacts,  # an unusable store fails first
                                    default_root=config.db_path.parent / "artifacts")
    config.managed_dir.mkdir(parents=True, exist_ok=True)
    store = RunStore(config.db_path)
    versions = WorkflowVersionStore(store.db)
    catalog = LiveCatalog([config.managed_dir, *config.paths], versions=versions)
    if config.watch:
        catalog.start()
    runner = TrackedWorkflowRunner(store, artifact_store=artifacts)
    return ServerState(config=config, store=store, versions=versions,
                       keys=ApiKeyStore(store.db), catalog=catalog, runner=runner,
                       control=RunControl(store))
