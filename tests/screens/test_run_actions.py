"""Run-detail actions on runs of another thread (as any other process would run them):
pause/resume, approve/reject, cancel through ``RunControl``; retry as a new run; and
opening a stored run in the playground just before the step that failed."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from tui_harness import RUN_FIXTURES, drive, fixture_app, settled, wait_for_runs, wait_until

from engine import RunControl, RunStore, TrackedWorkflowRunner
from engine.discovery import load_file
from screens import PlaygroundScreen, RunDetailScreen
from spine_tui.widgets.run_detail import ApprovalsView


def fixture_workflow(name: str, file: str) -> Any:
    workflows, problems = load_file(RUN_FIXTURES / file)
    assert not problems
    return next(w.workflow for w in workflows if w.name == name)


def start_run(db: Path, run_id: str, release: Path) -> threading.Thread:
    """``tui.control`` in a thread of its own, recorded in ``db`` like any other process."""
    workflow = fixture_workflow("tui.control", "tui_control.py")

    def run() -> None:
        with TrackedWorkflowRunner(db) as runner:
            runner.execute(workflow, {"release": str(release)}, run_id=run_id,
                           source=str(RUN_FIXTURES / "tui_control.py"))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


async def open_detail(pilot: Pilot[Any], run_id: str) -> RunDetailScreen:
    screen = RunDetailScreen(run_id)
    await pilot.app.push_screen(screen)
    await wait_until(pilot, lambda: screen.run is not None, what=f"run {run_id} loaded")
    return screen


async def status_becomes(pilot: Pilot[Any], screen: RunDetailScreen, status: str) -> None:
    await wait_until(pilot, lambda: screen.run is not None and str(screen.run.status) == status,
                     what=f"run {screen.run_id} to be {status}")


def offered(screen: RunDetailScreen) -> set[str]:
    """The actions the footer offers now (those whose ``check_action`` passes)."""
    return {active.binding.description for active in screen.active_bindings.values()}


def notes(pilot: Pilot[Any]) -> list[str]:
    return [n.message for n in pilot.app._notifications]


def test_pause_resume_and_approve(isolated_store: Path, tmp_path: Path) -> None:
    release = tmp_path / "release"
    thread = start_run(isolated_store, "ctl-pause", release)

    async def scenario(pilot: Pilot[Any]) -> None:
        screen = await open_detail(pilot, "ctl-pause")
        await status_becomes(pilot, screen, "running")
        await pilot.press("p")
        await wait_until(pilot, lambda: any("to pause" in n for n in notes(pilot)),
                         what="the pause request")
        release.touch()
        await status_becomes(pilot, screen, "paused")
        await wait_until(pilot, lambda: "Resume run" in offered(screen) and
                         "Pause run" not in offered(screen), what="p to offer resume")
        await pilot.press("p")
        await status_becomes(pilot, screen, "waiting")
        approvals = screen.query_one(ApprovalsView)
        await wait_until(pilot, lambda: approvals.display, what="the approval request")
        assert "waiting for approval: Ship the release?" in str(approvals.render())
        await pilot.press("a")
        await status_becomes(pilot, screen, "completed")
        await wait_until(pilot, lambda: "approved by" in str(approvals.render()),
                         what="the decision")
        assert any(n == "approved sign_off" for n in notes(pilot))

    try:
        drive(fixture_app(refresh=0.05), scenario)
    finally:
        release.touch()
        thread.join(10)


def test_cancel_and_reject(isolated_store: Path, tmp_path: Path) -> None:
    release = tmp_path / "release"
    first = start_run(isolated_store, "ctl-cancel", release)

    async def scenario(pilot: Pilot[Any]) -> None:
        screen = await open_detail(pilot, "ctl-cancel")
        await status_becomes(pilot, screen, "running")
        run_actions = {"Cancel run", "Pause run", "Resume run", "Retry", "Approve", "Reject"}
        assert offered(screen) & run_actions == {"Cancel run", "Pause run"}
        await pilot.press("j")  # nothing waits for approval: not offered, the key does nothing
        await pilot.pause()
        assert not notes(pilot)
        await pilot.press("x")
        await status_becomes(pilot, screen, "cancelled")
        await wait_until(pilot, lambda: offered(screen) & run_actions == {"Retry"},
                         what="a stopped run to offer only retry")
        await pilot.press("escape")

        release.touch()
        start_run(isolated_store, "ctl-reject", release)
        screen = await open_detail(pilot, "ctl-reject")
        await status_becomes(pilot, screen, "waiting")
        await wait_until(pilot, lambda: {"Approve", "Reject"} <= offered(screen),
                         what="the approval request on offer")
        assert screen.query_one(ApprovalsView).display
        await pilot.press("j")
        await status_becomes(pilot, screen, "failed")
        assert "REJECTED" in " ".join(r.category or "" for r in
                                      screen.query_one("#timeline").rows)

    try:
        drive(fixture_app(refresh=0.05), scenario)
    finally:
        release.touch()
        first.join(10)


def test_retry_as_a_new_run_and_debug_at_the_failed_step(isolated_store: Path) -> None:
    failing = fixture_workflow("tui.failing", "tui_run.py")
    with TrackedWorkflowRunner(isolated_store) as runner:
        runner.execute(failing, run_id="fail-1", source=str(RUN_FIXTURES / "tui_run.py"))

    async def scenario(pilot: Pilot[Any]) -> None:
        detail = await open_detail(pilot, "fail-1")
        await pilot.press("t")
        await pilot.pause()
        retry = pilot.app.screen
        assert isinstance(retry, RunDetailScreen) and retry.run_id != "fail-1"
        await wait_for_runs(pilot)
        store = RunStore(isolated_store)
        assert str(store.get_run(retry.run_id).status) == "failed"  # check always fails
        assert RunControl(store).origin(retry.run_id)["run_id"] == "fail-1"
        await status_becomes(pilot, retry, "failed")
        await pilot.press("t")  # a retry of the retry is fine; a completed run is not
        await pilot.pause()
        await wait_for_runs(pilot)
        await pilot.press("escape", "escape")
        await pilot.pause()
        assert pilot.app.screen is detail

        await pilot.press("d")
        await settled(pilot)
        playground = pilot.app.screen
        assert isinstance(playground, PlaygroundScreen)
        view = playground.view
        assert view.source_run_id == "fail-1" and view.next_step == "check"
        assert view.outputs["fetch"]["rows"] == [1, 2, 3]  # restored, not run again
        assert len(view.snapshots) == 3 and view.position == 1  # load, fetch, check
        await pilot.press("n")
        await settled(pilot)
        assert "ran check: failed [DATA_QUALITY] 2 rows failed validation" in playground.note

    drive(fixture_app(RUN_FIXTURES), scenario)
