"""``run``: execute one workflow, persisted in the run store, with live progress.

Every run goes through ``TrackedWorkflowRunner``, so ``runs``/``status``/``logs`` and the TUI
(in any process) see it. Exit status: 0 completed (or skipped: partition already done), 1 the
workflow ran and failed, 2 bad input (unknown workflow, broken file, bad ``--param``, bad
``--db``, unregistered pipeline or sub-workflow), 130 cancelled by Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import threading
from collections.abc import Callable, Collection, Iterator
from typing import Any

from rich.live import Live
from rich.table import Table
from rich.text import Text

from engine import (
    ErrorCategory,
    RunHandle,
    RunPending,
    RunStarted,
    RunStatus,
    StoreError,
    TrackedWorkflowRunner,
    UnknownPipelineError,
    UnknownWorkflowError,
    Workflow,
    WorkflowCycleError,
    WorkflowResult,
    parse_params,
    redact_secrets,
    start_run,
)

from ._artifact_store import add_artifacts_option, open_chosen_store
from ._io import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    CliError,
    HelpFormatter,
    Streams,
    add_paths_option,
    display_path,
    plural,
    preview,
)
from ._store import add_db_option, open_store
from .catalog import resolve_target
from .executor_options import add_executor_options, open_executor
from .metrics_port import add_metrics_port_option, metrics_endpoint
from .progress import ICONS, LineProgress, LiveProgress

_EXIT_BY_STATUS = {RunStatus.COMPLETED: EXIT_OK, RunStatus.SKIPPED: EXIT_OK,
                   RunStatus.CANCELLED: EXIT_INTERRUPTED}
STARTED_BY = "cli"


def cmd_run(args: argparse.Namespace, io: Streams) -> int:
    """Resolve the workflow, run it with progress on stderr, print the result on stdout."""
    params = parse_pairs(args.param, "--param")
    partition = parse_pairs(args.partition, "--partition") or None
    params = _with_partition(params, partition)
    with open_store(args) as store:  # a bad --db fails before any user code is imported
        artifacts = open_chosen_store(args)  # so does a bad --artifacts
        item = resolve_target(args.target, args.paths)
        wf = item.workflow
        with open_executor(args, wf) as executor, metrics_endpoint(args, store, io), \
                TrackedWorkflowRunner(store, artifact_store=artifacts,
                                      executor=executor) as runner:
            result = run_with_progress(
                runner, None, wf, args, io, item.source,
                lambda cancel: follow(start_run(item, params, partition=partition,
                                                runner=runner, started_by=STARTED_BY), cancel),
                announce=lambda run_id: print_header(io, args, run_id, wf))
    return report(io, args, wf, result)


def follow(handle: RunHandle, cancel: threading.Event) -> WorkflowResult:
    """Wait for a started run, passing a Ctrl-C (``cancel``) on to it."""
    while not handle.done:
        if cancel.wait(0.1):
            handle.cancel()
            break
    return handle.wait()


def parse_pairs(items: list[str] | None, option: str) -> dict[str, Any]:
    try:
        return parse_params(items or ())
    except ValueError as exc:
        raise CliError(str(exc), hint=f"use {option} key=value; values are typed like YAML "
                       "(3 → int, 0.5 → float, true → bool, [1, 2] → list)") from None


def _with_partition(params: dict[str, Any], partition: dict[str, Any] | None) -> dict[str, Any]:
    """Partition values are run params too, so steps can read the slice they process."""
    if not partition:
        return params
    clash = [k for k, v in partition.items() if k in params and params[k] != v]
    if clash:
        raise CliError(f"--param and --partition give different values for {', '.join(clash)}",
                       hint="partition values are passed to the steps as params; "
                            "give each key once")
    return {**partition, **params}


def print_header(io: Streams, args: argparse.Namespace, run_id: str, wf: Workflow,
                 steps: int | None = None) -> None:
    """The first line a run prints: its id (on stderr with --json, where stdout is the result).

    ``steps`` is how many steps the run has when not all of the workflow's (a replay).
    """
    count = len(wf.steps) if steps is None else steps
    header = f"run {run_id}  {wf.name} ({plural(count, 'step')})"
    if args.json:
        if not args.quiet:
            io.err.write(header + "\n")
            io.err.flush()
    else:
        io.out.write(header + "\n")
        io.out.flush()


def run_with_progress(runner: TrackedWorkflowRunner, run_id: str | None, wf: Workflow,
                      args: argparse.Namespace, io: Streams, source: str,
                      start: Callable[[threading.Event], WorkflowResult],
                      restored: Collection[str] = (),
                      announce: Callable[[str], None] | None = None,
                      steps: list[str] | None = None) -> WorkflowResult:
    """Call ``start(cancel)`` under the progress display; definition errors become exit 2.

    ``source`` (the workflow's file or name) only appears in the hint of such an error.
    ``run_id=None`` is for calls that start a new run: the display follows the first run
    created, and ``announce(run_id)`` is called once its row is stored, before any progress
    shows (so a script reading the printed id can query it at once). ``steps`` are the step names shown (default: the workflow's).
    """
    with _progress(runner, run_id, wf, args, io, restored, announce, steps) as current_id:
        try:
            return _execute(start, current_id, io)
        except (UnknownPipelineError, UnknownWorkflowError, WorkflowCycleError) as exc:
            raise CliError(str(exc), hint="pipelines and sub-workflows are registered by .py "
                           "workflow files: pass the folder that holds them with --paths, "
                           f"or check with `spine-engine validate {display_path(source)}`"
                           ) from None
        except StoreError as exc:
            raise CliError(str(exc)) from None


def report(io: Streams, args: argparse.Namespace, wf: Workflow, result: WorkflowResult,
           restored: Collection[str] = ()) -> int:
    """Print the result (JSON or a summary table) and return the exit status for it."""
    if args.json:
        io.write_json(redact_secrets(result.to_dict()))  # outputs are unmasked in memory
    else:
        _print_summary(io, wf, result, quiet=args.quiet, restored=restored)
    return exit_status(result)


def exit_status(result: WorkflowResult) -> int:
    """0 completed or skipped, 130 cancelled, 1 failed; 2 when the run failed on its own
    configuration (a missing or malformed secret, a bad option): bad input, which no retry
    of the same command fixes, exits like every other bad input."""
    if result.status is RunStatus.FAILED and _failed_on_configuration(result):
        return EXIT_USAGE
    return _EXIT_BY_STATUS.get(result.status, EXIT_FAILED)


def _failed_on_configuration(result: WorkflowResult) -> bool:
    step = result.steps.get(result.error_step) if result.error_step else None
    return step is not None and step.error_category == ErrorCategory.CONFIGURATION.value


@contextlib.contextmanager
def _progress(runner: TrackedWorkflowRunner, run_id: str | None, wf: Workflow,
              args: argparse.Namespace, io: Streams, restored: Collection[str],
              announce: Callable[[str], None] | None,
              steps: list[str] | None) -> Iterator[Callable[[], str | None]]:
    """Live table when stderr is a terminal, plain lines when it is not; none with --quiet.

    Yields a function that returns the run's id (None until a retry or replay started).
    """
    console = io.err_console
    quiet = args.quiet or (args.json and not console.is_terminal)
    display: LineProgress | LiveProgress | None = None
    live: Live | None = None
    if not quiet and not console.is_terminal:
        display = LineProgress(run_id or "", io.err)
    elif not quiet:
        display = LiveProgress(run_id or "", wf.name, steps or wf.step_names())
        same_terminal = io.out.isatty()
        live = Live(display, console=console, refresh_per_second=10, transient=same_terminal,
                    redirect_stdout=same_terminal, redirect_stderr=False)

    def begin(new_id: str) -> None:
        if announce is not None:
            announce(new_id)
        if display is not None:
            display.run_id = new_id
            display.restored(restored)
        if live is not None:
            live.start()

    first = FirstRun(begin, display) if run_id is None else None
    listener = first or display
    unsubscribe = runner.subscribe(listener) if listener is not None else None
    if run_id is not None:
        begin(run_id)
    try:
        yield lambda: run_id if first is None else first.run_id
    finally:
        if unsubscribe is not None:
            unsubscribe()
        if live is not None:
            live.stop()


class FirstRun:
    """Learns the id of the first run created and forwards that run's events.

    A tracked run's first event is ``RunPending``, sent once the recorder (subscribed first)
    has stored its row; untracked runs start with ``RunStarted``.
    """

    def __init__(self, begin: Callable[[str], None],
                 display: Callable[[Any], None] | None) -> None:
        self.run_id: str | None = None
        self._begin = begin
        self._display = display

    def __call__(self, event: Any) -> None:
        if self.run_id is None:
            if not isinstance(event, RunPending | RunStarted):
                return
            self.run_id = event.run_id
            self._begin(event.run_id)
        if self._display is not None:
            self._display(event)


def _execute(start: Callable[[threading.Event], WorkflowResult],
             current_id: Callable[[], str | None], io: Streams) -> WorkflowResult:
    """Run on a worker thread so the first Ctrl-C cancels cleanly and a second one quits."""
    cancel, finished = threading.Event(), threading.Event()
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = start(cancel)
        except BaseException as exc:  # re-raised on the main thread below
            box["error"] = exc
        finally:
            finished.set()

    # Wait on an Event, not Thread.join: an interrupted join can leave is_alive() wrong.
    worker = threading.Thread(target=target, name="spine-run", daemon=True)
    try:
        worker.start()  # inside the try: the run may already be going when start() returns
        finished.wait()  # interruptible: Ctrl-C raises KeyboardInterrupt here
    except KeyboardInterrupt:
        cancel.set()
        io.err.write("\ncancelling: waiting for running steps to finish "
                     "(press Ctrl-C again to quit now)\n")
        io.err.flush()
        try:
            finished.wait()
        except KeyboardInterrupt:
            run_id = current_id()
            if run_id is None:
                raise CliError("interrupted before the run started",
                               code=EXIT_INTERRUPTED) from None
            raise CliError(f"run {run_id} interrupted before it finished",
                           hint=f"`spine-engine resume {run_id}` continues it",
                           code=EXIT_INTERRUPTED) from None
    if "error" in box:
        raise box["error"]
    result: WorkflowResult = box["result"]
    return result


def _print_summary(io: Streams, wf: Workflow, result: WorkflowResult, quiet: bool,
                   restored: Collection[str]) -> None:
    console = io.console
    icon, style = ICONS.get(result.status.value, ("?", ""))
    if result.status is RunStatus.SKIPPED:  # an idempotent partition that already completed
        console.print(Text.assemble((f"{icon} {wf.name} skipped", f"bold {style}"),
                                    f": {result.error or 'nothing to do'}",
                                    (f"  run {result.run_id}", "dim")), soft_wrap=True)
        return
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
            kept = "restored · " if name in restored else ""
            detail = Text(kept + preview(redact_secrets(run.output)), style="dim")
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


def add_output_options(p: argparse.ArgumentParser) -> None:
    """``--json`` and ``--quiet``, shared by ``run`` and ``resume``."""
    p.add_argument("--json", action="store_true",
                   help="print the result (WorkflowResult.to_dict()) as JSON on stdout")
    p.add_argument("--quiet", "-q", action="store_true",
                   help="no progress display and a one-line result")


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``run`` on the top-level parser."""
    p = sub.add_parser(
        "run", help="run a workflow, record it in the run store and show its progress",
        description="Run a workflow in this process and record it in the run store (see "
                    "--db), where `runs`, `status`, `logs` and the TUI see it, from any "
                    "process. The first line of output is the run id; progress is shown on "
                    "stderr (a live table on a terminal, one line per event otherwise) and "
                    "the result is printed on stdout. With --partition the run is "
                    "idempotent: when that partition already completed, the run is recorded "
                    "as skipped and nothing executes. Exit status: 0 completed or skipped, "
                    "1 the workflow failed, 2 bad input, 130 cancelled (Ctrl-C).",
        epilog="examples:\n  spine-engine run hello.world\n"
               "  spine-engine run flows/etl.py --param date=2024-01-31 --param limit=500\n"
               "  spine-engine run etl.daily --paths flows/ --partition date=2024-01-31\n"
               "  spine-engine run etl.daily --paths flows/ --json > result.json\n"
               "  spine-engine run etl.daily --db /tmp/ci.db --param 'ids=[1, 2]' --quiet\n"
               "  spine-engine run etl.daily --artifacts s3://my-bucket/spine   artifacts in S3\n"
               "  spine-engine run finance.parallel_ingest --executor processes --workers 4\n"
               "  spine-engine run finance.parallel_ingest --executor dask "
               "--scheduler tcp://127.0.0.1:8786\n"
               "  spine-engine run etl.daily --metrics-port 9464   Prometheus scrapes the run",
        formatter_class=HelpFormatter)
    p.add_argument("target", metavar="NAME_OR_FILE", help="a workflow name or a workflow file")
    add_paths_option(p)
    p.add_argument("--param", action="append", metavar="KEY=VALUE", default=[],
                   help="a run param, repeatable; the value is typed like YAML "
                        "(n=3 int, rate=0.5 float, dry=true bool, 'ids=[1,2]' list, "
                        "name=Ada string)")
    p.add_argument("--partition", action="append", metavar="KEY=VALUE", default=[],
                   help="a partition key, repeatable (e.g. date=2024-01-31): a partition "
                        "that already completed is skipped; its values are also run params")
    add_db_option(p)
    add_artifacts_option(p)
    add_executor_options(p)
    add_metrics_port_option(p)
    add_output_options(p)
    p.set_defaults(func=cmd_run)
