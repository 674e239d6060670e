"""``runs`` and ``status``: the stored run history, newest first, and one run in detail."""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime
from typing import Any

from rich.table import Table
from rich.text import Text

from engine import RunControl, RunGraph, RunRecord, RunStatus, StepRecord, run_graph
from engine.store import TimeWindow, TimeWindowError, check_bound, count_runs

from ._io import EXIT_OK, CliError, HelpFormatter, Streams, display_path, plural, positive_int
from ._store import (
    STATUS_STYLES,
    add_db_option,
    db_path,
    format_duration,
    local_time,
    one_line,
    open_store,
    require_store_file,
    run_duration,
    status_text,
)

# ---------------------------------------------------------------------------- runs


def cmd_runs(args: argparse.Namespace, io: Streams) -> int:
    """Print stored runs, newest first, optionally filtered by workflow, status and time."""
    path = db_path(args)
    since, until = _window_bounds(args)
    if not path.exists():  # listing must not create a store file
        return _print_runs(io, args, [], 0, str(path), (since, until))
    with open_store(args) as store:
        records = store.list_runs(workflow=args.workflow, status=args.status, limit=args.limit,
                                  since=since, until=until)
        total = (count_runs(store, args.workflow, args.status, since, until)
                 if len(records) == args.limit else len(records))
    return _print_runs(io, args, records, total, str(path), (since, until))


def time_bound(text: str) -> str:
    """argparse type for ``--since``/``--until``: a duration back from now, ``now``, or an ISO
    date or date and time (see ``engine.store.time_window``)."""
    try:
        return check_bound(text)
    except TimeWindowError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _window_bounds(args: argparse.Namespace) -> tuple[float | None, float | None]:
    try:
        return TimeWindow(args.since, args.until).bounds(time.time())
    except TimeWindowError:
        raise CliError(f"--since {args.since} is not before --until {args.until}, so no run "
                       "can match",
                       hint="--since starts the window and --until ends it, e.g. "
                            "--since 7d --until 1d") from None


def _iso(value: float | None) -> str | None:
    return None if value is None else datetime.fromtimestamp(value, UTC).isoformat()


def _print_runs(io: Streams, args: argparse.Namespace, records: list[RunRecord], total: int,
                path: str, window: tuple[float | None, float | None]) -> int:
    if args.json:
        io.write_json({"db": path, "since": _iso(window[0]), "until": _iso(window[1]),
                       "runs": [_run_dict(r) for r in records]})
        return EXIT_OK
    console = io.console
    if not records:
        filters = " ".join(f"{k}={v}" for k, v in (
            ("workflow", args.workflow), ("status", args.status), ("since", args.since),
            ("until", args.until)) if v)
        console.print(f"no runs{f' matching {filters}' if filters else ''} in "
                      f"{display_path(path)}", style="dim")
        return EXIT_OK
    table = Table(header_style="bold", box=None, padding=(0, 2, 0, 0))
    for column in ("run id", "workflow", "status", "started", "duration", "by", "error"):
        table.add_column(column, no_wrap=column != "error", overflow="fold",
                         justify="right" if column == "duration" else "left")
    for r in records:
        table.add_row(r.run_id, Text(r.workflow), status_text(r.status.value),
                      local_time(r.started_at or r.created_at),
                      format_duration(_duration(r)), Text(r.started_by or "-", style="dim"),
                      Text(one_line(r.error), style="red" if r.status is RunStatus.FAILED
                           else "dim"))
    console.print(table)
    shown = (f"{plural(len(records), 'run')} of {total}" if total > len(records)
             else plural(len(records), "run"))
    more = "; --limit N shows more" if len(records) == args.limit else ""
    console.print(f"{shown} in {display_path(path)}{more}", style="dim")
    return EXIT_OK


def _duration(record: RunRecord) -> float | None:
    return run_duration(record.status, record.started_at, record.finished_at,
                        record.duration_seconds)


def _run_dict(record: RunRecord) -> dict[str, Any]:
    data = record.to_dict()
    if data.get("duration_seconds") is None:
        data["duration_seconds"] = _duration(record)
    return data


# ---------------------------------------------------------------------------- status


