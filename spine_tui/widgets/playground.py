"""Playground-screen pieces: a frozen view of a ``WorkflowPlayground``, the timeline list,
the list of conditional breakpoints and the texts of edit and continue (stale marks, a save
that does not load).

The playground is not thread-safe, so the screen only touches it inside its worker; after
each command the worker takes a ``PlaygroundView`` (snapshots and states are immutable, so
sharing them is safe) of the innermost stepped-into playground and the UI draws from that.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from .catalog import format_load_errors
from .dag.canvas import STALE_LABEL, STALE_STYLE
from .status import STATUS_ICON, STATUS_STYLE, format_duration, status_text

if TYPE_CHECKING:
    from engine import LoadError, StepRun, Workflow, WorkflowPlayground
    from engine.playground import Breakpoint, Pause, Snapshot

STALE_MARK = STALE_LABEL[0]
"""Marks a step whose record came from the code before the last save (DAG, timeline, step)."""


@dataclass(frozen=True, slots=True)
class PlaygroundView:
    """Everything the playground screen shows, taken in the worker after a command."""

    workflow: Workflow
    status: str
    position: int
    snapshots: tuple[Snapshot, ...]
    next_step: str | None
    halted_by: str | None
    runs: Mapping[str, StepRun]
    params: Mapping[str, Any]
    outputs: Mapping[str, Any]
    breakpoints: Mapping[str, int] = field(default_factory=dict)
    """Step name -> breakpoint id, for the step breakpoints without a condition."""
    break_on_failure: bool = True
    last_stop: Pause | None = None
    source_run_id: str | None = None
    conditions: Mapping[str, Breakpoint] = field(default_factory=dict)
    """Step name -> its (first) conditional breakpoint."""
    conditional: tuple[Breakpoint, ...] = ()
    """Every breakpoint with a condition, watches (no step) included, in the order set."""
    trail: tuple[str, ...] = ()
    """The breadcrumb: the root workflow, then each stepped-into step (``fan (map)``)."""
    composite: frozenset[str] = frozenset()
    """Steps that ``s`` can step into."""
    session_workflow: Workflow | None = None
    """The workflow the session opened (``workflow`` is the stepped-into one's)."""
    stale: tuple[str, ...] = ()
    """Steps whose record predates the last save, in plan order (``L`` re-runs them)."""

    @property
    def current(self) -> Snapshot:
        return self.snapshots[self.position]

    @property
    def depth(self) -> int:
        """How many step-intos deep the view is (0: the workflow the session opened)."""
        return max(len(self.trail) - 1, 0)

    @property
    def marked(self) -> frozenset[str]:
        """Steps with any breakpoint, conditional or not (the DAG's ● markers)."""
        return frozenset(self.breakpoints) | frozenset(self.conditions)

    @property
    def statuses(self) -> dict[str, str]:
        """Each step's status in the current state (pending when it has no record)."""
        done = {name: str(run.status) for name, run in self.runs.items()}
        return {s.name: done.get(s.name, "pending") for s in self.workflow.steps}

    @property
    def executed(self) -> int:
        return len(self.runs)


def view_of(root: WorkflowPlayground) -> PlaygroundView:
    """The innermost stepped-into playground under ``root`` as it stands, with the
    breadcrumb that leads to it (call on the thread that drives the playground)."""
    stack = root.stack
    pg = stack[-1]
    current = pg.current
    plain = {bp.step: bp.id for bp in pg.breakpoints if bp.step is not None and bp.when is None}
    conditional = tuple(bp for bp in pg.breakpoints if bp.when is not None)
    conditions: dict[str, Breakpoint] = {}
    for bp in conditional:
        if bp.step is not None:
            conditions.setdefault(bp.step, bp)
    crumbs = [p.stepped_into.describe() for p in stack[:-1] if p.stepped_into is not None]
    nxt = pg.peek()
    workflow, top = pg.workflow, root.workflow
    assert workflow is not None and top is not None
    return PlaygroundView(
        workflow=workflow, status=pg.status.value, position=pg.position,
        snapshots=pg.snapshots, next_step=nxt.name if nxt is not None else None,
        halted_by=current.halted_by, runs=dict(current.runs), params=current.params,
        outputs=current.outputs, breakpoints=plain, break_on_failure=pg.break_on_failure,
        last_stop=pg.last_stop, source_run_id=root.source_run_id, conditions=conditions,
        conditional=conditional, trail=(top.name, *crumbs), composite=pg.composite_steps,
        session_workflow=top, stale=current.stale)


def stop_note(stop: Pause | None, ran: int) -> str:
    """Why a continue/run-to stopped, as a sentence."""
    steps = f"{ran} step{'s' if ran != 1 else ''}"
    if stop is None:
        return f"ran {steps}"
    reason, step, bp = str(stop.reason), stop.step, stop.breakpoint
    condition = (bp.expression or bp.describe()) if bp is not None and bp.conditional else None
    if condition and stop.error:
        where = "before" if reason == "breakpoint" else "after"
        return (f"stopped {where} {step!r}: the condition {condition} raised {stop.error} "
                f"({steps})")
    if condition and reason == "breakpoint":
        return f"stopped before {step!r}: {condition} holds ({steps})"
    return {
        "breakpoint": f"stopped at the breakpoint before {step!r} after {steps}",
        "condition": f"the watch {condition or 'condition'} held after {step!r} ({steps})",
        "failure": f"stopped: {step!r} failed ({steps})",
        "target": f"ran {steps}; {step!r} is next",
        "halted": f"{step!r} failed and stops the run; b goes back, e re-runs it, "
                  "o edits its output",
        "end": f"reached the end after {steps}",
        "interrupted": f"interrupted after {steps}; {step!r} is next",
    }.get(reason, f"{reason} after {steps}")


_KIND_MARK = {"load": "○", "set_param": "≔", "set_output": "✎", "restored": "⤓",
              "reload": "⟳"}


def snapshot_label(snap: Snapshot, *, current: bool, later: bool, marked: bool,
                   stale: bool = False) -> Text:
    """One timeline row: ``▸ #3 ✓ transform  0.01s`` (later snapshots dimmed, a record the
    last save made stale marked ``≈`` where the cursor's ``▸`` goes: it is never current)."""
    text = Text(no_wrap=True, overflow="ellipsis")
    if stale and not current:
        text.append(f"{STALE_MARK} ", style=STALE_STYLE)
    else:
        text.append("▸ " if current else "  ", style="bold yellow")
    text.append(f"#{snap.index:<3}", style="bold" if current else "dim")
    kind = str(snap.kind)
    run = snap.run
    if run is not None and kind != "set_output":
        status = run.status.value
        icon = "↻" if kind == "rerun" else STATUS_ICON.get(status, "?")
        if kind == "restored":
            icon = f"⤓{STATUS_ICON.get(status, '?')}"
        text.append(f"{icon} ", style=STATUS_STYLE.get(status, ""))
        text.append(run.name)
        text.append(f"  {format_duration(run.duration_seconds)}", style="dim")
        if run.error_category:
            text.append(f" {run.error_category}", style="red")
    elif kind == "load":
        text.append("○ start")
    elif kind == "reload":
        verb = snap.note.partition(":")[0] or "reloaded"
        text.append(f"{_KIND_MARK['reload']} {verb}", style="cyan")
        if snap.stale:
            text.append(f" · {STALE_MARK} {', '.join(snap.stale)}", style=STALE_STYLE)
    else:
        text.append(f"{_KIND_MARK.get(kind, '·')} {snap.note or kind}", style="cyan")
    if marked:
        text.append("  ◆ diff", style="bold magenta")
    if later:
        text.stylize("dim")
    return text


class SnapshotTimeline(OptionList):
    """The playground's snapshots, oldest first; Enter goes to the highlighted one."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.marked: int | None = None
        self._view: PlaygroundView | None = None

    def show(self, view: PlaygroundView) -> None:
        """Redraw from ``view``, keeping the highlight (the cursor's row on a new timeline)."""
        old = self._view
        keep = self.highlighted
        follow = old is None or keep is None or keep == old.position or \
            len(view.snapshots) != len(old.snapshots)
        self._view = view
        if self.marked is not None and self.marked >= len(view.snapshots):
            self.marked = None
        self._redraw()
        if self.option_count:
            target = view.position if follow else min(keep or 0, self.option_count - 1)
            self.highlighted = target

    def _redraw(self) -> None:
        view = self._view
        if view is None:
            return
        keep = self.highlighted
        self.clear_options()
        stale = stale_records(view)
        self.add_options([Option(snapshot_label(s, current=s.index == view.position,
                                                later=s.index > view.position,
                                                marked=s.index == self.marked,
                                                stale=s.index in stale), id=str(s.index))
                          for s in view.snapshots])
        if keep is not None and self.option_count:
            self.highlighted = min(keep, self.option_count - 1)

    def toggle_mark(self, index: int | None) -> None:
        """Mark ``index`` as one end of a diff (None, or the marked one again, clears it)."""
        self.marked = None if index is None or index == self.marked else index
        self._redraw()


def stale_records(view: PlaygroundView) -> frozenset[int]:
    """The timeline rows (up to the cursor) holding a record the last save made stale: a
    stale step's snapshots taken on an earlier definition."""
    if not view.stale:
        return frozenset()
    names, generation = set(view.stale), view.current.state.generation
    return frozenset(s.index for s in view.snapshots[:view.position + 1]
                     if s.run is not None and s.step_name in names
                     and s.state.generation < generation)


def step_summary(name: str | None, run: StepRun | None, *, next_step: str | None,
                 breakpoint: bool, condition: str | None = None, composite: bool = False,
                 stale: tuple[str, ...] = ()) -> Text:
    """One or two lines on the selected step: its record in the current state, its
    breakpoints, whether the last save made its record stale, and a hint when it can be
    stepped into."""
    if name is None:
        return Text("select a step in the DAG", style="dim italic")
    text = Text.assemble((name, "bold"), "  ")
    if run is None:
        text.append_text(status_text("pending"))
        if name == next_step:
            text.append("  ▶ next", style="bold yellow")
        if composite:
            text.append("  s steps into it", style="cyan")
    else:
        text.append_text(status_text(run.status.value))
        if run.attempts > 1:
            text.append(f"  ×{run.attempts}", style="yellow")
        text.append(f"  {format_duration(run.duration_seconds)}", style="dim")
    if breakpoint:
        text.append("  ● breakpoint", style="bold red")
    if condition:
        text.append(f"  ◆ if {condition}", style="bold yellow")
    if name in stale:
        text.append(f"  {STALE_MARK} stale: ran before the last save (e re-runs it, L all "
                    f"from {stale[0]})", style=STALE_STYLE)
    if run is not None and run.error:
        text.append("\n")
        if run.error_category:
            text.append(f"{run.error_category} ", style="bold red")
        text.append(run.error.replace("\n", " "), style="red")
    return text


def status_line(view: PlaygroundView, busy: str, note: str, names: Sequence[str]) -> Text:
    """Two lines: where (the breadcrumb), status, snapshot, progress, next step and
    breakpoints; then what happened."""
    text = Text()
    for k, crumb in enumerate(view.trail or (view.workflow.name,)):
        if k:
            text.append(" ▸ ", style="dim")
        text.append(crumb, style="bold" if k == 0 else "bold cyan")
    text.append("  ")
    text.append_text(status_text(view.status))
    text.append(f" · snapshot {view.position}/{len(view.snapshots) - 1}"
                f" · {view.executed}/{len(names)} steps ran", style="dim")
    if view.next_step:
        text.append(" · next ", style="dim")
        text.append(view.next_step, style="bold yellow")
    marks = [n for n in names if n in view.breakpoints]
    if marks:
        text.append(" · ● ", style="bold red")
        text.append(", ".join(marks), style="red")
    if view.conditional:
        count = len(view.conditional)
        text.append(f" · ◆ {count} condition{'s' if count != 1 else ''}", style="yellow")
    if not view.break_on_failure:
        text.append(" · break on failure off", style="dim")
    if view.source_run_id:
        text.append(f" · from run {view.source_run_id} (t retries)", style="dim")
    if view.stale:
        text.append(f" · {STALE_MARK} stale: ", style=STALE_STYLE)
        text.append(", ".join(view.stale), style=STALE_STYLE)
    text.append("\n")
    if busy:
        text.append(f"⏳ {busy}… (i or Esc interrupts)", style="bold yellow")
    elif note:
        text.append(note, style="italic")
    elif view.stale:
        text.append(f"L re-runs the stale steps from {view.stale[0]} · e re-runs the selected "
                    "step", style="italic")
    else:
        text.append("n steps · c continues · u runs to the selected step", style="italic")
    return text


def reload_failed_text(file: str, message: str, errors: Sequence[LoadError],
                       roots: Sequence[str] = ()) -> Text:
    """The banner for a save the session cannot take: each load error as
    ``file:line: message`` (as the catalog lists them), else the playground's reason."""
    text = Text()
    if errors:
        text.append(f"✗ {file} saved, but it does not load:", style="bold red")
        for line in format_load_errors(errors, roots):
            text.append(f"\n  {line}", style="red")
        text.append("\nThe session stays on the last good definition; save a fix to go on.",
                    style="italic")
    else:
        text.append(f"✗ {file} saved, but the session cannot take it:", style="bold red")
        text.append(f"\n  {message}", style="red")
    return text


def condition_label(bp: Breakpoint) -> Text:
    """``◆ #2 before 'load' if outputs["load"]["rows"] > 100`` (a watch: ``◆ #3 watch …``)."""
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append("◆ ", style="bold yellow")
    text.append(f"#{bp.id} ", style="dim")
    condition = bp.expression or bp.describe()
    if bp.step is None:
        text.append("watch ", style="yellow")
        text.append(condition)
    else:
        text.append(bp.step, style="bold")
        text.append(" if ", style="dim")
        text.append(condition)
    return text


class ConditionList(OptionList):
    """The conditional breakpoints and watches of the shown playground; x removes one.

    Hidden while there are none: plain breakpoints are already on the DAG.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("x,delete", "remove", "Remove condition"),
    ]

    @dataclass
    class RemoveRequested(Message):
        """The user asked to remove breakpoint ``breakpoint_id``."""

        breakpoint_id: int

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.ids: list[int] = []

    def show(self, breakpoints: Sequence[Breakpoint]) -> None:
        keep = self.highlighted
        self.ids = [bp.id for bp in breakpoints]
        self.clear_options()
        self.add_options([Option(condition_label(bp), id=str(bp.id)) for bp in breakpoints])
        self.display = bool(breakpoints)
        if self.option_count:
            self.highlighted = min(keep or 0, self.option_count - 1)

    def action_remove(self) -> None:
        """Remove the highlighted condition."""
        index = self.highlighted
        if index is not None and 0 <= index < len(self.ids):
            self.post_message(self.RemoveRequested(self.ids[index]))
