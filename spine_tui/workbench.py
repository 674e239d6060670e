"""What screens may use of the app, as a protocol: screens never import the app module."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol, cast

if TYPE_CHECKING:
    from engine import Catalog, DiscoveredWorkflow, Executor, RunStore
    from engine.store import WorkflowStats

    from .config import Settings
    from .messages import LiveRun


class Workbench(Protocol):
    """The app's shared state (reactives screens watch) and the actions screens ask for."""

    settings: Settings
    catalog: Catalog | None
    stats: Mapping[str, WorkflowStats]
    store: RunStore | None
    store_error: str
    live_runs: Mapping[str, LiveRun]
    clock: Callable[[], float]

    def start_run(self, item: DiscoveredWorkflow, params: Mapping[str, Any],
                  executor: Executor | None = None) -> str: ...

    def restart_run(self, run_id: str, *, retry: bool) -> str: ...

    def cancel_run(self, run_id: str) -> bool: ...


def workbench(app: Any) -> Workbench:
    """``app`` seen through the ``Workbench`` protocol."""
    return cast("Workbench", app)
