"""``schedules``: list, create, pause, resume, delete and fire cron schedules in the run store.

Schedules fire while a schedule loop runs: ``spine-engine serve`` runs one, and
``spine-engine schedules run`` runs one in the foreground. Every fire is a run recorded with
``started_by=schedule:NAME``. Workflows that declare a ``schedule`` get one of their own
name (``schedules sync`` or the loop creates it); others are created here under any name.
"""

from __future__ import annotations

import argparse
import threading
from collections.abc import Callable
from typing import Any

from rich.markup import escape
from rich.table import Table
from rich.text import Text

from engine import (
    Catalog,
    CronError,
    CronSchedule,
    MisfirePolicy,
    RunStatus,
    RunStore,
    ScheduleError,
    ScheduleFire,
    ScheduleLoop,
    Schedules,
    StoreError,
    discover,
)
from engine.store import ScheduleExistsError, ScheduleRecord, UnknownScheduleError

from ..locations import workflow_paths
from ._io import (
    EXIT_FAILED,
    EXIT_OK,
    CliError,
    HelpFormatter,
    Streams,
    add_paths_option,
    check_paths_exist,
    plural,
    positive_int,
)
from ._store import add_db_option, db_path, local_time, open_store, status_text
from .metrics_port import add_metrics_port_option, metrics_endpoint
from .run import parse_pairs

#: the option that carries each field ``CronError``/``ScheduleError`` name
_OPTIONS = {"cron": "--cron", "timezone": "--timezone", "misfire": "--misfire",
            "misfire_limit": "--misfire-limit", "params": "--param", "name": "NAME",
            "workflow": "WORKFLOW"}


def cmd_list(args: argparse.Namespace, io: Streams) -> int:
    """Print every schedule (a missing store file lists none and is not created)."""
    records: list[ScheduleRecord] = []
    if db_path(args).exists():
        with open_store(args) as store:
            records = Schedules(store).list_schedules()
    if args.json:
        io.write_json({"schedules": [r.to_dict() for r in records]})
        return EXIT_OK
    table = Table(title=f"Schedules in {db_path(args)}", title_justify="left",
                  header_style="bold")
    for column in ("name", "workflow", "cron", "state", "next fire", "last fire", "last run",
                   "from"):
        table.add_column(column, overflow="fold")
    for r in records:
        table.add_row(escape(r.name), escape(r.workflow), escape(cron_text(r)),
                      Text("on", "green") if r.enabled else Text("paused", "yellow"),
                      local_time(r.next_fire) if r.enabled else "-", local_time(r.last_fire),
                      r.last_run_id or "-", r.declared_in)
    io.console.print(table)
    io.console.print(plural(len(records), "schedule"), style="dim")
    return EXIT_OK


def cmd_create(args: argparse.Namespace, io: Streams) -> int:
    """Check the workflow exists in the paths, then store a new API schedule."""
    params = parse_pairs(args.param, "--param")
    _checked(args, lambda: (CronSchedule.parse(args.cron, args.timezone),
                            MisfirePolicy.parse(args.misfire)))  # before loading any workflow
    _catalog_with(args, args.workflow)
    with open_store(args) as store:
        record = _checked(args, lambda: Schedules(store).create(
            args.name, args.workflow, args.cron, timezone=args.timezone, params=params,
            misfire=args.misfire, misfire_limit=args.misfire_limit, enabled=not args.paused))
    return _report(io, args, "created", record)


def cmd_change(args: argparse.Namespace, io: Streams) -> int:
    """``pause``, ``resume`` or ``delete`` one schedule."""
    past, change = _CHANGES[args.schedules_command]
    if not db_path(args).exists():  # a typo must not create a store file
        raise CliError(f"no schedule named {args.name!r}: the run store {db_path(args)} does "
                       "not exist yet", hint="pass the store the schedules are in with --db")
    with open_store(args) as store:
        record = _checked(args, lambda: change(Schedules(store), args.name))
    return _report(io, args, past, record)


