"""Edit and continue in the playground screen: a real workflow file is run to a failure,
edited and saved, and the screen marks the stale steps, re-runs them on a key without running
the unchanged upstream step again, shows a broken save in place, and retries a fixed stored
run for real."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from tui_harness import drive, fixture_app, open_workflow, plain, settled, wait_until

from engine import DiscoveredWorkflow, RunControl, RunStatus, RunStore, resolve_workflow, start_run
from screens import PlaygroundScreen, RunDetailScreen, SnapshotDiffScreen
from spine_tui.widgets.dag import DagCanvas

RESOURCES = Path(__file__).resolve().parents[1] / "resources" / "tui_hot_swap"
MODULES = ("tui_swap_flow", "tui_swap_helpers")
FIX = ("return 3", "return 10")  # threshold(): check passes from then on


class Flow:
    """The fixture copied to a tmp folder: its files, and how often ``fetch`` ran."""

    def __init__(self, folder: Path, calls: Path) -> None:
        self.folder = folder
        self.file = folder / "tui_swap_flow.py"
        self.helpers = folder / "tui_swap_helpers.py"
        self.calls = calls

    def edit(self, path: Path, old: str, new: str) -> None:
        """Save ``path`` with ``old`` replaced, as an editor would."""
        text = path.read_text()
        assert old in text, old
        path.write_text(text.replace(old, new))

    def fetches(self) -> int:
        return self.calls.read_text().split().count("fetch") if self.calls.exists() else 0


@pytest.fixture
def flow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flow]:
    folder = tmp_path / "flows"
    shutil.copytree(RESOURCES, folder)
    calls = tmp_path / "calls.txt"
    monkeypatch.setenv("TUI_SWAP_CALLS", str(calls))
    for name in MODULES:
        sys.modules.pop(name, None)
    paths = list(sys.path)
    yield Flow(folder, calls)
    sys.path[:] = paths
    for name in MODULES:
        sys.modules.pop(name, None)


async def press(pilot: Pilot[Any], *keys: str) -> None:
    await pilot.press(*keys)
    await settled(pilot)


def errors(pilot: Pilot[Any]) -> list[str]:
    return [n.message for n in pilot.app._notifications if n.severity == "error"]


def timeline_rows(screen: PlaygroundScreen) -> list[str]:
    timeline = screen.timeline
    return [str(timeline.get_option_at_index(i).prompt) for i in range(timeline.option_count)]


def box_text(screen: PlaygroundScreen, name: str) -> str:
    """The DAG box of step ``name`` as drawn, its rows joined."""
    dag = screen.query_one(DagCanvas)
    box = dag.dag_layout.boxes[name]
    return "\n".join(dag.line_text(row).plain[box.left:box.left + box.width]
                     for row in range(box.top, box.top + box.height))


async def failed_at_check(pilot: Pilot[Any]) -> PlaygroundScreen:
    """Open the flow from the catalog, debug it (d) and continue (c) to check's failure."""
    await open_workflow(pilot, "swap")
    await press(pilot, "d")
    screen = pilot.app.screen
    assert isinstance(screen, PlaygroundScreen) and screen.view is not None
    assert screen.watching is not None and screen.watching.endswith("tui_swap_flow.py")
    assert "saves to tui_swap_flow.py are taken in" in str(screen.dag.border_subtitle)
    await press(pilot, "c")
    view = screen.view
    assert view.runs["check"].status is RunStatus.FAILED
    assert view.runs["check"].error == "rows above 3: [4]"
    return screen


