"""``analytics``: success rate, duration percentiles, failure causes, daily trend, slow steps.

Every figure comes from ``RunAnalytics`` (aggregated inside SQLite); this module only lays
them out, with the daily trend drawn as a one-line sparkline per metric.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from rich.table import Table
from rich.text import Text

from engine import RunAnalytics

from ._io import EXIT_OK, CliError, HelpFormatter, Streams, display_path, plural, positive_int
from ._store import add_db_option, db_path, open_store
from ._store import fine_duration as format_duration

#: Daily series shown as sparklines, with how to print their latest value.
TREND_METRICS = ("runs", "success_rate", "duration_p50", "failures")
_BARS = "▁▂▃▄▅▆▇█"


def cmd_analytics(args: argparse.Namespace, io: Streams) -> int:
    """Print the run analytics of one workflow (or all) over the last ``--days`` days."""
    path = db_path(args)
    if not path.exists():
        raise CliError(f"no runs to analyse: the run store {path} does not exist yet",
                       hint="runs are stored by `spine-engine run`; pass the store with --db "
                            "or SPINE_DB")
    with open_store(args) as store:
        if args.workflow and not store.count_runs(args.workflow):
            known = sorted({r.workflow for r in store.list_runs(limit=200)})
            raise CliError(f"no runs of workflow {args.workflow!r} in {path}",
                           hint=f"workflows with runs: {', '.join(known)}" if known
                           else "the store has no runs yet")
        report = analytics_report(RunAnalytics(store), args.workflow, args.days, args.top)
    if args.json:
        io.write_json({"db": str(path), **report})
        return EXIT_OK
    _print_report(io, report, str(path))
    return EXIT_OK


def analytics_report(analytics: RunAnalytics, workflow: str | None, days: int,
                     top: int) -> dict[str, Any]:
    """``RunAnalytics.summary`` plus the daily trend and the slowest steps, JSON-ready."""
    summary = analytics.summary(workflow, days)
    series = {metric: analytics.trending(workflow, metric, days) for metric in TREND_METRICS}
    dates = [point["date"] for point in series["runs"]]
    trend = [{"date": date, **{m: series[m][i]["value"] for m in TREND_METRICS}}
             for i, date in enumerate(dates)]
    return {**summary, "trend": trend,
            "slowest_steps": analytics.slowest_steps(workflow, days, limit=top)}


def sparkline(values: list[float | None]) -> str:
    """One character per value, scaled from 0 to the largest; a blank where there is none."""
    present = [v for v in values if v is not None]
    top = max(present, default=0) or 1
    return "".join(" " if v is None else _BARS[min(len(_BARS) - 1, int(v / top * (len(_BARS) - 1)
                                                                          + 0.5))]
                   for v in values)


def _print_report(io: Streams, report: dict[str, Any], path: str) -> None:
    console = io.console
    scope = report["workflow"] or "all workflows"
    console.print(Text.assemble(("analytics ", "bold"), (scope, "bold"),
                                f"  last {plural(report['window_days'], 'day')}  "
                                f"({display_path(path)})"), soft_wrap=True)
    by_status = ", ".join(f"{status} {n}" for status, n in report["by_status"].items())
    durations = report["duration_seconds"]
    failures = report["failure_breakdown"]
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="dim")
    grid.add_column(overflow="fold")
    grid.add_row("runs", f"{report['total_runs']}" + (f" ({by_status})" if by_status else ""))
    grid.add_row("success rate", f"{report['success_rate']:.1%} of "
                                 f"{plural(report['finished_runs'], 'finished run')}")
    grid.add_row("duration", "  ".join(f"{key} {format_duration(value)}"
                                       for key, value in durations.items()))
    grid.add_row("failures", Text(", ".join(f"{cat} {n}" for cat, n in failures.items())
                                  or "none", style="red" if failures else "green"))
    last = report["last_run"]
    if last:
        grid.add_row("last run", f"{last['run_id']} {last['status']}")
    console.print(grid)
    _print_trend(io, report["trend"])
    _print_slowest(io, report["slowest_steps"], with_workflow=report["workflow"] is None)


def _print_trend(io: Streams, trend: list[dict[str, Any]]) -> None:
    if not trend:
        return
    io.console.print(Text.assemble(("daily trend ", "bold"),
                                   (f"{trend[0]['date']} … {trend[-1]['date']}", "dim")))
    table = Table.grid(padding=(0, 2))
    table.add_column(style="dim")
    table.add_column(no_wrap=True)
    table.add_column(style="dim")
    shown: dict[str, tuple[str, Callable[[Any], str]]] = {
        "runs": ("runs", str), "success_rate": ("success", lambda v: f"{v:.0%}"),
        "duration_p50": ("p50", format_duration), "failures": ("failures", str)}
    for metric, (label, fmt) in shown.items():
        values = [day[metric] for day in trend]
        present = [v for v in values if v is not None]
        latest = f"latest {fmt(present[-1])}" if present else "no data"
        table.add_row(label, sparkline(values), latest)
    io.console.print(table)


def _print_slowest(io: Streams, rows: list[dict[str, Any]], *, with_workflow: bool) -> None:
    if not rows:
        io.console.print("no completed steps in this window", style="dim")
        return
    table = Table(header_style="bold", box=None, padding=(0, 2, 0, 0), title="slowest steps",
                  title_justify="left", title_style="bold")
    columns = ["step", *(["workflow"] if with_workflow else []), "runs", "avg", "max", "total"]
    for column in columns:
        table.add_column(column, justify="left" if column in ("step", "workflow") else "right")
    for row in rows:
        cells: list[Text | str] = [
            Text(row["step"]), *([Text(row["workflow"])] if with_workflow else []),
            str(row["runs"]), format_duration(row["avg_seconds"]),
            format_duration(row["max_seconds"]), format_duration(row["total_seconds"])]
        table.add_row(*cells)
    io.console.print(table)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``analytics`` on the top-level parser."""
    p = sub.add_parser(
        "analytics", help="success rate, durations, failure causes and trends of stored runs",
        description="Analyse the runs in the run store, for one workflow or all of them, over "
                    "the last N days: success rate (completed / finished runs), run duration "
                    "percentiles p50/p90/p99, failed steps by error category, a daily trend "
                    "of runs, success rate, median duration and failures, and the slowest "
                    "steps by mean duration.",
        epilog="examples:\n  spine-engine analytics\n"
               "  spine-engine analytics etl.daily --days 7\n"
               "  spine-engine analytics etl.daily --json | jq .success_rate",
        formatter_class=HelpFormatter)
    p.add_argument("workflow", metavar="WORKFLOW", nargs="?", default=None,
                   help="only this workflow's runs (default: every workflow)")
    p.add_argument("--days", "-d", metavar="N", type=positive_int, default=30,
                   help="the window, counted back from now (default 30)")
    p.add_argument("--top", metavar="N", type=positive_int, default=5,
                   help="how many slowest steps to show (default 5)")
    add_db_option(p)
    p.add_argument("--json", action="store_true",
                   help="print the figures, the daily trend and the slowest steps as JSON")
    p.set_defaults(func=cmd_analytics)


