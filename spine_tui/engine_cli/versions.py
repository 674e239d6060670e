"""``versions``, ``diff`` and ``rollback``: the published definitions of a workflow (spec §9).

A thin face on ``WorkflowVersionStore`` in the run-store file: list a workflow's versions
with what changed in each, compare two of them, and publish an old definition again as the
newest version (history is append-only, so a rollback can itself be rolled back).
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator

from rich.table import Table
from rich.text import Text

from engine import VersionInfo, WorkflowVersionStore

from ._io import EXIT_OK, CliError, HelpFormatter, Streams, display_path, plural
from ._store import add_db_option, db_path, local_time, open_store


@contextlib.contextmanager
def _versions(args: argparse.Namespace) -> Iterator[WorkflowVersionStore]:
    """The version store in the ``--db`` file; a missing file is an error, never created."""
    path = db_path(args)
    if not path.exists():
        raise CliError(f"workflow {args.name!r} has no published versions: the run store "
                       f"{path} does not exist yet",
                       hint="versions are published by runs and by "
                            "WorkflowVersionStore.publish; pass the store with --db or SPINE_DB")
    with open_store(args) as store:
        yield WorkflowVersionStore(store)


# ---------------------------------------------------------------------------- versions


def cmd_versions(args: argparse.Namespace, io: Streams) -> int:
    """List every version of a workflow, oldest first, with its changes (or print one as YAML)."""
    with _versions(args) as store:
        if args.yaml is not None:
            io.out.write(store.get(args.name, args.yaml).to_yaml())
            io.out.flush()
            return EXIT_OK
        infos = store.list(args.name)
    if args.json:
        io.write_json({"name": args.name, "latest": infos[-1].version,
                       "versions": [i.to_dict(definition=args.definitions) for i in infos]})
        return EXIT_OK
    table = Table(header_style="bold", box=None, padding=(0, 2, 0, 0))
    for column in ("version", "published", "by", "steps", "changes", "note"):
        table.add_column(column, overflow="fold",
                         justify="right" if column == "steps" else "left")
    latest = infos[-1].version
    for info in infos:
        label = Text(f"v{info.version}", style="bold" if info.version == latest else "")
        if info.version == latest:
            label.append(" latest", style="green")
        if not info.replayable:
            label.append(" *", style="yellow")
        table.add_row(label, local_time(info.created_at), info.created_by or "-",
                      str(info.step_count), Text(", ".join(info.changes)),
                      Text(info.changelog or "", style="dim"))
    io.console.print(table)
    notes = [f"{plural(len(infos), 'version')} of {args.name} in {display_path(store.path)}"]
    if any(not i.replayable for i in infos):
        notes.append("* not replayable: its steps use lambdas or closures (list and diff only)")
    for note in notes:
        io.console.print(note, style="dim", soft_wrap=True)
    return EXIT_OK


# ---------------------------------------------------------------------------- diff


def cmd_diff(args: argparse.Namespace, io: Streams) -> int:
    """Print what changed from one version to another: steps added, removed and changed."""
    with _versions(args) as store:
        diff = store.diff(args.name, args.v1, args.v2)
    if args.json:
        io.write_json(diff.to_dict())
        return EXIT_OK
    head, *rest = diff.summary().splitlines()
    io.console.print(Text(head, style="bold"), soft_wrap=True)
    for line in rest:
        marker = line.strip()[:1]
        style = {"+": "green", "-": "red", "~": "yellow"}.get(marker, "")
        io.console.print(Text(line, style=style), soft_wrap=True)
    return EXIT_OK


# ---------------------------------------------------------------------------- rollback


def cmd_rollback(args: argparse.Namespace, io: Streams) -> int:
    """Publish version V's definition again as the newest version."""
    with _versions(args) as store:
        before = store.latest(args.name)
        info = store.rollback(args.name, args.version, changelog=args.message)
    published = info.version != before.version
    if args.json:
        io.write_json({**info.to_dict(definition=False), "published": published,
                       "previous_latest": before.version})
        return EXIT_OK
    if not published:
        io.console.print(f"{args.name} v{before.version} already has the definition of "
                         f"v{args.version}; nothing published", soft_wrap=True)
        return EXIT_OK
    io.console.print(Text.assemble(("rolled back ", "bold"), (args.name, "bold"),
                                   f": v{info.version} is now the latest, with the definition "
                                   f"of v{args.version} (was v{before.version})"),
                     soft_wrap=True)
    _print_changes(io, info)
    return EXIT_OK


