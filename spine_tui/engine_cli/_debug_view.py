"""How the ``debug`` prompt shows playground values: snapshots, stops, diffs, timeline, steps."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from engine import RunStatus, WorkflowPlayground, WorkflowResult
from engine.playground import Pause, ReloadReport, Snapshot, SnapshotDiff, StopReason
from engine.playground import SnapshotKind as Kind

from ._io import display_path, preview
from ._store import STATUS_STYLES
from ._store import fine_duration as duration

_WIDTH = 100  # output previews
_KIND_NOTES = {Kind.RERUN: " (rerun)", Kind.RESTORED: " (recorded)"}


def _status(status: RunStatus | str | None) -> Text:
    value = status.value if isinstance(status, RunStatus) else (status or "")
    return Text(value, style=STATUS_STYLES.get(value, ""))


def error_text(error: str | None, category: str | None) -> str:
    return " ".join(part for part in (error, f"[{category}]" if category else "") if part)


def snapshot_lines(snap: Snapshot, *, with_detail: bool = True) -> list[Text]:
    """``[i] step → status (duration)`` plus the output preview or the error [CATEGORY]."""
    if snap.kind is Kind.LOAD:
        return [Text(f"[{snap.index}] start")]
    if snap.kind is Kind.SET_PARAM:
        return [Text(f"[{snap.index}] set {snap.note}")]
    if snap.kind is Kind.RELOAD:
        return [Text(f"[{snap.index}] {snap.note}")]
    head = Text.assemble(f"[{snap.index}] ", (snap.step_name or "", "bold"), " → ",
                         _status(snap.status), f" ({duration(snap.duration)})")
    if snap.kind is Kind.SET_OUTPUT:
        head = Text.assemble(f"[{snap.index}] ", (snap.step_name or "", "bold"),
                             " → output edited")
    else:
        head.append(_KIND_NOTES.get(snap.kind, ""), style="dim")
    lines = [head]
    if not with_detail:
        return lines
    if snap.status is RunStatus.COMPLETED:
        shown = preview(snap.output, _WIDTH)
        if shown:
            lines.append(Text(f"    output: {shown}", style="dim"))
    elif snap.status is RunStatus.FAILED:
        lines.append(Text(f"    error: {error_text(snap.error, snap.category)}", style="red"))
    elif snap.error:
        lines.append(Text(f"    {snap.error}", style="dim"))
    return lines


def stop_line(pg: WorkflowPlayground, pause: Pause | None) -> Text:
    """Why a ``continue``/``until`` stopped, or that the run can go no further."""
    if pause is None:
        return Text("")
    step = pause.step
    bp = pause.breakpoint
    reason = pause.reason
    if reason is StopReason.BREAKPOINT:
        condition = f" if {bp.expression}" if bp is not None and bp.expression else ""
        text = f"paused before {step!r} (breakpoint #{bp.id if bp else '?'}{condition})"
    elif reason is StopReason.TARGET:
        text = f"paused before {step!r}"
    elif reason is StopReason.CONDITION:
        text = f"paused after {step!r}: breakpoint #{bp.id if bp else '?'} " \
               f"{bp.describe() if bp else ''}".rstrip()
    elif reason is StopReason.FAILURE:
        text = f"paused: step {step!r} failed (break-on-failure)"
    elif reason is StopReason.INTERRUPTED:
        text = f"interrupted before {step!r}"
    elif reason is StopReason.HALTED:
        if step in pg.current.stale:
            return Text(f"halted: step {step!r} failed with the code from before the edit; "
                        "cs runs it again with the new code", style="yellow")
        return Text(f"halted: step {step!r} failed and stops the run; back, set KEY=VALUE, "
                    f"out {step} JSON or rerun {step} to go on", style="yellow")
    else:
        status = pg.status
        ran = len(pg.current.runs)
        return Text(f"end: {pg.workflow.name if pg.workflow else ''} {status.value} "
                    f"({ran} of {len(pg.current.steps)} steps have a result)",
                    style=STATUS_STYLES.get(status.value, ""))
    if pause.error:  # the breakpoint's expression raised: it counts as hit
        text += f": the condition raised {pause.error}"
    return Text(text, style="yellow")


def describe_diff(before: int, after: int, diff: SnapshotDiff) -> list[Text]:
    """One line per changed param, output and step status."""
    if not diff:
        return [Text(f"no differences between [{before}] and [{after}]")]
    lines = [Text(f"diff [{before}] → [{after}]", style="bold")]
    for label, added, removed, changed in (
            ("param ", diff.params_added, diff.params_removed, diff.params_changed),
            ("output", diff.outputs_added, diff.outputs_removed, diff.outputs_changed)):
        sep = " = " if label == "param " else ": "
        lines += [Text(f"  {label} + {k}{sep}{_value(v)}", style="green") for k, v in added.items()]
        lines += [Text(f"  {label} - {k}{sep}{_value(v)}", style="red")
                  for k, v in removed.items()]
        lines += [Text(f"  {label} ~ {k}: {_value(old)} → {_value(new)}", style="yellow")
                  for k, (old, new) in changed.items()]
    for step, (old, new) in diff.statuses_changed.items():
        lines.append(Text(f"  status   {step}: {old.value if old else '-'} → "
                          f"{new.value if new else '-'}"))
    return lines


def _value(value: Any) -> str:
    return preview(value, 60) or repr(value)


def history_rows(pg: WorkflowPlayground) -> list[Text]:
    """The whole timeline, ``>`` at the current snapshot; snapshots after it can be reached
    with ``goto`` until the next change replaces them."""
    snaps = pg.snapshots
    width = len(f"[{len(snaps) - 1}]")
    rows = [_history_row(s) for s in snaps]
    what_width = max(len(r[0]) for r in rows)
    status_width = max(len(r[1]) for r in rows)
    lines = []
    for snap, (what, status, took, detail) in zip(snaps, rows, strict=True):
        marker = ">" if snap.index == pg.position else " "
        ahead = snap.index > pg.position
        line = Text(f"{marker} {f'[{snap.index}]':>{width}} {what:<{what_width}}  ")
        line.append(status.ljust(status_width), style=STATUS_STYLES.get(status, ""))
        line.append(f"  {took:>7}")
        if detail:
            line.append(f"  {detail}", style="red" if snap.status is RunStatus.FAILED else "dim")
        if ahead:
            line.stylize("dim")
            line.append("  (ahead)", style="dim")
        lines.append(line)
    return lines


def _history_row(snap: Snapshot) -> tuple[str, str, str, str]:
    """(what, status, duration, detail) of one timeline entry."""
    if snap.kind is Kind.LOAD:
        return "start", "", "", ""
    if snap.kind is Kind.SET_PARAM:
        return f"set {snap.note}", "set_param", "", ""
    if snap.kind is Kind.RELOAD:
        verb, _, what = snap.note.partition(": ")
        return verb.split(" ", 1)[0], "reload", "", what
    name = snap.step_name or ""
    if snap.kind is Kind.SET_OUTPUT:
        return name, "edited", "", "output set"
    detail = error_text(snap.error, snap.category) if snap.status is RunStatus.FAILED else ""
    if snap.kind in _KIND_NOTES:
        detail = " · ".join(part for part in (_KIND_NOTES[snap.kind].strip(" ()"), detail) if part)
    status = snap.status.value if snap.status else ""
    return name, status, duration(snap.duration), detail


def step_rows(pg: WorkflowPlayground) -> list[Text]:
    """Each step in the order ``step`` takes them: status, type, ``>`` on the next, ``B`` on
    a breakpoint, ``stale`` on a result from before an edit."""
    current = pg.current
    stale = set(current.stale)
    nxt = pg.peek()
    marked = {bp.step for bp in pg.breakpoints if bp.step}
    width = max((len(s.name) for s in current.steps), default=0)
    lines = []
    for step in current.steps:
        name = step.name
        run = current.runs.get(name)
        status = run.status.value if run is not None else "pending"
        marker = ">" if nxt is not None and nxt.name == name else " "
        line = Text(f"{marker} {'B' if name in marked else ' '} {name:<{width}}  ")
        line.append(f"{status:<10}", style=STATUS_STYLES.get(status, ""))
        line.append(f"  {step.step_type.value}", style="dim")
        if name in stale:
            line.append("  stale", style="yellow")
        if run is not None and run.status is RunStatus.FAILED:
            line.append(f"  {error_text(run.error, run.error_category)}", style="red")
        lines.append(line)
    return lines


def banner(pg: WorkflowPlayground) -> list[Text]:
    """What the session prints first: the workflow, where it stands, how to get help."""
    wf = pg.workflow
    assert wf is not None
    names = ", ".join(wf.step_names())
    lines = [Text.assemble((wf.name, "bold"), f": {len(wf.steps)} steps ({names})")]
    if pg.params:
        lines.append(Text("params: " + ", ".join(f"{k}={preview(v, 40) or repr(v)}"
                                                  for k, v in pg.params.items())))
    if pg.source_run_id:
        done = sum(1 for s in pg.snapshots if s.kind is Kind.RESTORED)
        lines.append(Text(f"opened run {pg.source_run_id} ({done} recorded steps) at snapshot "
                          f"[{pg.position}] of {len(pg.snapshots) - 1}; steps run here are "
                          "not recorded"))
    nxt = pg.peek()
    status = pg.status
    where = (f"next: {nxt.name}" if nxt else
             f"nothing left to run ({status.value})" if status is not RunStatus.PENDING else "")
    lines.append(Text(f"{where} — type help for commands, q to quit"))
    return lines


def context_lines(pg: WorkflowPlayground) -> list[Text]:
    """The current params and step outputs, one per line."""
    lines = [Text("params", style="bold")]
    lines += [Text(f"  {key} = {preview(value, 100) or repr(value)}")
              for key, value in pg.params.items()] or [Text("  (none)", style="dim")]
    lines.append(Text("outputs", style="bold"))
    lines += [Text(f"  {step}: {preview(value, 100) or '{}'}")
              for step, value in pg.outputs.items()] or [Text("  (none)", style="dim")]
    return lines


def entered_line(parent: WorkflowPlayground, child: WorkflowPlayground) -> Text:
    """What ``s`` says on stepping into a sub-workflow or map."""
    into = parent.stepped_into
    where = into.describe() if into is not None else "the step"
    steps = child.current.steps
    names = ", ".join(s.name for s in steps[:6]) + (", …" if len(steps) > 6 else "")
    return Text.assemble("entered ", (where, "bold"),
                         f": {len(steps)} step{'' if len(steps) == 1 else 's'} ({names}); "
                         "n steps, return goes back up")


def reload_lines(report: ReloadReport) -> list[Text]:
    """What a reload changed, and which steps went stale (``cs`` runs them again)."""
    where = display_path(report.path) if report.path else report.workflow
    extra = f" (+ {', '.join(report.modules)})" if report.modules else ""
    lines = [Text.assemble(("reloaded ", "bold"), f"{where}{extra}: "
                           f"{report.snapshot.note.partition(': ')[2]}")]
    if report.stale:
        lines.append(Text(f"stale: {', '.join(report.stale)} — cs runs them again with the new "
                          "code", style="yellow"))
    return lines


def retry_line(run_id: str, result: WorkflowResult) -> Text:
    """How the retry of a stored run ended."""
    status = result.status.value
    failed = result.failed_steps
    text = f"retry run {run_id}: {status}" + (f" ({', '.join(failed)} failed)" if failed else "")
    return Text(text + f"; spine-engine status {run_id} shows it",
                style=STATUS_STYLES.get(status, ""))
