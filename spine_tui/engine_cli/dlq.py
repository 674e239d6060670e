"""``dlq``: list, show, replay and purge the dead-letter queue in the run store.

Items are added by workflows (``DLQManager.add``); here they are looked at, replayed through
a workflow (a run per item, the payload as its params, waited for: an item whose run does
not complete goes back to pending with the run's error) or purged (a soft delete).
"""

from __future__ import annotations

import argparse
import re
from typing import Any

from rich.markup import escape
from rich.table import Table
from rich.text import Text

from engine import Catalog, DeadLetter, DLQError, DLQManager, DLQReplay, discover
from engine.store import UnknownDeadLetterError

from ..locations import workflow_paths
from ._io import (
    EXIT_FAILED,
    EXIT_OK,
    CliError,
    HelpFormatter,
    Streams,
    add_paths_option,
    check_paths_exist,
    dumps,
    plural,
    positive_int,
)
from ._store import add_db_option, db_path, local_time, one_line, open_store

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")


def parse_age(text: str) -> float:
    """argparse type for ``--older-than``: ``90``, ``30s``, ``15m``, ``12h``, ``7d``, ``2w``."""
    match = _AGE.match(text)
    if match is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not an age; write e.g. 90, 30s, 15m, "
                                         "12h, 7d or 2w")
    return float(match[1]) * _UNITS[match[2] or "s"]


def cmd_list(args: argparse.Namespace, io: Streams) -> int:
    """Print the queue's items (a missing store file lists none and is not created)."""
    items: list[DeadLetter] = []
    if db_path(args).exists():
        with open_store(args) as store:
            items = DLQManager(store).list(args.queue, include_replayed=args.all,
                                           limit=args.limit, include_purged=args.all)
    if args.json:
        io.write_json({"dead_letters": [i.to_dict() for i in items]})
        return EXIT_OK
    title = f"Dead letters{f' in {args.queue}' if args.queue else ''} ({db_path(args)})"
    table = Table(title=title, title_justify="left", header_style="bold")
    for column in ("id", "queue", "workflow", "step", "error", "created", "attempts",
                   "status"):
        table.add_column(column, overflow="fold")
    for item in items:
        table.add_row(str(item.id), escape(item.queue), escape(item.workflow or "-"),
                      escape(item.step or "-"), escape(_error(item)), local_time(item.created),
                      str(item.attempts), _status(item))
    io.console.print(table)
    io.console.print(plural(len(items), "item"), style="dim")
    return EXIT_OK


def cmd_show(args: argparse.Namespace, io: Streams) -> int:
    """Print one item with its whole payload."""
    _require_store(args)
    with open_store(args) as store:
        item = _checked(lambda: DLQManager(store).get(args.id))
    if args.json:
        io.write_json(item.to_dict())
        return EXIT_OK
    for label, value in (("id", item.id), ("queue", item.queue), ("status", item.status),
                         ("workflow", item.workflow), ("step", item.step),
                         ("run", item.run_id), ("error", _error(item)),
                         ("created", local_time(item.created)), ("attempts", item.attempts),
                         ("replayed", local_time(item.replayed)),
                         ("replay run", item.replay_run_id)):
        io.console.print(Text.assemble((f"{label:>10}  ", "bold"), str(value or "-")),
                         soft_wrap=True)
    io.console.print(Text("   payload", style="bold"))
    io.console.print(dumps(item.payload), soft_wrap=True, markup=False)
    return EXIT_OK


