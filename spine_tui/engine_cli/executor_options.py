"""``--executor``/``--scheduler``/``--workers``: where a CLI run's steps execute.

The executor is built and started *before* the run is created, so a bad name, an address
that is not a Dask address, an unreachable scheduler or a handler no worker could import is
exit 2 with nothing recorded.
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator

from engine import (
    Executor,
    ExecutorUnavailableError,
    HandlerNotPortableError,
    Workflow,
    WorkflowRunner,
    make_executor,
)

from ._io import CliError

EXECUTOR_CHOICES = ("threads", "processes", "dask")


def add_executor_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--executor", choices=EXECUTOR_CHOICES, default=None,
                   help="where handlers run: threads (default, this process), processes (a "
                        "pool of worker processes) or dask (a Dask cluster: --scheduler, or a "
                        "local one started for the run); default: the workflow's own choice")
    p.add_argument("--scheduler", metavar="tcp://HOST:PORT", default=None,
                   help="the Dask scheduler to run on (implies --executor dask)")
    p.add_argument("--workers", type=int, metavar="N", default=None,
                   help="worker processes for --executor processes (default: the CPU "
                        "count) or for the local Dask cluster (default: 2)")


@contextlib.contextmanager
def open_executor(args: argparse.Namespace, wf: Workflow) -> Iterator[Executor | None]:
    """The started executor the run uses (None: the workflow's default), closed afterwards."""
    name = args.executor
    if args.scheduler is not None:
        if name not in (None, "dask"):
            raise CliError(f"--scheduler is a Dask scheduler address, but --executor is {name}",
                           hint="use --executor dask with --scheduler, or drop --scheduler")
        name = "dask"
    if args.workers is not None and args.workers < 1:
        raise CliError(f"--workers must be at least 1, got {args.workers}")
    if name is None:
        _check(WorkflowRunner(), wf)
        yield None
        return
    # --executor dask alone goes to the workflow's own scheduler (YAML spec.scheduler), if any
    scheduler = args.scheduler or (wf.scheduler if name == "dask" else None)
    try:
        executor = make_executor(name, scheduler=scheduler, max_workers=args.workers)
    except ValueError as exc:
        raise CliError(str(exc), hint="e.g. --executor dask --scheduler tcp://127.0.0.1:8786"
                       ) from None
    _check(WorkflowRunner(executor=name), wf)
    try:
        executor.start()
    except ExecutorUnavailableError as exc:
        raise CliError(str(exc)) from None
    try:
        yield executor
    finally:
        executor.close()


def _check(runner: WorkflowRunner, wf: Workflow) -> None:
    try:
        runner.check_workflow(wf)
    except HandlerNotPortableError as exc:
        raise CliError(str(exc), hint="or run with --executor threads") from None