def test_a_saved_fix_marks_check_stale_and_L_reruns_only_it(flow: Flow) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        screen = await failed_at_check(pilot)
        failed_at = screen.view.position
        assert flow.fetches() == 1

        flow.edit(flow.helpers, *FIX)  # a helper module the handler imports, not the file
        await wait_until(pilot, lambda: screen.view.stale == ("check",),
                         what="check marked stale")
        await settled(pilot)
        assert screen.dag.stale == frozenset({"check"})
        assert "≈stale" in box_text(screen, "check") and "≈" not in box_text(screen, "fetch")
        rows = timeline_rows(screen)
        assert "check" in rows[failed_at] and rows[failed_at].startswith("≈ #2")
        assert rows[-1].startswith("▸ #3  ⟳ reloaded · ≈ check")
        assert "≈" not in rows[1]  # fetch's record is kept
        assert "≈ stale: check" in plain(screen.query_one("#pg-status"))
        assert "reloaded tui_swap_flow.py: changed: check (code (tui_swap_helpers.threshold))" \
            in screen.note and "L re-runs from check" in screen.note
        await pilot.press("right")
        assert screen.dag.selected == "check"
        assert "≈ stale: ran before the last save" in plain(screen.query_one("#pg-step"))

        await press(pilot, "L")
        view = screen.view
        assert view.runs["check"].status is RunStatus.COMPLETED
        assert view.outputs["check"] == {"checked": 4}
        assert view.stale == () and screen.dag.stale == frozenset()
        assert view.next_step == "report"
        assert "re-ran the stale steps: ran 1 step; 'report' is next" in screen.note
        assert not any(row.startswith("≈") for row in timeline_rows(screen))
        await press(pilot, "c")
        assert screen.view.outputs["report"] == {"summary": "4 rows ok"}
        assert flow.fetches() == 1  # the unchanged upstream step never ran again

        # the snapshot from before the save is still there, and diffs against the fix
        fixed_at = screen.view.position - 1
        timeline = screen.timeline
        timeline.focus()
        timeline.highlighted = failed_at
        await pilot.press("d")
        timeline.highlighted = fixed_at
        await press(pilot, "d")
        dialog = pilot.app.screen
        assert isinstance(dialog, SnapshotDiffScreen)
        assert dialog.diff.statuses_changed["check"] == (RunStatus.FAILED, RunStatus.COMPLETED)
        await pilot.press("escape")
        assert not errors(pilot)

    drive(fixture_app(flow.folder), scenario)


def test_e_reruns_the_selected_step_with_the_saved_code(flow: Flow) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        screen = await failed_at_check(pilot)
        flow.edit(flow.file, "rows above {threshold()}", "too big (over {threshold()})")
        await wait_until(pilot, lambda: screen.view.stale == ("check",),
                         what="check marked stale")
        screen.dag.selected = "check"
        await press(pilot, "e")
        run = screen.view.runs["check"]
        assert run.error == "too big (over 3): [4]"  # the new code ran, and failed again
        assert screen.view.stale == ()
        assert "re-ran check: failed [DATA_QUALITY] too big (over 3): [4]" in screen.note

        await press(pilot, "L")  # nothing stale: said, nothing run
        assert any("Nothing is stale" in n.message for n in pilot.app._notifications)
        assert flow.fetches() == 1

    drive(fixture_app(flow.folder), scenario)