def cmd_replay(args: argparse.Namespace, io: Streams) -> int:
    """Replay one item or a queue's pending items, each as a run of its workflow, waited for."""
    _require_store(args)
    target = _item_or_queue(args.target)
    with open_store(args) as store:
        dlq = DLQManager(store)
        items = [_checked(lambda: dlq.get(target))] if isinstance(target, int) else \
            dlq.list(target, limit=args.limit)
        if isinstance(target, int) and items[0].status != "pending":
            raise CliError(f"dead letter {target} is {items[0].status}; only pending items "
                           "are replayed", hint="`spine-engine dlq list --all` shows them all")
        catalog = _catalog(args)
        workflows = {item.id: _workflow_for(item, args.workflow, catalog) for item in items}
        done: list[DLQReplay] = []
        for item in items:
            try:
                replays = dlq.replay(item.id, workflows[item.id], started_by="cli", wait=True)
            except DLQError as exc:  # replayed or purged by another process meanwhile
                if isinstance(target, int):
                    raise CliError(str(exc)) from None
                io.err_console.print(f"skipped: {exc}", style="dim", soft_wrap=True)
                continue
            done.extend(replays)
            if not args.json:
                for replay in replays:
                    _print_replay(io, replay)
    if args.json:
        io.write_json({"replays": [r.to_dict() for r in done]})
    elif not done:
        io.console.print(f"nothing to replay in {args.target}", style="dim")
    return EXIT_OK if all(r.ok for r in done) else EXIT_FAILED


def cmd_purge(args: argparse.Namespace, io: Streams) -> int:
    """Soft-delete the items the filters select (all of them only with ``--all``)."""
    if args.queue is None and args.older_than is None and not args.id and not args.all:
        raise CliError("purge needs QUEUE, --older-than or --id to say what to purge",
                       hint="pass --all to purge every queue")
    _require_store(args)
    with open_store(args) as store:
        count = _checked(lambda: DLQManager(store).purge(args.queue, args.older_than,
                                                         ids=args.id or None))
    if args.json:
        io.write_json({"purged": count})
    else:
        io.console.print(f"purged {plural(count, 'item')}")
    return EXIT_OK


def _item_or_queue(text: str) -> int | str:
    """An item id (digits) or a queue name."""
    return int(text) if text.strip().isdigit() else text


def _catalog(args: argparse.Namespace) -> Catalog:
    check_paths_exist(args.paths)
    return discover(workflow_paths(args.paths))


def _workflow_for(item: DeadLetter, name: str | None, catalog: Catalog) -> Any:
    """The workflow an item is replayed through: ``--workflow``, else the one it failed in."""
    wanted = name or item.workflow
    if not wanted:
        raise CliError(f"dead letter {item.id} names no workflow to replay it through",
                       hint="pass --workflow NAME")
    found = catalog.get(wanted)
    if found is None:
        names = ", ".join(sorted(catalog.names())[:10]) or "none"
        raise CliError(f"no workflow named {wanted!r} in {', '.join(catalog.paths)} "
                       f"(found: {names})",
                       hint="pass the folders that define it with --paths, or another "
                            "workflow with --workflow")
    return found


def _print_replay(io: Streams, replay: DLQReplay) -> None:
    run = f" run {replay.run_id}" if replay.run_id else ""
    if replay.ok:
        io.console.print(Text.assemble(("✓ ", "green"), f"dead letter {replay.letter_id}:{run} "
                                       "completed"), soft_wrap=True)
    else:
        io.console.print(Text.assemble(("✗ ", "red"), f"dead letter {replay.letter_id}:{run} "
                                       f"{replay.error}; it stays pending"), soft_wrap=True)


def _require_store(args: argparse.Namespace) -> None:
    if not db_path(args).exists():  # a typo must not create a store file
        raise CliError(f"the run store {db_path(args)} does not exist yet",
                       hint="pass the store the dead letters are in with --db")


def _checked(call: Any) -> Any:
    try:
        return call()
    except (DLQError, UnknownDeadLetterError) as exc:
        raise CliError(str(exc), hint="`spine-engine dlq list --all` shows the items") \
            from None


def _error(item: DeadLetter) -> str:
    category = f"[{item.error_category}] " if item.error_category else ""
    return one_line(f"{category}{item.error or ''}", 60) or "-"


