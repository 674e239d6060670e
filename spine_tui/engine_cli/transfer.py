"""``export`` and ``import``: workflows in and out as ``spine.io/v1`` YAML files.

``import FILE`` checks a YAML workflow (schema, handlers, referenced pipelines and
sub-workflows) and prints its summary; with ``--into DIR`` it also copies the file into a
workflow folder (e.g. ``./workflows``, which ``list``/``run`` and the TUI load by default), so
discovery picks it up. Nothing is written to the run store.
"""

from __future__ import annotations

import argparse
import filecmp
import shutil
from pathlib import Path
from typing import Any

from rich.table import Table
from rich.text import Text

from engine import (
    YAML_SUFFIXES,
    UnknownPipelineError,
    UnknownWorkflowError,
    Workflow,
    discover,
    missing_references,
)

from ._io import (
    EXIT_OK,
    CliError,
    HelpFormatter,
    Streams,
    add_paths_option,
    display_path,
    dumps,
    plural,
)
from .catalog import resolve_target, workflow_spec, workflow_yaml

# ---------------------------------------------------------------------------- export


def cmd_export(args: argparse.Namespace, io: Streams) -> int:
    """Write a workflow's definition as YAML (or JSON) to stdout or ``-o FILE``."""
    wf = resolve_target(args.target, args.paths).workflow
    text = (dumps(workflow_spec(wf).to_dict()) + "\n") if args.json else workflow_yaml(wf)
    if args.output is None:
        io.out.write(text)
        io.out.flush()
        return EXIT_OK
    target = Path(args.output)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot write {target}: {exc.strerror or exc}") from None
    io.err_console.print(Text(f"wrote {wf.name} ({plural(len(wf.steps), 'step')}) to "
                              f"{display_path(target)}"), soft_wrap=True)
    return EXIT_OK


# ---------------------------------------------------------------------------- import


def cmd_import(args: argparse.Namespace, io: Streams) -> int:
    """Check a YAML workflow file, print its summary and, with --into, copy it there."""
    source = Path(args.file)
    if not source.is_file():
        raise CliError(f"no such file: {args.file}", hint="give a .yaml workflow file")
    if source.suffix not in YAML_SUFFIXES:
        raise CliError(f"{args.file} is not a YAML workflow file (.yaml or .yml)",
                       hint="Python workflows need no import: put the .py file in a workflow "
                            "folder, or check it with `spine-engine validate`")
    into = Path(args.into) if args.into else None
    if into is not None and into.exists() and not into.is_dir():
        raise CliError(f"--into {args.into} is a file, not a folder")
    # The destination's modules (and --paths) register the pipelines the file may name.
    existing = discover([into]) if into is not None and into.is_dir() else None
    if args.paths:
        discover(args.paths)
    wf = resolve_target(str(source), None).workflow
    _check_references(wf, source)
    destination = None
    if into is not None:
        destination = into / source.name
        _check_destination(wf, source, destination, existing, force=args.force)
    copied = destination is not None and not args.check
    if copied and destination is not None and not _same_file(source, destination):
        try:
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, destination)
        except OSError as exc:
            raise CliError(f"cannot copy {source} to {destination}: {exc.strerror or exc}"
                           ) from None
    if args.json:
        io.write_json({"valid": True, "name": wf.name, "source": str(source),
                       "steps": len(wf.steps), "destination": str(destination) if copied
                       else None, "workflow": workflow_spec_dict(wf)})
        return EXIT_OK
    _print_summary(io, wf, source)
    if copied:
        io.console.print(Text.assemble(("imported ", "green"), (wf.name, "bold"), " into ",
                                       display_path(destination or "")), soft_wrap=True)
    elif destination is not None:
        io.console.print(f"check only: would copy to {display_path(destination)}", style="dim")
    return EXIT_OK


def workflow_spec_dict(wf: Workflow) -> dict[str, Any] | None:
    """The spec as data for --json; ``None`` when a handler cannot be described in YAML."""
    try:
        return dict(workflow_spec(wf).to_dict())
    except CliError:
        return None


def _check_references(wf: Workflow, source: Path) -> None:
    pipelines, workflows = missing_references(wf)
    problems = []
    if pipelines:
        problems.append(str(UnknownPipelineError(pipelines, wf.name)))
    if workflows:
        problems.append(str(UnknownWorkflowError(workflows, wf.name)))
    if problems:
        raise CliError(f"{display_path(source)}: {'; '.join(problems)}",
                       hint="pass the folder whose .py files register them with --paths "
                            "(the --into folder and the file's own folder are loaded too)")


