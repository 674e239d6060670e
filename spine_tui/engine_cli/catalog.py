"""``list``, ``show`` and ``validate``: read-only views of workflow files and their DAGs."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.markup import escape
from rich.table import Table
from rich.text import Text

from engine import (
    DiscoveredWorkflow,
    LoadError,
    Step,
    UnknownPipelineError,
    UnknownWorkflowError,
    Workflow,
    WorkflowSpecError,
    discover,
    missing_references,
    resolve_workflow,
)

from ..locations import workflow_paths
from ._io import (
    EXIT_OK,
    EXIT_USAGE,
    CliError,
    HelpFormatter,
    Streams,
    add_paths_option,
    check_paths_exist,
    display_path,
    plural,
)

# ---------------------------------------------------------------------------- shared


def resolve_target(target: str, paths: list[str] | None) -> DiscoveredWorkflow:
    """The workflow a user named (by name in ``paths``, or by file), or a ``CliError``.

    When a file is given together with ``--paths``, those paths load first so the pipelines
    and sub-workflows they register are available to the file's workflow.
    """
    check_paths_exist(paths)
    is_file = Path(target).suffix in (".py", ".yaml", ".yml") or Path(target).is_file()
    if is_file and paths:
        discover(paths)
    try:
        return resolve_workflow(target, workflow_paths(paths))
    except LookupError as exc:
        message = str(exc.args[0]) if exc.args else str(exc)
        if is_file:
            hint = f"fix the file, then check it with `spine-engine validate {target}`"
        else:
            hint = "pass the folder that defines it with --paths, or give the file itself"
        raise CliError(message, hint=hint) from None


def load_error_dict(error: LoadError) -> dict[str, Any]:
    return {"path": error.path, "line": error.line, "message": error.message,
            "error_type": error.error_type}


def _print_load_errors(io: Streams, errors: tuple[LoadError, ...] | list[LoadError]) -> None:
    for error in errors:
        where = display_path(error.path) + (f":{error.line}" if error.line else "")
        io.console.print(Text(f"✗ {where}: {error.message}", style="red"), soft_wrap=True)


# ---------------------------------------------------------------------------- list


def cmd_list(args: argparse.Namespace, io: Streams) -> int:
    """Print the catalog of workflows found in the given paths (or the default ones)."""
    check_paths_exist(args.paths)
    catalog = discover(workflow_paths(args.paths))
    if args.json:
        io.write_json({
            "paths": list(catalog.paths),
            "workflows": [_summary(item) for item in catalog.workflows],
            "errors": [load_error_dict(e) for e in catalog.errors],
        })
        return EXIT_OK
    where = (", ".join(display_path(p) for p in catalog.paths) if len(catalog.paths) <= 3
             else f"{len(catalog.paths)} paths")
    table = Table(title=f"Workflows in {where}",
                  title_justify="left", header_style="bold")
    for column in ("name", "domain", "steps", "version", "tags", "mode", "source"):
        table.add_column(column, justify="right" if column in ("steps", "version") else "left",
                         overflow="fold")
    for item in sorted(catalog.workflows, key=lambda w: w.name):
        wf = item.workflow
        table.add_row(escape(wf.name), escape(wf.domain), str(len(wf.steps)), str(wf.version),
                      escape(", ".join(wf.tags)), _mode(wf), escape(display_path(item.source)))
    io.console.print(table)
    _print_load_errors(io, catalog.errors)
    failed = (f", {plural(len(catalog.errors), 'file')} failed to load" if catalog.errors
              else "")
    io.console.print(f"{plural(len(catalog), 'workflow')}{failed}", style="dim")
    return EXIT_OK


def _mode(wf: Workflow) -> str:
    policy = wf.execution_policy
    if policy.mode.value == "parallel":
        return f"parallel ×{policy.max_concurrency}"
    return policy.mode.value


def _summary(item: DiscoveredWorkflow) -> dict[str, Any]:
    wf = item.workflow
    return {
        "name": wf.name, "domain": wf.domain, "description": wf.description,
        "steps": len(wf.steps), "version": wf.version, "tags": list(wf.tags),
        "mode": wf.mode.value, "max_concurrency": wf.execution_policy.max_concurrency,
        "schedule": wf.schedule, "source": item.source, "kind": item.kind,
    }


# ---------------------------------------------------------------------------- show


def cmd_show(args: argparse.Namespace, io: Streams) -> int:
    """Print one workflow's definition: header, steps with resolved dependencies, DAG layers."""
    item = resolve_target(args.target, args.paths)
    wf = item.workflow
    if args.yaml:
        io.out.write(workflow_yaml(wf))
        io.out.flush()
        return EXIT_OK
    if args.json:
        io.write_json({**wf.to_dict(), "source": item.source,
                       "edges": [list(edge) for edge in wf.plan.edges()],
                       "layers": wf.plan.layers()})
        return EXIT_OK
    console = io.console
    console.print(Text(wf.name, style="bold"), Text(f"v{wf.version}", style="dim"))
    if wf.description:
        console.print(Text(wf.description))
    policy = wf.execution_policy
    header = Table.grid(padding=(0, 2))
    header.add_column(style="dim")
    header.add_column(overflow="fold")
    rows = [("domain", wf.domain or "-"), ("tags", ", ".join(wf.tags) or "-"),
            ("mode", f"{policy.mode.value} (max_concurrency {policy.max_concurrency}, "
                     f"on_failure {policy.on_failure.value})"),
            ("schedule", wf.schedule or "-"), ("source", display_path(item.source))]
    if wf.defaults:
        rows.append(("defaults", ", ".join(f"{k}={v!r}" for k, v in wf.defaults.items())))
    for key, value in rows:
        header.add_row(key, Text(value))
    console.print(header)

    table = Table(header_style="bold", title="Steps", title_justify="left")
    for column in ("step", "type", "target / handler", "depends on", "on_error", "retry",
                   "timeout"):
        table.add_column(column, overflow="fold")
    for step in wf.steps:
        deps = wf.dependencies(step.name)
        table.add_row(Text(step.name), step.step_type.value, Text(step.target or "-"),
                      Text(", ".join(deps) if deps else "(root)"), step.on_error.value,
                      _retry(step), f"{step.timeout_seconds:g}s" if step.timeout_seconds else "-")
    console.print(table)
    _print_config(io, wf)
    console.print(Text("Layers (steps in one layer can run together)", style="bold"))
    for number, layer in enumerate(wf.plan.layers(), start=1):
        console.print(Text(f"  {number}. {', '.join(layer)}"))
    return EXIT_OK