def _status(item: DeadLetter) -> Text:
    style = {"pending": "yellow", "replayed": "green", "purged": "dim"}[item.status]
    return Text(item.status, style=style)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``dlq`` and its sub-commands (``list`` when none is given)."""
    group = sub.add_parser(
        "dlq", help="dead letters: list, show, replay, purge",
        description="The dead-letter queue in the run store: items workflows could not "
                    "process, with their error and payload. Without a sub-command, lists "
                    "the pending items. Exit status: 0 ok, 1 a replayed run did not "
                    "complete, 2 bad input (unknown item or workflow, nothing to purge).",
        epilog="examples:\n  spine-engine dlq\n  spine-engine dlq list --queue bad_records\n"
               "  spine-engine dlq show 12\n"
               "  spine-engine dlq replay 12                 through the workflow it failed in\n"
               "  spine-engine dlq replay bad_records --workflow selfheal.reprocess\n"
               "  spine-engine dlq purge bad_records --older-than 7d",
        formatter_class=HelpFormatter)
    _list_options(group)
    group.set_defaults(func=cmd_list, paths=None)
    commands = group.add_subparsers(dest="dlq_command", metavar="SUBCOMMAND")

    p = commands.add_parser("list", help="pending items, oldest first",
                            formatter_class=HelpFormatter)
    _list_options(p)
    p.set_defaults(func=cmd_list)

    p = commands.add_parser("show", help="one item with its payload",
                            formatter_class=HelpFormatter)
    p.add_argument("id", type=int, metavar="ID", help="the item's id (`dlq list` shows them)")
    _output_options(p)
    p.set_defaults(func=cmd_show)

    p = commands.add_parser(
        "replay", help="run items again through a workflow",
        description="Replay one item (ID) or the pending items of QUEUE, oldest first: each "
                    "starts a run of --workflow (default: the workflow the item failed in) "
                    "with the payload as its params, recorded in the store, and waits for "
                    "it. A completed run marks the item replayed with the run's id; otherwise "
                    "the item stays pending with the run's error.",
        formatter_class=HelpFormatter)
    p.add_argument("target", metavar="ID|QUEUE", help="an item id or a queue name")
    p.add_argument("--workflow", metavar="NAME", default=None,
                   help="the workflow to run each item through (a name in --paths)")
    p.add_argument("--limit", type=positive_int, default=None, metavar="N",
                   help="replay at most N items of the queue")
    add_paths_option(p)
    _output_options(p)
    p.set_defaults(func=cmd_replay)

    p = commands.add_parser(
        "purge", help="soft-delete items",
        description="Mark items purged: they stay in the store for the record but are no "
                    "longer listed or replayed. Select them by QUEUE, --older-than and --id "
                    "(all must match); --all purges every queue.", formatter_class=HelpFormatter)
    p.add_argument("queue", nargs="?", metavar="QUEUE", default=None, help="only this queue")
    p.add_argument("--older-than", type=parse_age, default=None, metavar="AGE",
                   help="only items created longer ago than AGE (90, 30s, 15m, 12h, 7d, 2w)")
    p.add_argument("--id", type=int, action="append", metavar="ID",
                   help="only this item (repeatable)")
    p.add_argument("--all", action="store_true", help="purge without a filter: every queue")
    _output_options(p)
    p.set_defaults(func=cmd_purge)


def _list_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--queue", metavar="QUEUE", default=None, help="only this queue")
    parser.add_argument("--all", action="store_true",
                        help="replayed and purged items too (their status column says which)")
    parser.add_argument("--limit", type=positive_int, default=100, metavar="N",
                        help="at most N items (default: 100)")
    _output_options(parser)


def _output_options(parser: argparse.ArgumentParser) -> None:
    add_db_option(parser)
    parser.add_argument("--json", action="store_true", help="print JSON")


__all__ = ["add_parser", "parse_age"]
