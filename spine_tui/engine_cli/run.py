"""``run``: execute one workflow with live progress and print its result.

Exit status: 0 completed, 1 the workflow ran and failed, 2 bad input (unknown workflow,
broken file, bad ``--param``, unregistered pipeline or sub-workflow), 130 cancelled by Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import threading
from collections.abc import Iterator, Mapping
from typing import Any

from rich.live import Live
from rich.table import Table
from rich.text import Text

from engine import (
    RunStatus,
    UnknownPipelineError,
    UnknownWorkflowError,
    Workflow,
    WorkflowCycleError,
    WorkflowResult,
    WorkflowRunner,
)
from engine.params import parse_params
from engine.runner import new_run_id

from ._io import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    CliError,
    Streams,
    add_paths_option,
    display_path,
    plural,
    preview,
)
from .catalog import resolve_target
from .progress import ICONS, LineProgress, LiveProgress

_EXIT_BY_STATUS = {RunStatus.COMPLETED: EXIT_OK, RunStatus.CANCELLED: EXIT_INTERRUPTED}


def cmd_run(args: argparse.Namespace, io: Streams) -> int:
    """Resolve the workflow, run it with progress on stderr, print the result on stdout."""
    try:
        params = parse_params(args.param or ())
    except ValueError as exc:
        raise CliError(str(exc), hint="use --param key=value; values are typed like YAML "
                       "(3 → int, 0.5 → float, true → bool, [1, 2] → list)") from None
    item = resolve_target(args.target, args.paths)
    wf = item.workflow
    run_id = new_run_id()
    header = f"run {run_id}  {wf.name} ({plural(len(wf.steps), 'step')})"
    if args.json:
        if not args.quiet:
            io.err.write(header + "\n")
            io.err.flush()
    else:
        io.out.write(header + "\n")
        io.out.flush()

    runner = WorkflowRunner()
    with _progress(runner, run_id, wf, args, io):
        try:
            result = _execute(runner, wf, params, run_id, io)
        except (UnknownPipelineError, UnknownWorkflowError, WorkflowCycleError) as exc:
            raise CliError(str(exc), hint="pipelines and sub-workflows are registered by .py "
                           "workflow files: pass the folder that holds them with --paths, "
                           f"or check with `spine-engine validate {display_path(item.source)}`") from None
    if args.json:
        io.write_json(result.to_dict())
    else:
        _print_summary(io, wf, result, quiet=args.quiet)
    return _EXIT_BY_STATUS.get(result.status, EXIT_FAILED)


@contextlib.contextmanager
def _progress(runner: WorkflowRunner, run_id: str, wf: Workflow, args: argparse.Namespace,
              io: Streams) -> Iterator[None]:
    """Live table when stderr is a terminal, plain lines when it is not; none with --quiet."""
    console = io.err_console
    if args.quiet or (args.json and not console.is_terminal):
        yield
        return
    if not console.is_terminal:
        unsubscribe = runner.subscribe(LineProgress(run_id, io.err))
        try:
            yield
        finally:
            unsubscribe()
        return
    display = LiveProgress(run_id, wf.name, wf.step_names())
    unsubscribe = runner.subscribe(display)
    same_terminal = io.out.isatty()
    try:
        with Live(display, console=console, refresh_per_second=10, transient=same_terminal,
                  redirect_stdout=same_terminal, redirect_stderr=False):
            yield
    finally:
        unsubscribe()


def _execute(runner: WorkflowRunner, wf: Workflow, params: Mapping[str, Any], run_id: str,
             io: Streams) -> WorkflowResult:
    """Run on a worker thread so the first Ctrl-C cancels cleanly and a second one quits."""
    cancel, finished = threading.Event(), threading.Event()
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = runner.execute(wf, params, run_id=run_id, cancel=cancel)
        except BaseException as exc:  # re-raised on the main thread below
            box["error"] = exc
        finally:
            finished.set()

    # Wait on an Event, not Thread.join: an interrupted join can leave is_alive() wrong.
    worker = threading.Thread(target=target, name=f"spine-run-{run_id}", daemon=True)
    try:
        worker.start()  # inside the try: the run may already be going when start() returns
        while not finished.wait(0.1):
            pass
    except KeyboardInterrupt:
        cancel.set()
        io.err.write("\ncancelling: waiting for running steps to finish "
                     "(press Ctrl-C again to quit now)\n")
        io.err.flush()
        try:
            while not finished.wait(0.1):
                pass
        except KeyboardInterrupt:
            raise CliError(f"run {run_id} interrupted before it finished",
                           code=EXIT_INTERRUPTED) from None
    if "error" in box:
        raise box["error"]
    result: WorkflowResult = box["result"]
    return result


def _print_summary(io: Streams, wf: Workflow, result: WorkflowResult, quiet: bool) -> None:
    console = io.console
    icon, style = ICONS.get(result.status.value, ("?", ""))
    console.print(Text.assemble((f"{icon} {wf.name} {result.status.value}", f"bold {style}"),
                                f" in {result.duration_seconds:.2f}s",
                                (f"  run {result.run_id}", "dim")))
    if quiet:
        if result.error:
            console.print(Text(f"  {result.error}", style="red"))
        return
    table = Table(header_style="bold", box=None, padding=(0, 2, 0, 0))
    for column in ("", "step", "status", "attempts", "duration", "output / error"):
        table.add_column(column, overflow="fold")
    for name, run in result.steps.items():
        icon, style = ICONS.get(run.status.value, ("?", ""))
        if run.status is RunStatus.COMPLETED:
            detail = Text(preview(run.output), style="dim")
        else:
            category = f"[{run.error_category}]" if run.error_category else ""
            detail = Text(" ".join(part for part in (run.error, category) if part),
                          style="red" if run.status is RunStatus.FAILED else "dim")
        table.add_row(Text(icon, style=style), Text(name), Text(run.status.value, style=style),
                      str(run.attempts), f"{run.duration_seconds:.2f}s" if run.attempts else "-",
                      detail)
    console.print(table)
    if result.error:
        step = result.steps.get(result.error_step or "")
        category = f" [{step.error_category}]" if step and step.error_category else ""
        console.print(Text(f"{result.error}{category}", style="red"))


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``run`` on the top-level parser."""
    p = sub.add_parser(
        "run", help="run a workflow and show its progress",
        description="Run a workflow in this process. The first line of output is the run id; "
                    "progress is shown on stderr (a live table on a terminal, one line per "
                    "event otherwise) and the result is printed on stdout. Exit status: 0 "
                    "completed, 1 the workflow failed, 2 bad input, 130 cancelled (Ctrl-C).",
        epilog="examples:\n  spine-engine run b1.hello_world\n"
               "  spine-engine run flows/etl.py --param date=2024-01-31 --param limit=500\n"
               "  spine-engine run etl.daily --paths flows/ --json > result.json\n"
               "  spine-engine run etl.daily --paths flows/ --param 'ids=[1, 2]' --quiet",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("target", metavar="NAME_OR_FILE", help="a workflow name or a workflow file")
    add_paths_option(p)
    p.add_argument("--param", action="append", metavar="KEY=VALUE", default=[],
                   help="a run param, repeatable; the value is typed like YAML "
                        "(n=3 int, rate=0.5 float, dry=true bool, 'ids=[1,2]' list, "
                        "name=Ada string)")
    p.add_argument("--json", action="store_true",
                   help="print the result (WorkflowResult.to_dict()) as JSON on stdout")
    p.add_argument("--quiet", "-q", action="store_true",
                   help="no progress display and a one-line result")
    p.set_defaults(func=cmd_run)