def cmd_status(args: argparse.Namespace, io: Streams) -> int:
    """Print one run (by id or unique prefix): header and a table of its steps."""
    require_store_file(args, args.run_id)
    with open_store(args) as store:
        record = store.get_run(args.run_id)
        steps = store.step_runs(record.run_id)
        outputs = store.outputs(record.run_id) if args.json else {}
        pending = RunControl(store).approvals(record.run_id)
        graph = run_graph(store, record.run_id) if args.graph else None
    if args.json:
        extra = {"graph": graph.to_dict()} if graph is not None else {}
        io.write_json({**_run_dict(record), "steps": [s.to_dict() for s in steps],
                       "outputs": outputs,
                       "pending_approvals": [a.to_dict() for a in pending], **extra})
        return EXIT_OK
    console = io.console
    console.print(Text.assemble(("run ", "bold"), (record.run_id, "bold"), "  ",
                                (record.workflow, "bold"),
                                (f" v{record.version}" if record.version is not None else "",
                                 "dim")))
    header = Table.grid(padding=(0, 2))
    header.add_column(style="dim")
    header.add_column(overflow="fold")
    for key, value in _header_rows(record, steps):
        header.add_row(key, value)
    for approval in pending:
        header.add_row("approval", Text.assemble(
            (approval.step, "bold"), f" waits: {one_line(approval.message) or 'approve?'}  ",
            (f"spine-engine approve {record.run_id} {approval.step}", "dim")))
    console.print(header)
    if steps:
        console.print(_steps_table(steps))
    else:
        console.print("no step has started yet", style="dim")
    if graph is not None:
        console.print(_graph_text(graph))
    return EXIT_OK


def _graph_text(graph: RunGraph) -> Text:
    """The run's graph as text: layers (steps that could run together), edges, changes."""
    added = f"; {plural(len(graph.inserted), 'step')} added at runtime" if graph.inserted \
        else ""
    text = Text.assemble(("\nGraph", "bold"), (f" as it ran (from the {graph.origin}{added})",
                                                 "dim"))
    for depth, layer in enumerate(graph.layers(), start=1):
        text.append(f"\n  layer {depth}  ", style="dim")
        for n, name in enumerate(layer):
            status = graph.statuses.get(name, "not run")
            text.append(", " if n else "")
            text.append(name, style="bold")
            text.append(" (")
            text.append(status, style=STATUS_STYLES.get(status, "dim"))
            if name in graph.inserted:
                text.append(", inserted", style="bold cyan")
            elif name in graph.replaced:
                text.append(", replaced", style="cyan")
            text.append(")")
    if graph.edge_pairs:
        text.append("\nedges", style="bold")
        for up, down in graph.edge_pairs:
            text.append(f"\n  {up} → {down}")
    if graph.changes:
        text.append("\nchanges", style="bold")
        for change in graph.changes:
            text.append(f"\n  {local_time(change.at, with_date=False)}  ", style="dim")
            text.append(f"{change.kind:<15}", style="cyan")
            text.append(f" by {change.step or 'the engine'}: ", style="dim")
            text.append(change.describe())
    return text


def _header_rows(record: RunRecord, steps: list[StepRecord]) -> list[tuple[str, Text | str]]:
    rows: list[tuple[str, Text | str]] = [("status", status_text(record.status.value))]
    if record.params:
        rows.append(("params", Text(", ".join(f"{k}={v!r}" for k, v in record.params.items()))))
    if record.partition_key:
        rows.append(("partition", Text(record.partition_key)))
    if record.parent_run_id:
        step = f" (step {record.parent_step})" if record.parent_step else ""
        rows.append(("parent run", f"{record.parent_run_id}{step}"))
    if record.started_by:
        rows.append(("started by", record.started_by))
    rows += [("source", Text(display_path(record.source or "-"))),
             ("started", local_time(record.started_at or record.created_at)),
             ("finished", local_time(record.finished_at)),
             ("duration", format_duration(_duration(record)))]
    done = sum(s.status is RunStatus.COMPLETED for s in steps if not s.is_map_item)
    total = record.step_count or len(steps)
    rows.append(("steps", f"{done}/{total} completed"))
    if record.pid:
        rows.append(("process", f"pid {record.pid} on {record.host or '?'}"))
    if record.error:
        where = f"step {record.error_step}: " if record.error_step else ""
        rows.append(("error", Text(f"{where}{record.error}", style="red")))
    return rows