_CHANGES: dict[str, tuple[str, Callable[[Schedules, str], ScheduleRecord]]] = {
    "pause": ("paused", Schedules.pause), "resume": ("resumed", Schedules.resume),
    "delete": ("deleted", Schedules.delete)}


def cmd_fire(args: argparse.Namespace, io: Streams) -> int:
    """Start one run of the schedule now, in this process; print its id at once."""
    catalog = _catalog_with(args, None)
    loop = ScheduleLoop(_run_store(args), lambda: catalog)
    fire = _checked(args, lambda: loop.fire_now(args.name))
    if fire.error is not None or fire.handle is None:
        raise CliError(f"schedule {args.name!r} started no run: {fire.error}",
                       hint="pass the folders that define its workflow with --paths")
    if not args.json:
        io.console.print(f"fired schedule {args.name}: run {fire.run_id} ({fire.workflow})",
                         soft_wrap=True)
        io.out.flush()
    if not args.wait:
        if args.json:
            io.write_json(fire.to_dict())
        return EXIT_OK
    result = fire.handle.wait()
    if args.json:
        io.write_json({**fire.to_dict(), "status": result.status.value})
    else:
        io.console.print(Text.assemble(f"run {fire.run_id} ", status_text(result.status.value)))
    return EXIT_OK if result.status in (RunStatus.COMPLETED, RunStatus.SKIPPED) else EXIT_FAILED


def _run_store(args: argparse.Namespace) -> RunStore:
    """The store a fired run writes to, left open: the run goes on in this process after the
    command returns (the interpreter waits for it) and must not lose its store."""
    try:
        return RunStore(db_path(args))
    except StoreError as exc:
        raise CliError(str(exc)) from None


def cmd_sync(args: argparse.Namespace, io: Streams) -> int:
    """Create, update and remove the workflow-declared schedules to match the paths."""
    catalog = _catalog_with(args, None)
    with open_store(args) as store:
        report = Schedules(store).sync_declared(catalog)
    changes = {"created": report.created, "updated": report.updated,
               "removed": report.removed, "conflicts": report.conflicts}
    if args.json:
        io.write_json({k: list(v) for k, v in changes.items()})
        return EXIT_OK
    for what, names in changes.items():
        if names:
            io.console.print(f"{what}: {', '.join(names)}", soft_wrap=True)
    if not any(changes.values()):
        io.console.print("declared schedules already match the workflows", style="dim")
    return EXIT_OK


def cmd_run(args: argparse.Namespace, io: Streams) -> int:
    """Fire schedules in the foreground until Ctrl-C, one line per fire."""
    catalog = _catalog_with(args, None)

    def show(fire: ScheduleFire) -> None:
        at = fire.scheduled_time.isoformat()
        if fire.error is not None:
            io.err_console.print(Text(f"✗ {fire.schedule} @ {at}: {fire.error}", "red"),
                                 soft_wrap=True)
        else:
            io.console.print(f"{fire.schedule} @ {at}: run {fire.run_id}", soft_wrap=True)

    store = _run_store(args)
    loop = ScheduleLoop(store, lambda: catalog, interval=args.interval, on_fire=show)
    with metrics_endpoint(args, store, io):
        io.err_console.print(f"firing schedules of {store.path}; Ctrl-C stops", style="dim")
        loop.run(threading.Event())
    return EXIT_OK


def cron_text(record: ScheduleRecord) -> str:
    """``0 6 * * * (Europe/Paris)``: the expression and, outside UTC, its zone."""
    return record.cron if record.timezone == "UTC" else f"{record.cron} ({record.timezone})"


