"""``lineage`` and ``cursors``: what a run's data steps read and wrote, and the incremental
sources' high-water marks (list, set, reset)."""

from __future__ import annotations

import argparse
import json

from rich.table import Table
from rich.text import Text

from engine import IncrementalCursors, UnknownCursorError
from engine.store import run_lineage

from ._io import EXIT_OK, CliError, HelpFormatter, Streams
from ._store import add_db_option, db_path, local_time, open_store, require_store_file

_ARROWS = {"read": Text("<- read ", style="cyan"), "write": Text("-> wrote", style="green")}


def cmd_lineage(args: argparse.Namespace, io: Streams) -> int:
    require_store_file(args, args.run_id)
    with open_store(args) as store:
        record = store.get_run(args.run_id)
        facts = run_lineage(store, record.run_id)
    if args.step:
        facts = [f for f in facts if f.step == args.step]
    if args.json:
        io.write_json({"run_id": record.run_id, "workflow": record.workflow,
                       "lineage": [f.to_dict() for f in facts]})
        return EXIT_OK
    if not facts:
        where = f" in step {args.step}" if args.step else ""
        io.err_console.print(f"run {record.run_id} ({record.workflow}) recorded no lineage"
                             f"{where}: only data steps (Step.source/transform/sink) report it",
                             style="dim")
        return EXIT_OK
    table = Table(box=None, title=f"lineage of run {record.run_id} ({record.workflow})",
                  title_justify="left")
    for column in ("step", "", "kind"):
        table.add_column(column, no_wrap=True)
    table.add_column("name", overflow="fold")  # a path or key is shown whole, never cut
    table.add_column("rows", justify="right", no_wrap=True)
    table.add_column("details", overflow="fold")
    for fact in facts:
        table.add_row(Text(fact.step, style="bold"), _ARROWS.get(fact.direction, fact.direction),
                      fact.kind, fact.name, "-" if fact.rows is None else str(fact.rows),
                      Text(fact.summary(), style="dim"))
    io.console.print(table)
    return EXIT_OK


def cmd_cursors(args: argparse.Namespace, io: Streams) -> int:
    cursors = IncrementalCursors(db_path(args))
    records = cursors.list(args.workflow)
    if args.json:
        io.write_json({"store": str(cursors.store_path),
                       "cursors": [c.to_dict() for c in records]})
        return EXIT_OK
    if not records:
        io.err_console.print("no incremental cursors stored: a source with "
                             "incremental=IncrementalConfig(...) stores one when its run "
                             "completes", style="dim")
        return EXIT_OK
    table = Table("cursor", "field", "value", "moved by run", "at", box=None)
    for c in records:
        table.add_row(Text(c.name, style="bold"), c.cursor_field, json.dumps(c.value),
                      c.run_id or "(set by hand)", local_time(c.updated_at))
    io.console.print(table)
    return EXIT_OK


def cmd_reset(args: argparse.Namespace, io: Streams) -> int:
    try:
        old = IncrementalCursors(db_path(args)).reset(args.name)
    except UnknownCursorError as exc:
        raise CliError(str(exc), hint="spine-engine cursors lists them") from None
    if args.json:
        io.write_json({"reset": old.to_dict()})
        return EXIT_OK
    io.console.print(f"cursor {old.name} reset (was {old.cursor_field} = "
                     f"{json.dumps(old.value)}): its next run reads every row")
    return EXIT_OK


def cmd_set(args: argparse.Namespace, io: Streams) -> int:
    try:
        value = json.loads(args.value)
    except json.JSONDecodeError:
        value = args.value  # plain text: a date such as 2024-01-31
    try:
        record = IncrementalCursors(db_path(args)).set(args.name, value, args.field)
    except UnknownCursorError as exc:
        raise CliError(str(exc), hint="give --field COLUMN to create a cursor") from None
    if args.json:
        io.write_json({"set": record.to_dict()})
        return EXIT_OK
    io.console.print(f"cursor {record.name}: {record.cursor_field} = {json.dumps(record.value)}; "
                     "its next run reads rows past it")
    return EXIT_OK


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    lineage = sub.add_parser(
        "lineage", help="what a run's data steps read and wrote",
        description="The lineage a run recorded: each data step's reads (tables, files, "
                    "artifacts) and writes, with rows, code hash and cursor window.\n\n"
                    "example:\n  spine-engine lineage 3f9a --json",
        formatter_class=HelpFormatter)
    lineage.add_argument("run_id", help="the run (a unique id prefix is enough)")
    lineage.add_argument("--step", help="only this step's facts")
    lineage.add_argument("--json", action="store_true", help="machine-readable output")
    add_db_option(lineage)
    lineage.set_defaults(func=cmd_lineage)

    cursors = sub.add_parser(
        "cursors", help="incremental sources' cursors: list, set, reset",
        description="The high-water marks of incremental sources (IncrementalConfig). A "
                    "cursor moves only when a run that read it completes.\n\n"
                    "examples:\n  spine-engine cursors\n"
                    "  spine-engine cursors reset etl.read_filings   next run reads every row\n"
                    "  spine-engine cursors set etl.read_filings 2024-01-31",
        formatter_class=HelpFormatter)
    cursors.add_argument("--workflow", help="only this workflow's cursors")
    cursors.add_argument("--json", action="store_true", help="machine-readable output")
    add_db_option(cursors)
    cursors.set_defaults(func=cmd_cursors)
    actions = cursors.add_subparsers(dest="action", metavar="ACTION")
    listing = actions.add_parser("list", help="every stored cursor", formatter_class=HelpFormatter)
    listing.add_argument("--workflow", default=argparse.SUPPRESS,
                         help="only this workflow's cursors")
    listing.set_defaults(func=cmd_cursors)
    reset = actions.add_parser("reset", help="forget a cursor: the next run reads every row",
                               formatter_class=HelpFormatter)
    reset.add_argument("name", help="the cursor's name (<workflow>.<step> by default)")
    reset.set_defaults(func=cmd_reset)
    setter = actions.add_parser("set", help="put a cursor at a value",
                                formatter_class=HelpFormatter)
    setter.add_argument("name", help="the cursor's name")
    setter.add_argument("value", help="JSON (42, \"x\") or plain text (2024-01-31)")
    setter.add_argument("--field", help="the cursor column (needed for a new cursor)")
    setter.set_defaults(func=cmd_set)
    for each in (listing, reset, setter):
        each.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                          help="machine-readable output")
        add_db_option(each)
