"""Helpers for the TUI tests: fixture workflows, a fixed test config, waiting on workers."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
import time
import traceback
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.worker import WorkerCancelled

from spine_tui.app import SpineApp, make_app
from spine_tui.config import Settings

FIXTURES = Path(__file__).resolve().parents[1] / "resources" / "tui"
RUN_FIXTURES = FIXTURES / "_run"
SIZE = (120, 36)
FIXTURE_NAMES = ["tui.etl.daily", "tui.hello", "tui.market.fanout"]
LOOPS = {"watch", "runs-poll", "run-detail", "log-tail", "tui-runs", "dag-poll"}
"""Worker groups that live as long as their screen: never waited for to complete."""


def fixture_app(*paths: str | Path, watch: bool = False, refresh: float = 0.2,
                now: float | None = None) -> SpineApp:
    """The app on ``paths`` (default: the fixture folder) with settings that never vary;
    ``now`` freezes the clock of windowed figures (analytics)."""
    settings = Settings(theme="textual-dark", cursor_blink=False, watch=watch,
                        refresh_seconds=refresh)
    clock = (lambda: now) if now is not None else None
    return make_app(list(paths) or [FIXTURES], settings=settings, clock=clock)


async def settled(pilot: Pilot[Any]) -> None:
    """Wait until every one-shot worker (discovery, store, stats) has finished and the
    messages they posted have been handled, including workers those messages started."""
    for _ in range(20):
        pending = [w for w in pilot.app.workers if w.group not in LOOPS and w.is_running]
        if not pending:
            await pilot.pause()
            if not [w for w in pilot.app.workers if w.group not in LOOPS and w.is_running]:
                return
            continue
        # an exclusive worker replaced by a newer one is cancelled: the loop waits for that one
        with contextlib.suppress(WorkerCancelled):
            await pilot.app.workers.wait_for_complete(pending)
        await pilot.pause()


loaded = settled  # the name the catalog tests use


async def wait_until(pilot: Pilot[Any], condition: Callable[[], Any], timeout: float = 30.0,
                     what: str = "condition") -> Any:
    """Let the app run until ``condition()`` is truthy (for work in other threads and
    processes, which the app cannot announce); fails with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        await pilot.pause(0.02)
    shown = "\n".join(f"  {n.title}: {n.message}" for n in pilot.app._notifications)
    workers = "\n".join(f"  {w.group}/{w.name}: {w.state.name}"
                        + (f" ({type(w.error).__name__}: {w.error})" if w.error else "")
                        for w in pilot.app.workers)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}\n"
                         f"notifications on screen:\n{shown or '  (none)'}\n"
                         f"workers:\n{workers or '  (none)'}\n{thread_stacks()}")


def thread_stacks() -> str:
    """Where every other thread is, so a timeout on CI says what it was waiting behind."""
    names = {t.ident: t.name for t in threading.enumerate()}
    me = threading.get_ident()
    out = []
    for ident, frame in sys._current_frames().items():
        if ident != me:
            stack = "".join(traceback.format_stack(frame, limit=8))
            out.append(f"--- thread {names.get(ident, ident)}\n{stack}")
    return "\n".join(out)


async def wait_for_runs(pilot: Pilot[Any]) -> None:
    """Wait for every run started from the TUI to finish and its messages to be handled."""
    runs = [w for w in pilot.app.workers if w.group == "tui-runs"]
    if runs:
        await pilot.app.workers.wait_for_complete(runs)
    await settled(pilot)


def drive(app: SpineApp, scenario: Callable[[Pilot[Any]], Awaitable[None]],
          **run_test: Any) -> None:
    """Run ``scenario`` against ``app`` at the standard size (no pytest-asyncio needed)."""
    async def main() -> None:
        async with app.run_test(size=SIZE, **run_test) as pilot:
            await settled(pilot)
            await scenario(pilot)

    asyncio.run(main())


async def open_workflow(pilot: Pilot[Any], name: str) -> Any:
    """Filter the catalog to ``name`` (set, not typed: typing is tested elsewhere) and open
    the first match with Enter; returns the workflow screen."""
    from screens import WorkflowScreen

    pilot.app.screen.query_one("#filter").value = name
    await pilot.pause()
    await pilot.press("enter")
    await pilot.pause()
    screen = pilot.app.screen
    assert isinstance(screen, WorkflowScreen), screen
    return screen


def plain(widget: Any) -> str:
    """What a widget's ``render()`` shows, as plain text at the widget's width."""
    import io

    from rich.console import Console
    from textual.widgets import Static

    console = Console(width=widget.size.width or SIZE[0], file=io.StringIO(), record=True)
    shown = widget.render()
    if isinstance(widget, Static) and type(widget).render is Static.render:
        shown = widget.content  # what update() was given (render() wraps it in a Visual)
    console.print(shown)
    return console.export_text()
