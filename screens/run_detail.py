"""One run: header, approvals, per-step timeline (Gantt-like) or the graph as it ran,
outputs and artifacts, its live log tail, and the actions on it (cancel, pause/resume,
retry, approve/reject, debug).

A worker loop owned by the screen re-reads the run, its steps, outputs, artifacts and
approvals from the store while the run is going (any process may be running it); the log
pane tails on its own. Actions go through ``RunControl`` in a worker, so they work on runs of
any process.
The graph (``engine.run_graph``, with the run's rebuilt definition so its map and
sub-workflow boxes open) is read in a worker when first shown and again when a step it does
not draw starts (an adaptive change added it) or the run ends; while it is shown, the poll
also reads the steps of the run's sub-workflow runs, keyed ``step/inner`` for its boxes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Header, Input, Static
from textual.worker import get_current_worker

from engine import (
    ApprovalRecord,
    ArtifactRecord,
    RunControl,
    RunControlError,
    RunGraph,
    RunRecord,
    RunStore,
    StepRecord,
    UnknownRunError,
    run_graph,
)
from engine.hot_reload import LOAD_LOCK
from engine.store import LineageRecord, run_lineage
from spine_tui.config import current_settings
from spine_tui.locations import workflow_paths
from spine_tui.messages import STEP_PATH_SEP
from spine_tui.widgets.lineage import LineageView
from spine_tui.widgets.logview import LogView
from spine_tui.widgets.run_detail import (
    ApprovalsView,
    ArtifactsView,
    OutputsView,
    RunHeader,
    StepTimeline,
    timeline_rows,
)
from spine_tui.widgets.run_graph import RunGraphPane
from spine_tui.widgets.status import TERMINAL
from spine_tui.workbench import workbench

SETTLED_REFRESH_SECONDS = 5.0
RETRYABLE = ("failed", "cancelled", "interrupted")
CANCELLABLE = ("running", "paused", "waiting", "queued")
PAUSABLE = ("running", "waiting", "queued")
RESUMABLE = ("paused", "interrupted")
_RUN_ACTIONS = {"cancel_run": CANCELLABLE, "pause_run": PAUSABLE, "resume_run": RESUMABLE,
                "retry_run": RETRYABLE}
"""Run actions and the statuses they apply to: the footer offers only those that do."""
SUB_RUN_DEPTH = 8
"""How deep ``recorded_statuses`` follows sub-workflow runs inside sub-workflow runs."""


def recorded_statuses(store: RunStore, steps: Iterable[StepRecord]) -> dict[str, str]:
    """The recorded status of each of a run's ``steps`` (map items as ``fan[2].clean``) and,
    keyed ``step/inner``, of the steps of the sub-workflow runs they started, nested alike
    (``fan[2].each/inner``): the keys of the graph's opened boxes. Reads the store."""
    out: dict[str, str] = {}
    todo = [("", list(steps), 0)]
    seen: set[str] = set()
    while todo:
        prefix, records, depth = todo.pop()
        for step in records:
            key = prefix + step.step
            out[key] = str(step.status)
            child = step.child_run_id
            if child and child not in seen and depth < SUB_RUN_DEPTH:
                seen.add(child)
                todo.append((key + STEP_PATH_SEP, store.step_runs(child), depth + 1))
    return out