def _check_destination(wf: Workflow, source: Path, destination: Path, existing: Any,
                       force: bool) -> None:
    """Refuse to shadow another workflow of the same name or overwrite a different file."""
    if _same_file(source, destination):
        return
    if existing is not None:
        other = existing.get(wf.name)
        if other is not None and Path(other.source).resolve() != destination.resolve():
            raise CliError(f"{display_path(other.source)} already defines {wf.name}",
                           hint="rename the workflow (metadata.name) or remove that file")
    if destination.exists() and not force and not filecmp.cmp(source, destination,
                                                              shallow=False):
        raise CliError(f"{display_path(destination)} exists with other content",
                       hint="pass --force to overwrite it")


def _same_file(a: Path, b: Path) -> bool:
    return b.exists() and a.resolve() == b.resolve()


def _print_summary(io: Streams, wf: Workflow, source: Path) -> None:
    console = io.console
    console.print(Text.assemble(("✓ ", "green"), (wf.name, "bold"), f" v{wf.version}",
                                f" ({plural(len(wf.steps), 'step')})  ",
                                (display_path(source), "dim")), soft_wrap=True)
    if wf.description:
        console.print(Text(wf.description), soft_wrap=True)
    table = Table(header_style="bold", box=None, padding=(0, 2, 0, 0))
    for column in ("step", "type", "target / handler", "depends on"):
        table.add_column(column, overflow="fold")
    for step in wf.steps:
        deps = wf.dependencies(step.name)
        table.add_row(Text(step.name), step.step_type.value, Text(step.target or "-"),
                      Text(", ".join(deps) if deps else "(root)"))
    console.print(table)


# ---------------------------------------------------------------------------- parsers


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``export`` and ``import`` on the top-level parser."""
    p = sub.add_parser(
        "export", help="write a workflow as a YAML spec",
        description="Write a workflow's definition as a spine.io/v1 YAML document (to stdout, "
                    "or to FILE with -o). Steps must name registered pipelines, "
                    "sub-workflows or importable module-level functions; anything else "
                    "(lambdas, closures) cannot be expressed in YAML and exits with status 2.",
        epilog="examples:\n  spine-engine export hello.world --yaml\n"
               "  spine-engine export flows/etl.py --yaml -o workflows/etl.yaml\n"
               "  spine-engine export etl.daily --paths flows/ --json",
        formatter_class=HelpFormatter)
    p.add_argument("target", metavar="NAME_OR_FILE", help="a workflow name or a workflow file")
    add_paths_option(p)
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--yaml", action="store_true", help="YAML (the default)")
    fmt.add_argument("--json", action="store_true", help="the same document as JSON")
    p.add_argument("-o", "--output", metavar="FILE", default=None,
                   help="write to FILE instead of stdout (overwrites it)")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser(
        "import", help="check a YAML workflow file and copy it into a workflow folder",
        description="Check a YAML workflow file (schema, handlers, the pipelines and "
                    "sub-workflows it names) and print its summary. With --into DIR the file "
                    "is also copied into DIR (created if missing) under the same file name, "
                    "so `list`, `run` and the TUI find it when they load DIR (./workflows "
                    "is the default folder). The .py files in DIR, in the file's own folder "
                    "and in --paths are loaded first to register pipelines. A file of the "
                    "same name with other content is only overwritten with --force; another "
                    "file in DIR defining the same workflow name is an error. --check never "
                    "copies. Exit status 0 valid, 2 invalid.",
        epilog="examples:\n  spine-engine import etl.yaml\n"
               "  spine-engine import etl.yaml --into workflows/\n"
               "  spine-engine import etl.yaml --into workflows/ --check   dry run\n"
               "  spine-engine import etl.yaml --paths flows/ --json",
        formatter_class=HelpFormatter)
    p.add_argument("file", metavar="FILE", help="a .yaml/.yml workflow file")
    p.add_argument("--into", metavar="DIR", default=None,
                   help="copy the file into this workflow folder")
    p.add_argument("--check", action="store_true",
                   help="only check and print the summary; never copy")
    p.add_argument("--force", action="store_true",
                   help="overwrite a different file of the same name in DIR")
    add_paths_option(p)
    p.add_argument("--json", action="store_true",
                   help="print the check's result and the workflow document as JSON")
    p.set_defaults(func=cmd_import)
