"""``package`` and ``inspect``: a workflow as a ``.pyz`` archive, and reading one back.

``package NAME_OR_FILE -o DIR`` writes ``DIR/<name>.pyz`` (``engine.WorkflowPackager``), which
``python DIR/<name>.pyz [--param k=v] [--db PATH]`` runs wherever spine-tui is installed.
``inspect FILE`` prints an archive's manifest after checking it against the archive's
contents, without running anything: a file that is not a workflow package, or one changed
since it was packaged, exits with status 2 and says which files differ.
"""

from __future__ import annotations

import argparse

from rich.table import Table
from rich.text import Text

import engine  # the packager loads on first use (~50 ms), not with every command

from ._io import EXIT_OK, CliError, HelpFormatter, Streams, add_paths_option, display_path
from .catalog import resolve_target


def cmd_package(args: argparse.Namespace, io: Streams) -> int:
    """Resolve the workflow, write its archive into ``-o DIR`` and print the manifest."""
    item = resolve_target(args.target, args.paths)
    try:
        result = engine.WorkflowPackager().package(item, args.output, paths=args.paths or ())
    except engine.PackageError as exc:
        raise CliError(str(exc), hint="see `spine-engine package --help`") from None
    size = result.archive_path.stat().st_size
    if args.json:
        io.write_json({"archive": str(result.archive_path), "size_bytes": size,
                       "manifest": result.manifest.to_dict()})
        return EXIT_OK
    where = display_path(result.archive_path.resolve())
    io.console.print(Text.assemble(("wrote ", "dim"), (where, "bold"),
                                   (f"  {size:,} bytes", "dim")), soft_wrap=True)
    _print_manifest(io, result.manifest)
    io.console.print(Text(f"run it with: python {where} [--param KEY=VALUE] [--db PATH]",
                          style="dim"), soft_wrap=True)
    return EXIT_OK


def cmd_inspect(args: argparse.Namespace, io: Streams) -> int:
    """Print a verified archive's manifest; nothing in the archive runs."""
    try:
        manifest = engine.WorkflowPackager.inspect(args.file)
    except engine.PackageError as exc:
        raise CliError(str(exc), hint="give a .pyz written by `spine-engine package`, or "
                                      "package the workflow again") from None
    if args.json:
        io.write_json(manifest.to_dict())
        return EXIT_OK
    io.console.print(Text.assemble(("✓ ", "green"), (display_path(args.file), "bold"),
                                   ("  checksum verified", "dim")), soft_wrap=True)
    _print_manifest(io, manifest)
    return EXIT_OK


def _print_manifest(io: Streams, manifest: engine.PackageManifest) -> None:
    table = Table(box=None, show_header=False, padding=(0, 2, 0, 0))
    table.add_column(style="dim")
    table.add_column(overflow="fold")
    definition = (manifest.entry if manifest.definition == "yaml"
                  else f"module {manifest.entry}")
    rows = [("workflow", f"{manifest.workflow_name} v{manifest.workflow_version}"),
            ("steps", str(manifest.step_count)),
            ("tags", ", ".join(manifest.tags) or "-"),
            ("definition", definition),
            ("handler files", ", ".join(manifest.handler_files) or "-"),
            ("requirements", ", ".join(manifest.requirements) or "-"),
            ("packaged at", f"{manifest.packaged_at} (Python {manifest.python_version})"),
            ("checksum", manifest.checksum)]
    for key, value in rows:
        table.add_row(key, value)
    io.console.print(table)
    for warning in manifest.warnings:
        io.console.print(Text(f"warning: {warning}", style="yellow"), soft_wrap=True)


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``package`` and ``inspect`` on the top-level parser."""
    p = sub.add_parser(
        "package", help="write a workflow as a .pyz archive that python runs",
        description="Write a workflow as DIR/<name>.pyz, a PEP 441 archive holding its "
                    "manifest (name, version, checksum, entry, requirements), its definition "
                    "(a YAML spec when it exports to one) and the source of its handler "
                    "modules and the local modules they import; never a secret's value "
                    "(config keeps secret:... references). Run it with `python "
                    "DIR/<name>.pyz [--param KEY=VALUE] [--db PATH]` where spine-tui is "
                    "installed; `spine-engine inspect` reads it without running it.",
        epilog="examples:\n  spine-engine package etl.daily --paths flows/ -o dist\n"
               "  spine-engine package flows/etl.py -o dist --json\n"
               "  python dist/etl_daily.pyz --param n=3 --db /tmp/ci.db",
        formatter_class=HelpFormatter)
    p.add_argument("target", metavar="NAME_OR_FILE", help="a workflow name or a workflow file")
    p.add_argument("-o", "--output", metavar="DIR", required=True,
                   help="the folder to write the archive into (created if missing)")
    add_paths_option(p)
    p.add_argument("--json", action="store_true",
                   help="print the archive's path, size and manifest as JSON")
    p.set_defaults(func=cmd_package)

    p = sub.add_parser(
        "inspect", help="print a .pyz archive's manifest, checked, without running it",
        description="Print the manifest of a workflow archive written by `spine-engine "
                    "package`, after checking every file in it against the checksums the "
                    "manifest lists. Nothing in the archive runs. Exit status 2 for a file "
                    "that is not a workflow package, or one changed since it was packaged "
                    "(the error names the files that differ).",
        epilog="examples:\n  spine-engine inspect dist/etl_daily.pyz\n"
               "  spine-engine inspect dist/etl_daily.pyz --json",
        formatter_class=HelpFormatter)
    p.add_argument("file", metavar="FILE", help="a .pyz written by `spine-engine package`")
    p.add_argument("--json", action="store_true", help="print the manifest as JSON")
    p.set_defaults(func=cmd_inspect)