def _print_config(io: Streams, wf: Workflow) -> None:
    """Which step arguments come from step config: they win over ``--param`` and earlier
    outputs, so a run param of the same name does not reach that step."""
    configured = [step for step in wf.steps if step.config]
    if not configured:
        return
    io.console.print(Text("Step config (these arguments win over --param and earlier outputs)",
                          style="bold"))
    for step in configured:
        values = ", ".join(f"{key}={value!r}" for key, value in step.config.items())
        io.console.print(Text(f"  {step.name}: {values}"), soft_wrap=True)


def _retry(step: Step) -> str:
    policy = step.retry_policy
    if policy is None or step.on_error.value != "retry":
        return "-"
    text = (f"{policy.max_attempts}× from {policy.initial_delay_seconds:g}s "
            f"(×{policy.backoff_multiplier:g})")
    if policy.retryable_categories:
        text += f" on {', '.join(policy.retryable_categories)}"
    return text


def workflow_spec(wf: Workflow) -> Any:
    """``wf`` as a ``WorkflowSpec``, or a ``CliError`` naming what YAML cannot express."""
    try:
        from engine import WorkflowSpec
    except ImportError:
        raise CliError("YAML export is not available: engine.spec is missing",
                       hint="use --json instead") from None
    try:
        return WorkflowSpec.from_workflow(wf)
    except WorkflowSpecError as exc:
        raise CliError(f"{wf.name} cannot be written as YAML: {exc.detail}",
                       hint="only steps that name registered pipelines, sub-workflows or "
                            "importable module-level functions can be exported") from None


def workflow_yaml(wf: Workflow) -> str:
    """``wf`` as ``spine.io/v1`` YAML text ending in a newline."""
    try:
        text = str(workflow_spec(wf).to_yaml())
    except WorkflowSpecError as exc:
        raise CliError(f"{wf.name} cannot be written as YAML: {exc.detail}",
                       hint="config, params and defaults must be plain data") from None
    return text if text.endswith("\n") else text + "\n"


# ---------------------------------------------------------------------------- validate


