"""The playground screen's time travel (go to a snapshot, diff two) and edits (params, a
step's output): actions that only open a dialog or mark the timeline, then hand the change
to the screen's worker."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual.message import Message

from spine_tui.services.playground_commands import set_output

from .playground_dialogs import OutputEditScreen, ParamEditScreen

if TYPE_CHECKING:
    from collections.abc import Callable

    from textual.app import App
    from textual.notifications import SeverityLevel

    from engine import WorkflowPlayground
    from spine_tui.widgets.playground import PlaygroundView, SnapshotTimeline


class TimelineActions:
    """Mixed into ``PlaygroundScreen``, which provides what is declared below."""

    @dataclass
    class DiffReady(Message):
        """The worker compared snapshots ``before`` and ``after``; the screen shows ``diff``."""

        before: int
        after: int
        diff: Any

    if TYPE_CHECKING:  # the host screen's
        view: PlaygroundView | None
        app: App[Any]

        @property
        def timeline(self) -> SnapshotTimeline: ...

        def _submit(self, what: str, command: Callable[[WorkflowPlayground], str], *,
                    root: bool = False) -> None: ...

        def _need_step(self) -> str | None: ...

        def notify(self, message: str, *, title: str = "",
                   severity: SeverityLevel = "information", timeout: float | None = None,
                   markup: bool = True) -> None: ...

        def post_message(self, message: Message) -> bool: ...

    def _highlighted_snapshot(self) -> int | None:
        index = self.timeline.highlighted
        if index is None or self.view is None:
            self.notify("No snapshot highlighted in the timeline", severity="warning", timeout=3)
            return None
        return index

    def action_goto(self) -> None:
        """Go to the snapshot highlighted in the timeline."""
        index = self._highlighted_snapshot()
        if index is not None:
            self._submit(f"going to snapshot {index}",
                         lambda pg: f"at snapshot {pg.goto(index).index}")

    def action_diff(self) -> None:
        """Mark the highlighted snapshot; on a second one, show what changed between them."""
        index = self._highlighted_snapshot()
        if index is None:
            return
        timeline = self.timeline
        marked = timeline.marked
        if marked is None or marked == index:
            timeline.toggle_mark(index)
            if timeline.marked is not None:
                self.notify(f"Snapshot {index} marked: highlight another one and press d",
                            timeout=4)
            return
        timeline.toggle_mark(None)
        before, after = sorted((marked, index))
        self._submit("comparing snapshots", lambda pg: self._diff(pg, before, after))

    def _diff(self, pg: WorkflowPlayground, before: int, after: int) -> str:
        self.post_message(self.DiffReady(before, after, pg.diff(before, after)))
        return f"compared snapshots {before} and {after}"

    # ------------------------------------------------------------------ edits
    def action_edit_params(self) -> None:
        """Change run params from here on (an undoable snapshot)."""
        if self.view is None:
            return

        def apply(values: dict[str, Any] | None) -> None:
            if values:
                self._submit("setting params", lambda pg: "params " + pg.set_params(values).note)

        self.app.push_screen(ParamEditScreen(self.view.params), apply)

    def action_edit_output(self) -> None:
        """Replace the selected step's output and re-run the steps that used it."""
        step = self._need_step()
        if not step or self.view is None:
            return
        run = self.view.runs.get(step)
        if run is None:
            self.notify(f"{step} has not run yet, so it has no output to edit",
                        severity="warning", timeout=4)
            return

        def apply(value: Any) -> None:
            if value is not OutputEditScreen.CANCELLED:
                self._submit(f"editing {step}", lambda pg: set_output(pg, step, value))

        self.app.push_screen(OutputEditScreen(step, run.output), apply)