class RunDetailScreen(Screen[None]):
    """A run's timeline (or graph), outputs and logs; / searches the logs, Escape goes back."""

    AUTO_FOCUS = "#run-logs"
    HELP = ("The header says how the run went; the timeline draws each step's span against "
            "the run's start (overlapping bars ran in parallel), with attempts, where each step "
            "ran when any ran off this process (process:HOST:PID, dask:ADDRESS), and the error "
            "category of failures; g swaps it for the graph as the run actually ran: the "
            "definition after any adaptive changes, boxes in their steps' status colours, "
            "steps added at runtime marked + inserted, and beside it each change (when, what, "
            "which step asked); arrow keys move between boxes, Enter (or +) opens a map or "
            "sub-workflow box in place to show its steps (from the run's definition, as "
            "rebuilt now) in the statuses they ran with (a map's step takes the worst of its "
            "items), - closes it, c closes all; without a definition boxes stay closed. "
            "o shows or hides the outputs: "
            "each step's JSON (long values cut) and, under them, the artifacts the steps "
            "wrote (step, key, size, content type, SHA-256 prefix, time written), then the "
            "lineage of data steps (what each read and wrote, rows, cursor window). The log "
            "pane follows new lines as any process writes them: f toggles follow, space pauses, "
            "s and l filter by step and level, / searches (n/N jump between matches), "
            "m maximises the logs. The footer offers the actions that apply to the run as it "
            "is now; they work on runs of any process (spine-engine, a "
            "scheduler, this workbench): x cancels, p pauses a running run and lets a paused "
            "one go on (an interrupted run is resumed under its own id), t retries a failed, "
            "cancelled or interrupted run from its failed step as a new run, a approves and "
            "j rejects a step waiting for approval, d opens the run in the playground just "
            "before the step that failed, with the recorded outputs before it: save a fix "
            "there, re-run the step, and t retries the run for real with it.")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("slash", "search", "Search"),
        Binding("m", "maximize_logs", "Max logs"),
        Binding("o", "toggle_outputs", "Outputs"),
        Binding("g", "toggle_graph", "Graph"),
        Binding("a", "approve", "Approve"),
        Binding("j", "reject", "Reject"),
        Binding("x", "cancel_run", "Cancel run"),
        Binding("p", "pause_run", "Pause run"),
        Binding("p", "resume_run", "Resume run"),
        Binding("t", "retry_run", "Retry"),
        Binding("d", "debug", "Debug"),
    ]

    @dataclass
    class Loaded(Message):
        run: RunRecord
        steps: list[StepRecord]
        outputs: dict[str, Any]
        approvals: list[ApprovalRecord] = field(default_factory=list)
        artifacts: list[ArtifactRecord] = field(default_factory=list)
        statuses: dict[str, str] | None = None
        """``recorded_statuses`` (read only while the graph is shown)."""
        lineage: list[LineageRecord] = field(default_factory=list)

    @dataclass
    class LoadFailed(Message):
        error: str

    @dataclass
    class GraphLoaded(Message):
        """The run's graph was read (``final``: the run had ended, so it cannot change), or
        reading it failed with ``error``."""

        graph: RunGraph | None
        final: bool = False
        error: str | None = None
        statuses: dict[str, str] | None = None

    @dataclass
    class ControlDone(Message):
        """A control request was made (``error`` when the store refused it)."""

        what: str
        note: str = ""
        error: str | None = None

    def __init__(self, run_id: str) -> None:
        super().__init__()
        self.run_id = run_id
        self.sub_title = f"Run {run_id}"
        self.run: RunRecord | None = None
        self.graph: RunGraph | None = None
        self._graph_final = False
        self._graph_loading = False
        self._graph_shown = False  # read by the poll worker: a plain flag, never a widget

    def compose(self) -> ComposeResult:
        store = workbench(self.app).store
        yield Header()
        yield RunHeader(id="run-header")
        approvals = ApprovalsView(id="approvals")
        approvals.border_title = "Approvals"
        yield approvals
        with VerticalScroll(id="timeline-pane") as timeline:
            timeline.border_title = "Steps"
            yield StepTimeline(id="timeline")
        yield RunGraphPane(id="graph-pane")
        with VerticalScroll(id="outputs-pane") as outputs:
            outputs.border_title = "Outputs"
            yield OutputsView(id="outputs")
            yield ArtifactsView(id="artifacts")
            yield LineageView(id="lineage")
        search = Input(placeholder="search the logs (Enter: next match, Esc: close)",
                       id="log-search")
        search.cursor_blink = current_settings().cursor_blink
        yield search
        if store is None:
            yield Static(workbench(self.app).store_error or "Opening the run store…",
                         id="run-logs-waiting")
        else:
            yield self._log_view(store)
        yield Footer(compact=True)

    def _log_view(self, store: RunStore) -> LogView:
        logs = LogView(store, self.run_id, id="run-logs")
        logs.border_title = "Logs"
        return logs

    @property
    def logs(self) -> LogView:
        return self.query_one(LogView)

    def on_mount(self) -> None:
        self.query_one("#log-search").display = False
        self.query_one(ApprovalsView).display = False
        self.query_one(ArtifactsView).display = False
        self.query_one(LineageView).display = False
        self.query_one(RunGraphPane).display = False
        self.watch(self.app, "store", self._store_ready)
        self.watch(self.app, "store_error", self._store_failed, init=False)

    def _store_failed(self, error: str) -> None:
        for waiting in self.query("#run-logs-waiting").results(Static):
            waiting.update(Text(error, style="bold red"))

    def _store_ready(self, store: RunStore | None) -> None:
        """Start reading once the store is open (it opens in a worker at start-up)."""
        if store is None:
            return
        waiting = self.query("#run-logs-waiting")
        if waiting:
            logs = self._log_view(store)
            self.mount(logs, before=waiting.first())
            waiting.remove()
            logs.focus()
        self._poll(store)
        if self.query_one(RunGraphPane).display:
            self._read_graph()

    @work(thread=True, exclusive=True, exit_on_error=False, group="run-detail")
    def _poll(self, store: RunStore) -> None:
        """Re-read the run while it is going; slowly once it has settled."""
        worker = get_current_worker()
        interval = workbench(self.app).settings.refresh_seconds
        control = RunControl(store)
        while not worker.is_cancelled:
            try:
                run = store.get_run(self.run_id)
                steps = store.step_runs(run.run_id)
                outputs = store.outputs(run.run_id)
                approvals = control.approvals(run.run_id, status=None)
                artifacts = store.artifacts(run.run_id)
                statuses = recorded_statuses(store, steps) if self._graph_shown else None
                lineage = run_lineage(store, run.run_id)
            except UnknownRunError:
                run = None  # a run started here may not be written yet
            except Exception as exc:
                self.post_message(self.LoadFailed(f"reading run {self.run_id}: {exc}"))
                run = None
            if run is not None:
                self.post_message(self.Loaded(run, steps, outputs, approvals, artifacts,
                                              statuses, lineage))
            settled = run is not None and str(run.status) in TERMINAL
            worker.cancelled_event.wait(SETTLED_REFRESH_SECONDS if settled else interval)

    @on(Loaded)
    def _show(self, event: Loaded) -> None:
        offered = self._offered()
        self.run = event.run
        self.query_one(RunHeader).run = event.run
        now = None if str(event.run.status) in TERMINAL else datetime.now(UTC)
        self.query_one(StepTimeline).rows = tuple(timeline_rows(event.run, event.steps, now))
        self.query_one("#timeline-pane").border_title = (
            f"Steps {sum(str(s.status) == 'completed' for s in event.steps if not s.is_map_item)}"
            f"/{event.run.step_count or len(event.steps)} done")
        self.query_one(OutputsView).outputs = event.outputs
        approvals = self.query_one(ApprovalsView)
        approvals.approvals = tuple(event.approvals)
        approvals.display = bool(event.approvals)
        artifacts = self.query_one(ArtifactsView)
        artifacts.artifacts = tuple(event.artifacts)
        artifacts.border_title = f"Artifacts ({len(event.artifacts)})"
        artifacts.display = bool(event.artifacts)
        self.query_one(LineageView).show(event.lineage)
        self.query_one("#outputs-pane").border_title = " · ".join(  # long outputs hide them
            ["Outputs", *([f"Artifacts ({len(event.artifacts)})"] if event.artifacts else []),
             *([f"Lineage ({len(event.lineage)})"] if event.lineage else [])])
        if self.query(LogView):
            self.logs.steps = tuple(s.step for s in event.steps)
        pane = self.query_one(RunGraphPane)
        if event.statuses is not None:
            pane.show_statuses(event.statuses)
        if pane.display and self._graph_outdated(event.run, event.steps):
            self._read_graph()
        if self._offered() != offered:
            self.refresh_bindings()

    @property
    def status(self) -> str:
        """The run's status as last read ("" until it has been)."""
        return str(self.run.status) if self.run is not None else ""

    def _offered(self) -> tuple[str, bool]:
        """What the run actions on offer depend on: the status and a waiting approval."""
        return self.status, bool(self._pending_approvals())

    @on(LoadFailed)
    def _failed(self, event: LoadFailed) -> None:
        self.notify(event.error, title="Run detail", severity="error", timeout=5)

    # ------------------------------------------------------------------ graph
    def action_toggle_graph(self) -> None:
        """Swap the step timeline for the graph as the run ran (and back)."""
        pane = self.query_one(RunGraphPane)
        pane.display = self._graph_shown = not pane.display
        self.query_one("#timeline-pane").display = not pane.display
        if pane.display:
            pane.canvas.focus()
            if self.graph is None or not self._graph_final:
                self._read_graph()
        elif self.query(LogView):
            self.logs.focus()

    def _graph_outdated(self, run: RunRecord, steps: list[StepRecord]) -> bool:
        """Whether the drawn graph may be behind: a step it lacks started, or the run ended."""
        graph = self.graph
        if graph is None:
            return True
        if self._graph_final:
            return False
        drawn = set(graph.steps)
        return str(run.status) in TERMINAL or any(s.step not in drawn and not s.is_map_item
                                                  for s in steps)

    def _read_graph(self) -> None:
        bench = workbench(self.app)
        if bench.store is None or self._graph_loading:
            return
        self._graph_loading = True
        final = self.status in TERMINAL
        paths = tuple(str(p) for p in bench.settings.paths) or None
        self._load_graph(bench.store, paths, final)

    @work(thread=True, exclusive=True, exit_on_error=False, group="run-graph")
    def _load_graph(self, store: RunStore, paths: tuple[str, ...] | None, final: bool) -> None:
        try:
            with LOAD_LOCK:  # the definition is loaded from the run's file or the paths
                graph = run_graph(store, self.run_id, paths, definition=True,
                                  search=workflow_paths())
            statuses = recorded_statuses(store, store.step_runs(graph.run_id))
        except UnknownRunError:
            self.post_message(self.GraphLoaded(None, error=f"run {self.run_id} is not in the "
                                                           "store yet"))
        except Exception as exc:
            self.post_message(self.GraphLoaded(None, error=f"reading the graph of run "
                                                           f"{self.run_id}: "
                                                           f"{type(exc).__name__}: {exc}"))
        else:
            self.post_message(self.GraphLoaded(graph, final, statuses=statuses))

    @on(GraphLoaded)
    def _graph_loaded(self, event: GraphLoaded) -> None:
        self._graph_loading = False
        if event.graph is None:
            self.notify(event.error or "", title="Run graph", severity="error", timeout=5)
            return
        self.graph = event.graph
        self._graph_final = event.final
        self.query_one(RunGraphPane).show(event.graph, event.statuses)

    # ------------------------------------------------------------------ search
    def action_search(self) -> None:
        """Type text to highlight in the logs; Enter jumps to the next line with it."""
        search = self.query_one("#log-search", Input)
        search.display = True
        search.focus()

    @on(Input.Changed, "#log-search")
    def _search_changed(self, event: Input.Changed) -> None:
        if self.query(LogView):
            self.logs.search = event.value

    @on(Input.Submitted, "#log-search")
    def _search_submitted(self) -> None:
        if self.query(LogView):
            self.logs.focus()
            self.logs.action_find(True)

    # ------------------------------------------------------------------ other keys
    def action_back(self) -> None:
        """Close the search box, or go back to where you came from."""
        search = self.query_one("#log-search", Input)
        if search.has_focus:
            search.display = False
            if self.query(LogView):
                self.logs.focus()
            return
        self.dismiss()

    def action_maximize_logs(self) -> None:
        """Give the log pane the whole screen (press again to restore)."""
        if self.maximized is not None:
            self.minimize()
        elif self.query(LogView):
            self.maximize(self.logs)

    def action_toggle_outputs(self) -> None:
        """Show or hide the outputs pane (step outputs and the run's artifacts)."""
        pane = self.query_one("#outputs-pane")
        pane.display = not pane.display

    # ------------------------------------------------------------------ run control
    def action_cancel_run(self) -> None:
        """Stop this run: nothing new starts; a paused or waiting run ends now."""
        if workbench(self.app).cancel_run(self.run_id):
            self.notify(f"Cancelling run {self.run_id}…", timeout=3)
            return
        self._control("cancel", lambda c: _asked(c.cancel(self.run_id), "cancel"))

    def action_pause_run(self) -> None:
        """Ask a running run to start no new step until it is resumed."""
        self._control("pause", lambda c: _asked(c.pause(self.run_id), "pause"))

    def action_resume_run(self) -> None:
        """Let a paused run go on, or resume an interrupted one from its completed steps."""
        if self.status == "interrupted":
            workbench(self.app).restart_run(self.run_id, retry=False)
            self.notify(f"Resuming run {self.run_id} from its completed steps", timeout=4)
        else:
            self._control("resume", lambda c: _asked(c.resume_paused(self.run_id), "resume"))

    def action_retry_run(self) -> None:
        """Run a failed, cancelled or interrupted run again from its failed step, as a new run."""
        new_id = workbench(self.app).restart_run(self.run_id, retry=True)
        self.notify(f"Retrying run {self.run_id} as run {new_id}", timeout=4)
        self.app.push_screen(RunDetailScreen(new_id))

    def action_approve(self) -> None:
        """Approve the step waiting for approval; the run goes on."""
        self._decide(approve=True)

    def action_reject(self) -> None:
        """Reject the step waiting for approval; it fails with category REJECTED."""
        self._decide(approve=False)

    def _pending_approvals(self) -> list[ApprovalRecord]:
        return [a for a in self.query_one(ApprovalsView).approvals if a.status == "pending"]

    def _decide(self, *, approve: bool) -> None:
        pending = self._pending_approvals()
        if not pending:
            return  # decided since the footer last offered it
        step = pending[-1].step  # the oldest request (they come newest first)
        if approve:
            self._control("approve", lambda c: f"approved {c.approve(self.run_id, step).step}")
        else:
            self._control("reject", lambda c: f"rejected {c.reject(self.run_id, step).step}")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Offer (in the footer and palette, and on their keys) only the run actions that
        apply to the run as last read: cancel while it is live, pause or resume by its
        state, retry once it stopped, approve/reject while a step waits for a decision."""
        if action in _RUN_ACTIONS:
            return self.status in _RUN_ACTIONS[action]
        if action in ("approve", "reject"):
            return bool(self.is_mounted and self._pending_approvals())
        return True

    def action_debug(self) -> None:
        """Open this run in the playground, just before the step that failed it."""
        from .playground import PlaygroundScreen

        self.app.push_screen(PlaygroundScreen(run_id=self.run_id))

    def _control(self, what: str, call: Callable[[RunControl], str]) -> None:
        store = workbench(self.app).store
        if store is None:
            self.notify("The run store is not open yet", severity="warning", timeout=3)
            return
        self._send(store, what, call)

    @work(thread=True, exit_on_error=False, group="run-control")
    def _send(self, store: RunStore, what: str, call: Callable[[RunControl], str]) -> None:
        try:
            note = call(RunControl(store))
        except (RunControlError, UnknownRunError) as exc:
            self.post_message(self.ControlDone(what, error=str(exc)))
        except Exception as exc:  # the store itself failed: say so
            self.post_message(self.ControlDone(what, error=f"{type(exc).__name__}: {exc}"))
        else:
            self.post_message(self.ControlDone(what, note))

    @on(ControlDone)
    def _control_done(self, message: ControlDone) -> None:
        if message.error:
            self.notify(message.error, title=f"Could not {message.what}", severity="error",
                        timeout=6)
        else:
            self.notify(message.note, timeout=3)


def _asked(record: RunRecord, verb: str) -> str:
    """What was asked of a run (the running process acts on it within a poll interval)."""
    return f"Asked run {record.run_id} to {verb} (it was {record.status.value})"