def test_a_save_during_a_long_continue_is_taken_in_when_it_ends(
        flow: Flow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gate = tmp_path / "gate"
    monkeypatch.setenv("TUI_SWAP_GATE", str(gate))

    async def scenario(pilot: Pilot[Any]) -> None:
        await open_workflow(pilot, "swap")
        await press(pilot, "d")
        screen = pilot.app.screen
        assert isinstance(screen, PlaygroundScreen)
        await pilot.press("c")
        await wait_until(pilot, lambda: flow.fetches() == 1, what="fetch to start")
        assert screen.busy == "continuing"
        flow.edit(flow.helpers, *FIX)
        await wait_until(pilot, lambda: screen._save_pending, what="the save noticed")
        assert screen.busy == "continuing"  # not interrupted, not refused
        gate.touch()
        await wait_until(pilot, lambda: screen.view.stale == ("check",),
                         what="the save taken in after the continue")
        await settled(pilot)
        assert screen.view.runs["check"].error == "rows above 3: [4]"  # ran the code it had
        assert not [n for n in pilot.app._notifications if "Still" in n.message]
        await press(pilot, "L")
        assert screen.view.outputs["check"] == {"checked": 4} and flow.fetches() == 1

    drive(fixture_app(flow.folder), scenario)


def test_a_broken_save_is_shown_in_place_and_the_session_stays_usable(flow: Flow) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        screen = await failed_at_check(pilot)
        before = screen.view.snapshots
        good = flow.file.read_text()
        line = next(n for n, text in enumerate(good.splitlines(), 1)
                    if text.startswith("def report("))
        flow.file.write_text(good.replace("def report(ctx, config):", "def report(ctx, config:"))
        banner = screen.query_one("#pg-reloaded")
        await wait_until(pilot, lambda: banner.display, what="the error banner")
        await settled(pilot)
        shown = plain(banner)
        assert "does not load" in shown and f"tui_swap_flow.py:{line}:" in shown
        assert "stays on the last good definition" in shown
        assert screen.view.snapshots == before  # nothing recorded, nothing lost
        assert not screen.view.stale
        await press(pilot, "b")  # still usable
        assert screen.view.position == len(before) - 2

        flow.file.write_text(good.replace("> threshold()", "> threshold() + 1"))
        await wait_until(pilot, lambda: not banner.display, what="the banner to go")
        await settled(pilot)
        assert screen.view.current.kind == "reload"
        assert screen.view.stale == ()  # at fetch: check has no record here
        await press(pilot, "n")
        assert screen.view.outputs["check"] == {"checked": 4}  # 4 > 3 + 1 is not too big
        assert flow.fetches() == 1

    drive(fixture_app(flow.folder), scenario)


def test_a_fixed_stored_run_reruns_its_failed_step_then_retries_for_real(
        flow: Flow, isolated_store: Path) -> None:
    item = resolve_workflow(str(flow.file))
    assert isinstance(item, DiscoveredWorkflow)
    failed = start_run(item, db=isolated_store)
    assert failed.wait(30).status is RunStatus.FAILED
    assert flow.fetches() == 1

    async def scenario(pilot: Pilot[Any]) -> None:
        pilot.app.push_screen(RunDetailScreen(failed.run_id))
        await wait_until(pilot, lambda: getattr(pilot.app.screen, "run", None), what="the run")
        await press(pilot, "d")
        screen = pilot.app.screen
        assert isinstance(screen, PlaygroundScreen) and screen.view is not None
        await wait_until(pilot, lambda: screen.watching is not None, what="the file watched")
        view = screen.view
        assert view.source_run_id == failed.run_id and view.next_step == "check"
        assert view.outputs["fetch"] == {"rows": [1, 2, 3, 4]}  # recorded, not re-run
        bindings = {b.binding.key for b in screen.active_bindings.values()}
        assert "t" in bindings

        flow.edit(flow.helpers, *FIX)
        await wait_until(pilot, lambda: "reloaded" in screen.note, what="the save taken in")
        await settled(pilot)
        await press(pilot, "n")  # check, against fetch's recorded output
        assert screen.view.runs["check"].status is RunStatus.COMPLETED
        assert screen.view.outputs["check"] == {"checked": 4}

        await press(pilot, "t")  # the real retry, waited for by settled()
        started = [n.message for n in pilot.app._notifications if n.title == "Retry started"]
        assert started and f"retries run {failed.run_id}" in started[0]
        ended = [n.message for n in pilot.app._notifications if n.title == "Retry finished"]
        assert ended and "completed" in ended[0], ended
        assert "retrying run" in screen.note
        assert not errors(pilot)

    drive(fixture_app(flow.folder), scenario)
    store = RunStore(isolated_store)
    try:
        runs = [r for r in store.list_runs() if r.run_id != failed.run_id]
        assert len(runs) == 1 and runs[0].status is RunStatus.COMPLETED
        assert RunControl(store).origin(runs[0].run_id) == {
            "kind": "retry", "run_id": failed.run_id, "step": "check"}
        assert store.get_run(runs[0].run_id).error is None
    finally:
        store.close()
    assert flow.fetches() == 1  # the retry reused fetch's stored output



def test_snapshot_of_stale_marks_after_a_saved_fix(snap_compare: Any, flow: Flow,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from tui_harness import SIZE

    monkeypatch.delenv("TUI_SWAP_CALLS")  # no counting: nothing on disk varies

    async def save_a_fix(pilot: Pilot[Any]) -> None:
        await settled(pilot)
        screen = await failed_at_check(pilot)
        flow.edit(flow.helpers, *FIX)
        await wait_until(pilot, lambda: screen.view.stale == ("check",),
                         what="check marked stale")
        await settled(pilot)
        await pilot.press("right")  # check: its record is stale
        await wait_until(pilot, lambda: screen.selected == "check", what="check selected")
        await settled(pilot)

    assert snap_compare(fixture_app(flow.folder), terminal_size=SIZE, run_before=save_a_fix)
