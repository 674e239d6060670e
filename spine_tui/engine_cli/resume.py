"""``resume``: let a paused run go on, or continue a stored run after a crash, failure or cancel.

A paused run (or one with a pause still pending) is resumed in the process that runs it
(``RunControl.resume_paused``): nothing executes here.
The run's workflow is rebuilt by ``engine.workflow_for_run`` (the recorded file,
a registered workflow, or the stored version; see ``_replay``), unless ``--from`` names it;
steps that completed keep their stored outputs and are not executed again. Progress and
exit status are those of ``run``.
"""

from __future__ import annotations

import argparse

from rich.text import Text

from engine import (
    LIVE_STATUSES,
    RESUMABLE_STATUSES,
    RunControl,
    RunControlError,
    RunRecord,
    RunStatus,
    TrackedWorkflowRunner,
    start_resume,
)

from ._io import EXIT_OK, CliError, HelpFormatter, Streams, add_paths_option, plural
from ._replay import recorded_workflow
from ._store import add_db_option, open_store, require_store_file
from .control import report_request
from .run import STARTED_BY, add_output_options, follow, print_header, report, run_with_progress


def cmd_resume(args: argparse.Namespace, io: Streams) -> int:
    """Un-pause a paused run; else load the run, rebuild its workflow, and run the steps
    that have not completed."""
    require_store_file(args, args.run_id)
    with open_store(args) as store:
        control = RunControl(store)
        record = control.status(args.run_id)  # a paused run whose process died: interrupted
        if _unpause(control, record):
            report_request(io, args, "resume", record, waited=False)
            return EXIT_OK
        check_resumable(record)
        wf, source = recorded_workflow(store, record, args.workflow_from, args.paths,
                                       override_hint="give the workflow with --from NAME_OR_FILE")
        if record.version is not None and wf.version != record.version:
            io.err_console.print(Text(
                f"warning: {wf.name} is v{wf.version} now; run {record.run_id} started "
                f"on v{record.version}", style="yellow"), soft_wrap=True)
        restored = [name for name in store.completed_outputs(record.run_id)
                    if name in wf.step_names()]
        print_header(io, args, record.run_id, wf)
        if not args.quiet:
            io.err.write(f"resuming {record.status.value} run: "
                         f"{plural(len(restored), 'completed step')} kept, "
                         f"{len(wf.steps) - len(restored)} to run\n")
            io.err.flush()
        with TrackedWorkflowRunner(store) as runner:
            result = run_with_progress(
                runner, record.run_id, wf, args, io, source,
                lambda cancel: follow(start_resume(record.run_id, wf, runner=runner,
                                                   started_by=STARTED_BY), cancel),
                restored=restored)
    return report(io, args, wf, result, restored=restored)


def _unpause(control: RunControl, record: RunRecord) -> bool:
    """Send ``resume`` to a paused run (or one with a pending pause); False for other runs."""
    if record.status not in LIVE_STATUSES:
        return False
    try:
        control.resume_paused(record.run_id)
    except RunControlError:
        if record.status is RunStatus.PAUSED:
            raise
        return False  # running without a pending pause: check_resumable explains
    return True


def check_resumable(record: RunRecord) -> None:
    """Refuse runs that finished, are still going, or belong to a parent run."""
    status, run_id = record.status, record.run_id
    if status is RunStatus.COMPLETED:
        raise CliError(f"run {run_id} already completed; there is nothing to resume",
                       hint="start a new run with `spine-engine run`")
    if status is RunStatus.SKIPPED:
        raise CliError(f"run {run_id} was skipped ({record.error or 'nothing to do'}); "
                       "there is nothing to resume")
    if status is RunStatus.RUNNING:
        where = f" (pid {record.pid} on {record.host})" if record.pid else ""
        raise CliError(f"run {run_id} is still running{where}; only a stopped run can be "
                       "resumed", hint=f"watch it with `spine-engine logs {run_id} --follow`")
    if status not in RESUMABLE_STATUSES:
        raise CliError(f"run {run_id} is {status.value}, not stopped; only interrupted, "
                       "failed or cancelled runs can be resumed")
    if record.parent_run_id:
        raise CliError(f"run {run_id} is a sub-workflow of run {record.parent_run_id}",
                       hint=f"resume the parent: `spine-engine resume {record.parent_run_id}`")


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``resume`` on the top-level parser."""
    p = sub.add_parser(
        "resume", help="un-pause a paused run, or continue a stopped one",
        description="A paused run (see `pause`) starts steps again in the process that runs "
                    "it; nothing executes here and the command returns at once. Any other "
                    "run is continued in this process: steps that completed keep their "
                    "outputs and are not executed again; the others run with the run's "
                    "params. The workflow is rebuilt from the file the run recorded (or, for "
                    "a registered workflow, found by name in the default workflow paths). "
                    "Completed, skipped and still-running runs are refused. Progress and "
                    "exit status are those of `run`.",
        epilog="examples:\n  spine-engine resume 3f9a2c1d\n"
               "  spine-engine pause 3f9a --wait; spine-engine resume 3f9a   un-pause\n"
               "  spine-engine resume 3f9a2c1d --paths flows/   load extra pipelines first\n"
               "  spine-engine resume 3f9a2c1d --from flows/etl.py   the file moved\n"
               "  spine-engine resume 3f9a2c1d --db /tmp/ci.db --json",
        formatter_class=HelpFormatter)
    p.add_argument("run_id", metavar="RUN_ID", help="a run id or a unique prefix of one")
    p.add_argument("--from", dest="workflow_from", metavar="NAME_OR_FILE", default=None,
                   help="take the workflow from here instead of the recorded source")
    add_paths_option(p)
    add_db_option(p)
    add_output_options(p)
    p.set_defaults(func=cmd_resume)
