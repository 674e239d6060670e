"""``retry`` and ``replay``: re-execute a stored run as a new, linked run in this process.

``retry`` runs a failed, cancelled or interrupted run again from where it stopped
(``TrackedWorkflowRunner.retry``): completed steps keep their outputs and do not run again.
``replay`` runs one step again with the inputs it saw (``replay_step``). Both print the new
run's id first, then progress, summary and exit status exactly as ``run`` does; the old run
stays in the history as it was.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Collection

from engine import (
    RETRYABLE_STATUSES,
    RunRecord,
    RunStatus,
    TrackedWorkflowRunner,
    Workflow,
    WorkflowResult,
    start_replay,
    start_retry,
)

from ._io import CliError, HelpFormatter, Streams, add_paths_option, plural
from ._replay import recorded_workflow
from ._store import add_db_option, open_store, require_store_file
from .run import STARTED_BY, add_output_options, follow, print_header, report, run_with_progress

_FROM_HINT = "give the workflow with --from NAME_OR_FILE"


def cmd_retry(args: argparse.Namespace, io: Streams) -> int:
    """Rebuild the run's workflow and re-run it from the failed step as a new run."""
    require_store_file(args, args.run_id)
    with open_store(args) as store:
        record = store.get_run(args.run_id)
        if record.status not in RETRYABLE_STATUSES:  # checked before loading any code
            hint = (f"replay one step with `spine-engine replay {record.run_id} STEP`"
                    if record.status is RunStatus.COMPLETED else None)
            raise CliError(f"run {record.run_id} is {record.status.value}; only failed, "
                           "cancelled or interrupted runs can be retried", hint=hint)
        wf, source = recorded_workflow(store, record, args.workflow_from, args.paths,
                                       override_hint=_FROM_HINT)
        reused = [name for name in store.completed_outputs(record.run_id)
                  if name in wf.step_names()]
        note = (f"retrying {record.status.value} run {record.run_id}: "
                f"{plural(len(reused), 'completed step')} reused, "
                f"{len(wf.steps) - len(reused)} to run")
        with TrackedWorkflowRunner(store) as runner:
            result = _run_new(runner, wf, args, io, source, note, len(wf.steps), reused,
                              lambda cancel: follow(start_retry(
                                  record.run_id, wf, runner=runner, started_by=STARTED_BY),
                                  cancel))
    return report(io, args, wf, result, restored=reused)


def cmd_replay(args: argparse.Namespace, io: Streams) -> int:
    """Rebuild the run's workflow and run one of its steps again as a new one-step run."""
    require_store_file(args, args.run_id)
    with open_store(args) as store:
        record = store.get_run(args.run_id)
        wf, source = recorded_workflow(store, record, args.workflow_from, args.paths,
                                       override_hint=_FROM_HINT)
        _check_step(record, wf, args.step)
        note = f"replaying step {args.step} of run {record.run_id}"
        with TrackedWorkflowRunner(store) as runner:
            result = _run_new(runner, wf, args, io, source, note, 1, (),
                              lambda cancel: follow(start_replay(
                                  record.run_id, args.step, wf, runner=runner,
                                  started_by=STARTED_BY), cancel),
                              steps=[args.step])
    return report(io, args, wf, result)


def _check_step(record: RunRecord, wf: Workflow, step: str) -> None:
    if step not in wf.step_names():
        raise CliError(f"workflow {wf.name} (run {record.run_id}) has no step {step!r}",
                       hint=f"its steps: {', '.join(wf.step_names())}")


def _run_new(runner: TrackedWorkflowRunner, wf: Workflow, args: argparse.Namespace,
             io: Streams, source: str, note: str, step_count: int, reused: Collection[str],
             start: Callable[..., WorkflowResult],
             steps: list[str] | None = None) -> WorkflowResult:
    """Run ``start`` with progress; the new run's id is printed as soon as it starts."""
    announced: list[str] = []

    def announce(run_id: str) -> None:
        announced.append(run_id)
        print_header(io, args, run_id, wf, steps=step_count)
        if not args.quiet:
            io.err.write(note + "\n")
            io.err.flush()

    result = run_with_progress(runner, None, wf, args, io, source, start, restored=reused,
                               announce=announce, steps=steps)
    if not announced:  # never started (e.g. skipped by its concurrency policy)
        announce(result.run_id)
    return result


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``retry`` and ``replay`` on the top-level parser."""
    p = sub.add_parser(
        "retry", help="re-run a stopped run from its failed step, as a new run",
        description="Re-run a stored run as a new run in this process, from the step that "
                    "failed: steps that completed are not executed again (their outputs are "
                    "copied into the new run), the rest run with the original params. The "
                    "first line of output is the NEW run's id; the old run stays in the "
                    "history, linked to the new one. The workflow is rebuilt as `resume` "
                    "does (the recorded file or registered name) unless --from names it. "
                    "Progress and exit status are those of `run`. To continue the same run "
                    "after a crash, use `resume`.",
        epilog="examples:\n  spine-engine retry 3f9a2c1d\n"
               "  spine-engine retry 3f9a --from flows/etl.py   the file moved (or was fixed)\n"
               "  spine-engine retry 3f9a --paths flows/ --json > result.json",
        formatter_class=HelpFormatter)
    _common(p)
    p.set_defaults(func=cmd_retry)

    p = sub.add_parser(
        "replay", help="run one step of a stored run again, as a new one-step run",
        description="Run STEP of a stored run again in this process, as a new run that has "
                    "only that step: it gets the run's params and the stored outputs of the "
                    "steps upstream of it (what it saw the first time), so those must have "
                    "completed. The first line of output is the NEW run's id; the original "
                    "run is not changed. Progress and exit status are those of `run`.",
        epilog="examples:\n  spine-engine replay 3f9a2c1d transform\n"
               "  spine-engine replay 3f9a transform --from flows/etl.py   with edited code\n"
               "  spine-engine replay 3f9a transform --json | jq .outputs",
        formatter_class=HelpFormatter)
    p.add_argument("run_id", metavar="RUN_ID", help="a run id or a unique prefix of one")
    p.add_argument("step", metavar="STEP", help="the step to run again")
    _common(p, run_id=False)
    p.set_defaults(func=cmd_replay)


def _common(p: argparse.ArgumentParser, *, run_id: bool = True) -> None:
    if run_id:
        p.add_argument("run_id", metavar="RUN_ID", help="a run id or a unique prefix of one")
    p.add_argument("--from", dest="workflow_from", metavar="NAME_OR_FILE", default=None,
                   help="take the workflow from here instead of the recorded source")
    add_paths_option(p)
    add_db_option(p)
    add_output_options(p)
