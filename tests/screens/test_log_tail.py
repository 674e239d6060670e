"""The log tail follows lines another process writes to the store: follow, pause, filter
by step and level, search with highlight; it keeps sequence numbers, not lines."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from tui_harness import RUN_FIXTURES, drive, fixture_app, wait_until

from screens import RunDetailScreen
from spine_tui.services.log_tail import SeqIndex
from spine_tui.widgets.logview import LogView

WRITER = RUN_FIXTURES / "log_writer.py"


def start_writer(db: Path, run_id: str, lines: int, rate: float) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, str(WRITER), str(db), run_id, str(lines),
                             str(rate)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def test_seq_index_stays_a_range_until_a_filter_makes_gaps() -> None:
    index = SeqIndex()
    index.extend([1, 2, 3])
    index.extend(range(4, 100_001))
    assert len(index) == 100_000 and index.nbytes == 0  # no per-line memory
    assert (index[0], index[-1], index.last) == (1, 100_000, 100_000)
    assert index.index_of(500) == 499 and index.index_of(100_001) is None
    index.extend([100_005, 100_009])
    assert len(index) == 100_002 and index.nbytes > 0
    assert index.index_of(100_009) == 100_001 and index.index_of(100_006) is None
    assert index.window(99_999, 100_005) == [100_000, 100_005, 100_009]


def test_log_tail_follows_a_run_written_by_another_process(isolated_store: Path) -> None:
    writer = start_writer(isolated_store, "tail-run", lines=150, rate=100)

    async def scenario(pilot: Pilot[Any]) -> None:
        pilot.app.push_screen(RunDetailScreen("tail-run"))
        logs = await wait_until(pilot, lambda: next(iter(pilot.app.screen.query(LogView)), None),
                                what="the log view")
        await wait_until(pilot, lambda: logs.line_count >= 20, what="first lines")
        visible = logs.visible_records()
        assert visible and all(r is None or r.run_id == "tail-run" for r in visible)

        await pilot.press("space")  # pause: the view holds still while the writer goes on
        await pilot.pause(0.15)
        held = logs.line_count
        await pilot.pause(0.4)
        assert logs.line_count == held and "paused" in logs.border_subtitle
        await pilot.press("space")
        await wait_until(pilot, lambda: logs.line_count == 151, what="all 151 lines")
        # following the end: the view scrolls down to the last line once it has arrived
        await wait_until(pilot, lambda: all(records := logs.visible_records())
                         and records[-1].message == "summary done", what="the last line shown")
        assert logs.cached_lines <= 4096

    drive(fixture_app(), scenario)
    assert writer.wait(timeout=30) == 0, writer.stderr.read() if writer.stderr else ""


def test_filters_and_search_on_a_finished_run(isolated_store: Path) -> None:
    assert start_writer(isolated_store, "done-run", lines=100, rate=10_000).wait(30) == 0

    async def scenario(pilot: Pilot[Any]) -> None:
        pilot.app.push_screen(RunDetailScreen("done-run"))
        logs = await wait_until(pilot, lambda: next(iter(pilot.app.screen.query(LogView)), None),
                                what="the log view")
        await wait_until(pilot, lambda: logs.line_count == 101 and logs.steps,
                         what="all lines and the steps")
        await pilot.press("l", "l")  # INFO+, then WARNING+
        assert logs.min_level == "WARNING"
        await wait_until(pilot, lambda: logs.line_count == 10, what="ten warnings")
        await wait_until(pilot, lambda: all(logs.visible_records()), what="warning lines")
        assert {r.level for r in logs.visible_records()} == {"WARNING"}
        await pilot.press("l", "s", "s")  # ERROR+: none; then step emit, then summary
        await pilot.press("l")  # all levels again
        assert (logs.step_filter, logs.min_level) == ("summary", None)
        await wait_until(pilot, lambda: logs.line_count == 1, what="the summary line")

        await pilot.press("s")  # all steps
        await wait_until(pilot, lambda: logs.line_count == 101, what="all lines again")
        await pilot.press("slash", *"of 100")
        await pilot.press("enter")
        await wait_until(pilot, lambda: logs._current_match is not None, what="a match")
        assert not logs.follow
        await wait_until(pilot, lambda: all(logs.visible_records()), what="visible lines")
        current = logs._current_match
        shown = {r.seq: r for r in logs.visible_records()}
        assert current in shown  # the match is scrolled into view
        line = logs._line_text(shown[current])
        assert any(span.style for span in line.spans
                   if line.plain[span.start:span.end] == "of 100")  # highlighted
        await pilot.press("n")
        await wait_until(pilot, lambda: logs._current_match == current + 1,
                         what="the next match")
        await pilot.press("N")
        await wait_until(pilot, lambda: logs._current_match == current,
                         what="the previous match")

    drive(fixture_app(), scenario)