def _catalog_with(args: argparse.Namespace, workflow: str | None) -> Catalog:
    """The workflows in ``--paths`` (default: ./workflows or the samples); with ``workflow``,
    fail unless it is among them."""
    check_paths_exist(args.paths)
    catalog = discover(workflow_paths(args.paths))
    if workflow is not None and catalog.get(workflow) is None:
        names = ", ".join(sorted(catalog.names())[:10]) or "none"
        raise CliError(f"no workflow named {workflow!r} in {', '.join(catalog.paths)} "
                       f"(found: {names})",
                       hint="pass the folders the schedule loop loads with --paths; a "
                            "schedule names its workflow, it does not take a file")
    return catalog


def _checked(args: argparse.Namespace, call: Callable[[], Any]) -> Any:
    """``call()``, with the engine's schedule errors as CLI errors naming the option at fault."""
    try:
        return call()
    except (CronError, ScheduleError) as exc:
        option = _OPTIONS.get(exc.field or "", "")
        if exc.field == "timezone" and getattr(args, "timezone", None) is None:
            option = "--cron"  # the zone came from a CRON_TZ= prefix
        prefix = f"{option}: " if option else ""
        raise CliError(f"{prefix}{exc}", hint=_HINTS.get(exc.field or "")) from None
    except (UnknownScheduleError, ScheduleExistsError) as exc:
        raise CliError(str(exc), hint="`spine-engine schedules` lists them") from None


_HINTS = {
    "cron": "five fields: minute hour day-of-month month day-of-week, e.g. --cron '0 6 * * *'",
    "timezone": "an IANA name: --timezone Europe/Paris, or --cron 'CRON_TZ=Europe/Paris 0 6 * * *'",
    "misfire": f"one of {', '.join(p.value for p in MisfirePolicy)}",
}


