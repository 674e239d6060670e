"""The run detail lists the artifacts a run's steps wrote, read live from the store while
the run goes on (the run here is recorded by another thread, as any process would)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from tui_harness import drive, fixture_app, plain, wait_until

from engine import Step, TrackedWorkflowRunner, Workflow
from screens import RunDetailScreen
from spine_tui.widgets.run_detail import ArtifactsView


def artifact_workflow(release: Path) -> Workflow:
    """``hold`` waits for ``release`` to exist; then ``write`` stores a 12-byte report."""

    def hold(ctx: Any, config: Any) -> dict[str, bool]:
        deadline = time.monotonic() + 30
        while not release.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        return {"released": release.exists()}

    def write(ctx: Any, config: Any) -> dict[str, Any]:
        ref = ctx.artifact_store.put(f"runs/{ctx.run_id}/write/report.txt", b"all rows ok\n",
                                     content_type="text/plain")
        return {"report": ref}

    return Workflow("tui.artifacts", steps=[Step.lambda_("hold", hold),
                                            Step.lambda_("write", write)])


def start_run(db: Path, run_id: str, release: Path) -> threading.Thread:
    def run() -> None:
        with TrackedWorkflowRunner(db) as runner:
            runner.execute(artifact_workflow(release), run_id=run_id)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_artifacts_appear_live_with_key_size_type_and_checksum(isolated_store: Path,
                                                                tmp_path: Path) -> None:
    release = tmp_path / "release"
    thread = start_run(isolated_store, "art-live", release)

    async def scenario(pilot: Pilot[Any]) -> None:
        screen = RunDetailScreen("art-live")
        await pilot.app.push_screen(screen)
        await wait_until(pilot, lambda: screen.run is not None
                         and str(screen.run.status) == "running", what="the running run")
        view = screen.query_one(ArtifactsView)
        assert not view.display and view.artifacts == ()  # nothing written yet
        release.touch()
        await wait_until(pilot, lambda: view.display, what="the artifact to show")
        await wait_until(pilot, lambda: view.size.width, what="the artifacts view laid out")
        [artifact] = view.artifacts
        assert view.border_title == "Artifacts (1)"
        assert screen.query_one("#outputs-pane").border_title == "Outputs · Artifacts (1)"
        shown = plain(view)
        assert "runs/art-live/write/report.txt" in shown
        assert "12 B" in shown and "text/plain" in shown
        assert artifact.checksum[:12] in shown and artifact.checksum[:13] not in shown
        assert shown.split()[:6] == ["step", "key", "size", "type", "sha256", "created"]
        await pilot.press("o")
        assert not screen.query_one("#outputs-pane").display
        await pilot.press("o")
        assert screen.query_one("#outputs-pane").display and view.display

    try:
        drive(fixture_app(refresh=0.05), scenario)
    finally:
        release.touch()
        thread.join(10)