def cmd_validate(args: argparse.Namespace, io: Streams) -> int:
    """Load files and check that every pipeline and sub-workflow they name is registered."""
    catalog = discover(args.files)  # .py before .yaml, so a folder's pipelines register first
    errors: list[LoadError] = list(catalog.errors)
    checked: list[dict[str, Any]] = []
    for item in catalog.workflows:
        pipelines, workflows = missing_references(item.workflow)
        problems = []
        if pipelines:
            problems.append(str(UnknownPipelineError(pipelines, item.name)))
        if workflows:
            problems.append(str(UnknownWorkflowError(workflows, item.name)))
        checked.append({"name": item.name, "source": item.source,
                        "steps": len(item.workflow.steps), "valid": not problems,
                        "problems": problems})
    # A file that only registers pipelines is legitimate, so this is a warning, not a failure.
    sources = {item.source for item in catalog.workflows} | {e.path for e in errors}
    warnings = [f"{display_path(path)}: defines no workflow (no module-level Workflow or "
                "ManagedWorkflow, none registered)"
                for path in args.files if Path(path).is_file() and str(Path(path)) not in sources]
    valid = not errors and all(entry["valid"] for entry in checked)
    if args.json:
        io.write_json({"valid": valid, "workflows": checked, "warnings": warnings,
                       "errors": [load_error_dict(e) for e in errors]})
        return EXIT_OK if valid else EXIT_USAGE
    console = io.console
    for entry in checked:
        where = display_path(entry["source"])
        if entry["valid"]:
            console.print(Text.assemble(("✓ ", "green"), (entry["name"], "bold"),
                                        f" ({plural(entry['steps'], 'step')})  ", (where, "dim")))
        for problem in entry["problems"]:
            console.print(Text(f"✗ {where}: {problem}", style="red"), soft_wrap=True)
    _print_load_errors(io, errors)
    for warning in warnings:
        console.print(Text(f"! {warning}", style="yellow"), soft_wrap=True)
    bad = len(errors) + sum(not entry["valid"] for entry in checked)
    good = sum(entry["valid"] for entry in checked)
    console.print(f"{good} valid, {plural(bad, 'problem')}", style="dim" if valid else "red")
    return EXIT_OK if valid else EXIT_USAGE


# ---------------------------------------------------------------------------- parsers


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``list``, ``show`` and ``validate`` on the top-level parser."""
    p = sub.add_parser(
        "list", help="list the workflows found in files and folders",
        description="Load every .py and .yaml workflow file under PATHS (default: ./workflows "
                    "if it exists, else the bundled samples) and print the catalog. Files that "
                    "fail to load are listed below the table with file:line; they do not "
                    "change the exit status.",
        epilog="examples:\n  spine-engine list\n  spine-engine list flows/ extra/etl.py\n"
               "  spine-engine list flows/ --json | jq '.workflows[].name'",
        formatter_class=HelpFormatter)
    p.add_argument("paths", nargs="*", metavar="PATHS", help="folders or workflow files")
    p.add_argument("--json", action="store_true",
                   help='print {"workflows": [...], "errors": [...]} as JSON')
    p.set_defaults(func=cmd_list)

    p = sub.add_parser(
        "show", help="show one workflow's steps and DAG",
        description="Print a workflow's metadata, its steps with resolved dependencies, "
                    "error and retry policies, the step arguments set by config (they win "
                    "over --param), and the layers of its DAG.",
        epilog="examples:\n  spine-engine show hello.world\n"
               "  spine-engine show flows/etl.py\n"
               "  spine-engine show etl.daily --paths flows/ --json\n"
               "  spine-engine show etl.daily --paths flows/ --yaml > etl.yaml",
        formatter_class=HelpFormatter)
    p.add_argument("target", metavar="NAME_OR_FILE", help="a workflow name or a workflow file")
    add_paths_option(p)
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true",
                     help="print the definition as JSON, with resolved edges and layers")
    fmt.add_argument("--yaml", action="store_true", help="print the definition as a YAML spec")
    p.set_defaults(func=cmd_show)

    p = sub.add_parser(
        "validate", help="check workflow files without running them",
        description="Load each file (or every workflow file in a folder) and check that the "
                    "pipelines and sub-workflows each workflow names are registered. "
                    "Exit status 0 when everything is valid, 2 otherwise.",
        epilog="examples:\n  spine-engine validate flows/etl.py flows/report.yaml\n"
               "  spine-engine validate flows/\n  spine-engine validate flows/ --json",
        formatter_class=HelpFormatter)
    p.add_argument("files", nargs="+", metavar="FILE", help="workflow files or folders")
    p.add_argument("--json", action="store_true", help="print the findings as JSON")
    p.set_defaults(func=cmd_validate)


__all__ = ["add_parsers", "resolve_target", "workflow_spec", "workflow_yaml"]