def _report(io: Streams, args: argparse.Namespace, verb: str, record: ScheduleRecord) -> int:
    if args.json:
        io.write_json({**record.to_dict(), "action": verb})
        return EXIT_OK
    when = (f"; next fire {local_time(record.next_fire)}"
            if record.enabled and verb != "deleted" else "")
    io.console.print(f"{verb} schedule {record.name}: {record.workflow} at "
                     f"{cron_text(record)}{when}", soft_wrap=True)
    return EXIT_OK


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``schedules`` and its sub-commands (``list`` when none is given)."""
    group = sub.add_parser(
        "schedules", help="cron schedules: list, create, pause, resume, delete, fire",
        description="Cron schedules in the run store. A schedule loop fires them: "
                    "`spine-engine serve` runs one, `spine-engine schedules run` runs one in "
                    "the foreground. Each fire is a run started by schedule:NAME whose "
                    "params carry schedule and scheduled_at. Without a sub-command, lists "
                    "the schedules. Exit status: 0 ok, 1 a fired run failed (fire --wait), "
                    "2 bad input (invalid cron or zone, unknown schedule or workflow).",
        epilog="examples:\n  spine-engine schedules\n"
               "  spine-engine schedules create nightly etl.daily --cron '0 2 * * *' "
               "--timezone Europe/Paris --param region=eu\n"
               "  spine-engine schedules create hourly hello.world --cron '0 * * * *' "
               "--misfire skip\n"
               "  spine-engine schedules pause nightly; spine-engine schedules resume nightly\n"
               "  spine-engine schedules fire nightly --wait\n"
               "  spine-engine schedules sync --paths flows/    declared schedules\n"
               "  spine-engine schedules run --paths flows/     fire them until Ctrl-C",
        formatter_class=HelpFormatter)
    _output_options(group)
    group.set_defaults(func=cmd_list, paths=None)
    commands = group.add_subparsers(dest="schedules_command", metavar="SUBCOMMAND")

    p = commands.add_parser("list", help="every schedule with its next and last fire",
                            formatter_class=HelpFormatter)
    _output_options(p)
    p.set_defaults(func=cmd_list)

    p = commands.add_parser(
        "create", help="store a new schedule of a workflow",
        description="Store a schedule that runs WORKFLOW (a name in --paths, which must be "
                    "what the schedule loop loads) at every time CRON names, in TIMEZONE "
                    "(default UTC; or prefix the cron: 'CRON_TZ=Europe/Paris 0 6 * * *'). "
                    "After downtime, --misfire says what to do with the missed times: skip "
                    "them, run_once for the latest (default), or run_all (at most "
                    "--misfire-limit, the most recent).",
        formatter_class=HelpFormatter)
    p.add_argument("name", metavar="NAME", help="the schedule's name (letters, digits, ._:-)")
    p.add_argument("workflow", metavar="WORKFLOW", help="the name of the workflow to run")
    p.add_argument("--cron", required=True, metavar="CRON",
                   help="minute hour day-of-month month day-of-week, e.g. '0 6 * * *'")
    p.add_argument("--timezone", "--tz", metavar="ZONE", default=None,
                   help="an IANA zone such as Europe/Paris (default: UTC)")
    p.add_argument("--param", action="append", metavar="KEY=VALUE",
                   help="a run param for every fire (repeatable; typed like YAML)")
    p.add_argument("--misfire", default=MisfirePolicy.RUN_ONCE.value,
                   metavar="|".join(m.value for m in MisfirePolicy),
                   help="what a fire missed during downtime does (default: run_once)")
    p.add_argument("--misfire-limit", type=positive_int, default=10, metavar="N",
                   help="with run_all: at most N catch-up runs (default: 10)")
    p.add_argument("--paused", action="store_true", help="store it paused")
    add_paths_option(p)
    _output_options(p)
    p.set_defaults(func=cmd_create)

    for name, text in (("pause", "stop firing a schedule until `resume`"),
                       ("resume", "fire a paused schedule again, from its next time"),
                       ("delete", "remove a schedule (declared ones: pause them instead)")):
        p = commands.add_parser(name, help=text, description=text[0].upper() + text[1:] + ".",
                                formatter_class=HelpFormatter)
        p.add_argument("name", metavar="NAME", help="the schedule's name")
        _output_options(p)
        p.set_defaults(func=cmd_change)

    p = commands.add_parser(
        "fire", help="start a schedule's run now, in this process",
        description="Start one run of the schedule now (its next fire does not move), in "
                    "this process, and print the run id at once; the command ends with the "
                    "run. With --wait it also prints how the run ended and exits 1 if it "
                    "failed.", formatter_class=HelpFormatter)
    p.add_argument("name", metavar="NAME", help="the schedule's name")
    p.add_argument("--wait", action="store_true", help="report the run's status; exit 1 on failure")
    add_paths_option(p)
    _output_options(p)
    p.set_defaults(func=cmd_fire)

    p = commands.add_parser(
        "sync", help="match workflow-declared schedules to the workflows in --paths",
        description="Create, update and remove the schedules workflows declare (their "
                    "`schedule`), from the workflows in --paths; pass the folders the schedule "
                    "loop loads, as declared schedules of workflows no longer found are "
                    "removed. Schedules created with `create` are never touched.",
        formatter_class=HelpFormatter)
    add_paths_option(p)
    _output_options(p)
    p.set_defaults(func=cmd_sync)

    p = commands.add_parser(
        "run", help="fire schedules in the foreground until Ctrl-C",
        description="Run a schedule loop over the workflows in --paths until Ctrl-C (what "
                    "`spine-engine serve` does beside its API), printing each fire. Declared "
                    "schedules are synced first.", formatter_class=HelpFormatter)
    p.add_argument("--interval", type=float, default=1.0, metavar="S",
                   help="longest sleep between looks at the store (default: 1 second)")
    add_metrics_port_option(p)
    add_paths_option(p)
    add_db_option(p)
    p.set_defaults(func=cmd_run, json=False)


def _output_options(parser: argparse.ArgumentParser) -> None:
    add_db_option(parser)
    parser.add_argument("--json", action="store_true", help="print JSON")