def _print_changes(io: Streams, info: VersionInfo) -> None:
    for change in info.changes:
        io.console.print(Text(f"  {change}", style="dim"), soft_wrap=True)


# ---------------------------------------------------------------------------- parsers


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``versions``, ``diff`` and ``rollback`` on the top-level parser."""
    p = sub.add_parser(
        "versions", help="list the published versions of a workflow",
        description="List the versions of a workflow published in the run store, oldest "
                    "first: number, time, author, step count, and what changed from the "
                    "version before. Versions marked * use lambdas or closures: they can be "
                    "listed and diffed but not rebuilt.",
        epilog="examples:\n  spine-engine versions etl.daily\n"
               "  spine-engine versions etl.daily --json | jq '.versions[].changes'\n"
               "  spine-engine versions etl.daily --json --definitions\n"
               "  spine-engine versions etl.daily --yaml 2 > etl_v2.yaml",
        formatter_class=HelpFormatter)
    p.add_argument("name", metavar="NAME", help="the workflow name")
    add_db_option(p)
    p.add_argument("--json", action="store_true", help="print the versions as JSON")
    p.add_argument("--definitions", action="store_true",
                   help="with --json: include each version's full definition")
    p.add_argument("--yaml", metavar="V", type=_version, default=None,
                   help="print version V's definition as a YAML workflow spec instead "
                        "(replayable versions only)")
    p.set_defaults(func=cmd_versions)

    p = sub.add_parser(
        "diff", help="compare two versions of a workflow",
        description="Show what changed between two published versions of a workflow: steps "
                    "added and removed, changed step fields (old -> new) and changed "
                    "workflow fields. The versions may be given in either order.",
        epilog="examples:\n  spine-engine diff etl.daily 1 2\n"
               "  spine-engine diff etl.daily 3 1 --json",
        formatter_class=HelpFormatter)
    p.add_argument("name", metavar="NAME", help="the workflow name")
    p.add_argument("v1", metavar="V1", type=_version, help="the version to compare from")
    p.add_argument("v2", metavar="V2", type=_version, help="the version to compare to")
    add_db_option(p)
    p.add_argument("--json", action="store_true", help="print the diff as JSON")
    p.set_defaults(func=cmd_diff)

    p = sub.add_parser(
        "rollback", help="make an old version's definition the latest again",
        description="Publish the definition of version V again as the newest version. "
                    "History is append-only: nothing is deleted, the new version records "
                    "which one it rolled back to, and runs in flight keep their version. "
                    "Rolling back to the definition that is already latest publishes nothing.",
        epilog="examples:\n  spine-engine rollback etl.daily 2\n"
               "  spine-engine rollback etl.daily 2 -m 'v3 broke the loader' --json",
        formatter_class=HelpFormatter)
    p.add_argument("name", metavar="NAME", help="the workflow name")
    p.add_argument("version", metavar="V", type=_version, help="the version to roll back to")
    p.add_argument("--message", "-m", metavar="TEXT", default=None,
                   help="a changelog note for the new version (default: 'rollback to vV')")
    add_db_option(p)
    p.add_argument("--json", action="store_true", help="print the new version as JSON")
    p.set_defaults(func=cmd_rollback)


def _version(text: str) -> int:
    try:
        value = int(text.lstrip("vV"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a version number (e.g. 2 or v2)"
                                         ) from None
    if value < 1:
        raise argparse.ArgumentTypeError("versions start at 1")
    return value