def _steps_table(steps: list[StepRecord]) -> Table:
    table = Table(header_style="bold", box=None, padding=(0, 2, 0, 0), title="Steps",
                  title_justify="left")
    for column in ("step", "status", "attempts", "started", "duration", "error / category"):
        table.add_column(column, overflow="fold",
                         justify="right" if column in ("attempts", "duration") else "left")
    for s in steps:
        category = f"[{s.error_category}]" if s.error_category else ""
        detail = " ".join(part for part in (s.error, category) if part)
        if s.child_run_id:
            detail = f"{detail} child run {s.child_run_id}".strip()
        table.add_row(Text(s.step), status_text(s.status.value), str(s.attempts),
                      local_time(s.started_at, with_date=False),
                      format_duration(run_duration(s.status, s.started_at, s.finished_at,
                                                   s.duration_seconds)),
                      Text(detail, style="red" if s.status is RunStatus.FAILED else "dim"))
    return table


# ---------------------------------------------------------------------------- parsers


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``runs`` and ``status`` on the top-level parser."""
    p = sub.add_parser(
        "runs", help="list stored runs, newest first",
        description="List the runs in the run store, newest first: id, workflow, status, "
                    "start time (local), duration and the error of failed runs, optionally "
                    "only those of a workflow, a status or a time window. Runs whose "
                    "process died are shown as interrupted.",
        epilog="examples:\n  spine-engine runs\n  spine-engine runs --workflow etl.daily\n"
               "  spine-engine runs --status failed --limit 5\n"
               "  spine-engine runs --since 2h                 runs of the last two hours\n"
               "  spine-engine runs --since 2026-01-01 --until 2026-01-31\n"
               "  spine-engine runs --db /tmp/ci.db --json | jq '.runs[].run_id'",
        formatter_class=HelpFormatter)
    p.add_argument("--workflow", "-w", metavar="W", default=None,
                   help="only runs of this workflow")
    p.add_argument("--status", "-s", metavar="S", default=None,
                   choices=[s.value for s in RunStatus],
                   help=f"only runs in this status ({', '.join(s.value for s in RunStatus)})")
    p.add_argument("--limit", "-n", metavar="N", type=positive_int, default=20,
                   help="at most N runs (default 20)")
    p.add_argument("--since", metavar="WHEN", type=time_bound, default=None,
                   help="only runs created at or after WHEN: a duration back from now "
                        "(30m, 2h, 3d, 1w), an ISO date (2026-01-31, local time) or date "
                        "and time (2026-01-31T08:00)")
    p.add_argument("--until", metavar="WHEN", type=time_bound, default=None,
                   help="only runs created before WHEN (same forms; a bare date means the "
                        "end of that day, so --since D --until D is day D)")
    add_db_option(p)
    p.add_argument("--json", action="store_true",
                   help='print {"db": ..., "runs": [...]} as JSON')
    p.set_defaults(func=cmd_runs)

    p = sub.add_parser(
        "status", help="show one run and its steps",
        description="Show a stored run: status, params, partition, source, timings, error, "
                    "and a table of its steps with attempts, duration, error and category. "
                    "RUN_ID may be a unique prefix of a run id.",
        epilog="examples:\n  spine-engine status 3f9a2c1d4b5e6f70\n"
               "  spine-engine status 3f9a          a unique prefix is enough\n"
               "  spine-engine status 3f9a --json   includes the steps' outputs\n"
               "  spine-engine status 3f9a --graph  the graph as it ran, runtime changes too",
        formatter_class=HelpFormatter)
    p.add_argument("run_id", metavar="RUN_ID", help="a run id or a unique prefix of one")
    p.add_argument("--graph", "-g", action="store_true",
                   help="also print the graph the run ran: its layers and edges after any "
                        "adaptive changes, steps added at runtime, and the changes")
    add_db_option(p)
    p.add_argument("--json", action="store_true",
                   help="print the run, its steps and outputs as JSON")
    p.set_defaults(func=cmd_status)


