"""``triggers``: list the event triggers declared in workflow files, and fire one by hand.

``spine-engine triggers fire NAME --event JSON`` runs the trigger's filter and param mapping
on a hand-written event and starts its run in this process (recorded as
``started_by=trigger:NAME``), the quickest way to check a mapping before wiring a webhook.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from rich.markup import escape
from rich.table import Table
from rich.text import Text

from engine import (
    EventRouter,
    EventTrigger,
    RunHandle,
    TriggerError,
    UnknownTriggerError,
    discover,
    start_run,
)

from ..locations import workflow_paths
from ._io import (
    EXIT_FAILED,
    EXIT_OK,
    CliError,
    HelpFormatter,
    Streams,
    display_path,
    plural,
    preview,
)
from ._store import add_db_option, db_path
from .catalog import load_error_dict


def cmd_list(args: argparse.Namespace, io: Streams) -> int:
    """Print every trigger declared in the workflow files (and the files that failed)."""
    catalog = discover(workflow_paths(args.paths))
    triggers = catalog.triggers
    if args.json:
        io.write_json({"paths": list(catalog.paths),
                       "triggers": [t.describe() for t in triggers],
                       "errors": [load_error_dict(e) for e in catalog.errors]})
        return EXIT_OK
    table = Table(title="Triggers", title_justify="left", header_style="bold")
    for column in ("name", "source", "detail", "workflow", "filter", "enabled"):
        table.add_column(column, overflow="fold")
    for trigger in triggers:
        table.add_row(escape(trigger.name), trigger.kind, escape(trigger.event_source.detail),
                      escape(trigger.workflow_name), escape(trigger.filter or "-"),
                      Text("yes", style="green") if trigger.enabled else Text("no", style="dim"))
    io.console.print(table)
    for error in catalog.errors:  # a broken file may be hiding triggers: say so
        where = display_path(error.path) + (f":{error.line}" if error.line else "")
        io.console.print(Text(f"✗ {where}: {error.message}", style="red"), soft_wrap=True)
    io.console.print(plural(len(triggers), "trigger"), style="dim")
    return EXIT_OK


def cmd_fire(args: argparse.Namespace, io: Streams) -> int:
    """Dispatch one hand-written event to a trigger and wait for the run it starts."""
    event = _event(args.event)
    catalog = discover(workflow_paths(args.paths))
    started: list[RunHandle] = []

    def start(*targets: Any, **options: Any) -> RunHandle:
        handle = start_run(*targets, **options)
        started.append(handle)
        return handle

    router = EventRouter(lambda: catalog, start=start, db=db_path(args))
    try:
        trigger = router.get(args.name)
        fired = router.fire(args.name, event)
    except UnknownTriggerError as exc:
        raise CliError(str(exc), hint="`spine-engine triggers` lists the triggers; pass the "
                       "folder that declares it with --paths") from None
    except TriggerError as exc:
        raise CliError(str(exc), hint="check the trigger's workflow with `spine-engine "
                       "validate` and its filter against the event") from None
    if fired is None:
        return _not_fired(io, args, trigger)
    result = started[-1].wait()
    if args.json:
        io.write_json({"fired": True, "trigger": fired.trigger, "workflow": fired.workflow,
                       "run_id": fired.run_id, "params": fired.params,
                       "status": result.status.value, "error": result.error})
    else:
        io.console.print(Text.assemble(("run ", "dim"), (fired.run_id, "bold"),
                                       f"  {fired.workflow} started by {trigger.started_by}"))
        io.console.print(Text(f"params {preview(fired.params, width=400) or '{}'}"),
                         soft_wrap=True)
        style = "green" if result.status.value == "completed" else "red"
        io.console.print(Text.assemble((f"{fired.workflow} {result.status.value}", style),
                                       f"  {result.error}" if result.error else ""))
    return EXIT_OK if result.status.value in ("completed", "skipped") else EXIT_FAILED


def _not_fired(io: Streams, args: argparse.Namespace, trigger: EventTrigger) -> int:
    """Say why the event started nothing (still exit 0: the trigger worked as declared)."""
    reason = ("the trigger is disabled" if not trigger.enabled
              else f"the filter {trigger.filter!r} did not match the event")
    if args.json:
        io.write_json({"fired": False, "trigger": trigger.name, "reason": reason})
    else:
        io.console.print(Text(f"not fired: {reason}; nothing started", style="yellow"),
                         soft_wrap=True)
    return EXIT_OK


def _event(text: str) -> dict[str, Any]:
    """``--event``: a JSON object, or ``@file.json`` holding one."""
    source = "--event"
    if text.startswith("@"):
        source = text[1:]
        try:
            text = Path(source).read_text(encoding="utf-8")
        except OSError as exc:
            raise CliError(f"cannot read the event file {source}: {exc.strerror or exc}",
                           hint="pass --event '{\"key\": \"value\"}' or --event @event.json"
                           ) from None
    try:
        event = json.loads(text)
    except ValueError as exc:
        raise CliError(f"{source} is not valid JSON: {exc}",
                       hint="quote the object for the shell: --event '{\"ref\": \"main\"}'"
                       ) from None
    if not isinstance(event, dict):
        raise CliError(f"{source} must be a JSON object, got {type(event).__name__}",
                       hint="an event is an object: --event '{\"ref\": \"main\"}'")
    return event


def _paths_option(parser: argparse.ArgumentParser, *, default: Any) -> None:
    parser.add_argument("--paths", nargs="+", action="extend", metavar="P", default=default,
                        help="folders or files declaring triggers (default: ./workflows or the "
                             "bundled samples)")


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``triggers`` (and ``triggers fire``) on the top-level parser."""
    p = sub.add_parser(
        "triggers", help="list event triggers; fire one by hand",
        description="List the event triggers declared in workflow files (module-level "
                    "EventTrigger objects in .py files, spec.triggers in YAML): name, source "
                    "kind and detail, workflow, filter and whether it is enabled. "
                    "`spine-engine serve` listens for them.",
        epilog="examples:\n  spine-engine triggers\n  spine-engine triggers --paths flows/ "
               "--json\n  spine-engine triggers fire github_push --event "
               "'{\"ref\": \"refs/heads/main\", \"after\": \"abc\"}'\n"
               "  spine-engine triggers fire new_csv --event @event.json --paths flows/",
        formatter_class=HelpFormatter)
    _paths_option(p, default=None)
    p.add_argument("--json", action="store_true",
                   help='print {"triggers": [...], "errors": [...]} as JSON')
    p.set_defaults(func=cmd_list)
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    f = actions.add_parser(
        "fire", help="dispatch one event to a trigger and run what it starts",
        description="Apply a trigger's filter and param mapping to EVENT and, when it "
                    "matches, start its workflow in this process (recorded in the run store "
                    "as started_by=trigger:NAME), wait for it and print the run id, params "
                    "and outcome. Exit status: 0 completed or not fired (the reason is "
                    "printed), 1 the run failed, 2 bad input.",
        epilog="examples:\n  spine-engine triggers fire github_push --event "
               "'{\"ref\": \"refs/heads/main\"}'\n"
               "  spine-engine triggers fire new_csv --event @event.json --json",
        formatter_class=HelpFormatter)
    f.add_argument("name", metavar="NAME", help="the trigger's name")
    f.add_argument("--event", required=True, metavar="JSON",
                   help="the event: a JSON object, or @FILE holding one")
    _paths_option(f, default=argparse.SUPPRESS)
    f.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                   help="print the outcome as JSON")
    add_db_option(f)
    f.set_defaults(func=cmd_fire)
