"""Helpers for the TUI tests: fixture workflows, a fixed test config, an async runner."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from spine_tui.app import SpineApp, make_app
from spine_tui.config import Settings

FIXTURES = Path(__file__).resolve().parents[1] / "resources" / "tui"
SIZE = (120, 36)
FIXTURE_NAMES = ["tui.etl.daily", "tui.hello", "tui.market.fanout"]


def fixture_app(*paths: str | Path) -> SpineApp:
    """The app on ``paths`` (default: the fixture folder) with settings that never vary."""
    settings = Settings(theme="textual-dark", cursor_blink=False)
    return make_app(list(paths) or [FIXTURES], settings=settings)


async def loaded(pilot: Pilot[Any]) -> None:
    """Wait until discovery has finished and its message has been handled."""
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def drive(app: SpineApp, scenario: Callable[[Pilot[Any]], Awaitable[None]],
          **run_test: Any) -> None:
    """Run ``scenario`` against ``app`` at the standard size (no pytest-asyncio needed)."""
    async def main() -> None:
        async with app.run_test(size=SIZE, **run_test) as pilot:
            await loaded(pilot)
            await scenario(pilot)

    asyncio.run(main())
