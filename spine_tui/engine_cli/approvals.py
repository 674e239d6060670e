"""``approvals``, ``approve`` and ``reject``: decide the approval steps runs are waiting on.

A run reaching a ``Step.approval`` shows ``waiting`` and records a pending request; a decision
made here (any process, first one wins) lets the run go on or fails the step with category
REJECTED, within a fraction of a second (``engine.RunControl``).
"""

from __future__ import annotations

import argparse

from rich.table import Table
from rich.text import Text

from engine import LIVE_STATUSES, ApprovalRecord, RunControl

from ._io import EXIT_OK, HelpFormatter, Streams, display_path, plural
from ._store import (
    add_db_option,
    db_path,
    local_time,
    one_line,
    open_store,
    require_store_file,
    status_text,
)

#: Run states in which the run's process is alive and acts on a decision right away.


def cmd_approvals(args: argparse.Namespace, io: Streams) -> int:
    """List approval requests (pending unless --all), newest first."""
    path = db_path(args)
    if not path.exists():  # listing must not create a store file
        records: list[ApprovalRecord] = []
        if args.run_id:
            require_store_file(args, args.run_id)
    else:
        with open_store(args) as store:
            records = RunControl(store).approvals(args.run_id,
                                                  status=None if args.all else "pending")
    if args.json:
        io.write_json({"db": str(path), "approvals": [r.to_dict() for r in records]})
        return EXIT_OK
    console = io.console
    if not records:
        what = "approval requests" if args.all else "pending approval requests"
        of_run = f" for run {args.run_id}" if args.run_id else ""
        console.print(f"no {what}{of_run} in {display_path(path)}", style="dim")
        return EXIT_OK
    table = Table(header_style="bold", box=None, padding=(0, 2, 0, 0))
    columns = ["run id", "workflow", "step", "status", "requested", "message"]
    if args.all:
        columns.append("decision")
    for column in columns:
        table.add_column(column, overflow="fold", no_wrap=column in ("run id", "requested"))
    for r in records:
        row: list[str | Text] = [r.run_id, Text(r.workflow or "-"), Text(r.step),
                                 status_text(r.status), local_time(r.requested_at),
                                 Text(one_line(r.message, 60))]
        if args.all:
            row.append(Text(_decision(r), style="dim"))
        table.add_row(*row)
    console.print(table)
    pending = [r for r in records if r.status == "pending"]
    if pending:
        first = pending[0]
        console.print(f"{plural(len(pending), 'request')} pending: "
                      f"`spine-engine approve {first.run_id} {first.step}` (or reject)",
                      style="dim", soft_wrap=True)
    return EXIT_OK


def _decision(record: ApprovalRecord) -> str:
    if record.status == "pending":
        return ""
    by = f"by {record.decided_by}" if record.decided_by else ""
    comment = f": {record.comment}" if record.comment else ""
    return f"{by} {local_time(record.decided_at)}{comment}".strip()


def cmd_approve(args: argparse.Namespace, io: Streams) -> int:
    return _decide(args, io, approve=True)


def cmd_reject(args: argparse.Namespace, io: Streams) -> int:
    return _decide(args, io, approve=False)


def _decide(args: argparse.Namespace, io: Streams, *, approve: bool) -> int:
    require_store_file(args, args.run_id)
    with open_store(args) as store:
        control = RunControl(store)
        decide = control.approve if approve else control.reject
        record = decide(args.run_id, args.step, by=args.by, comment=args.comment)
    if args.json:
        io.write_json(record.to_dict())
        return EXIT_OK
    verb = "approved" if approve else "rejected"
    comment = f" ({record.comment})" if record.comment else ""
    io.console.print(Text.assemble((verb, "bold green" if approve else "bold red"),
                                   f" {record.step} of run {record.run_id} ",
                                   f"({record.workflow}) by {record.decided_by}{comment}"),
                     soft_wrap=True)
    if record.run_status in LIVE_STATUSES:
        io.console.print("the run continues within a moment" if approve else
                         "the step fails with category REJECTED within a moment", style="dim")
    else:  # its process is gone: the decision applies when the run is resumed
        after = "past this step" if approve else "and the step fails with category REJECTED"
        io.console.print(Text.assemble("the run is ", status_text(record.run_status or "?"),
                                       f": `spine-engine resume {record.run_id}` continues it "
                                       f"{after}"), style="dim", soft_wrap=True)
    return EXIT_OK


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``approvals``, ``approve`` and ``reject`` on the top-level parser."""
    p = sub.add_parser(
        "approvals", help="list the approval requests runs are waiting on",
        description="List approval requests (Step.approval) newest first: run, workflow, "
                    "step, status, when it was asked and the step's message. Only pending "
                    "requests unless --all, which adds decided, expired and cancelled ones "
                    "with who decided and their comment.",
        epilog="examples:\n  spine-engine approvals\n  spine-engine approvals 3f9a2c1d\n"
               "  spine-engine approvals --all --json | jq '.approvals[].status'",
        formatter_class=HelpFormatter)
    p.add_argument("run_id", metavar="RUN_ID", nargs="?", default=None,
                   help="only this run's requests (an id or a unique prefix)")
    p.add_argument("--all", action="store_true",
                   help="every request, not only pending ones")
    add_db_option(p)
    p.add_argument("--json", action="store_true",
                   help='print {"db": ..., "approvals": [...]} as JSON')
    p.set_defaults(func=cmd_approvals)

    for name, func, doc, effect in (
            ("approve", cmd_approve, "approve a step a run is waiting on",
             "The run continues: the approval step completes with {approved, by, comment} as "
             "its output."),
            ("reject", cmd_reject, "reject a step a run is waiting on",
             "The approval step fails with category REJECTED and the run fails (steps after "
             "it are skipped).")):
        p = sub.add_parser(
            name, help=doc,
            description=f"Decide a pending approval request (see `approvals`). {effect} The "
                        "first decision wins: a request already decided, expired or "
                        "cancelled is refused (exit 2). A run whose process died picks the "
                        "decision up when it is resumed.",
            epilog=f"examples:\n  spine-engine {name} 3f9a2c1d deploy_approval\n"
                   f"  spine-engine {name} 3f9a deploy_approval --by alice "
                   f"--comment 'risk reviewed'\n"
                   f"  spine-engine {name} 3f9a deploy_approval --json",
            formatter_class=HelpFormatter)
        p.add_argument("run_id", metavar="RUN_ID", help="a run id or a unique prefix of one")
        p.add_argument("step", metavar="STEP", help="the approval step's name")
        p.add_argument("--by", metavar="NAME", default=None,
                       help="who decides (default: the login name)")
        p.add_argument("--comment", metavar="TEXT", default=None,
                       help="why; stored with the decision and shown by `approvals --all`")
        add_db_option(p)
        p.add_argument("--json", action="store_true",
                       help="print the decided request (ApprovalRecord.to_dict()) as JSON")
        p.set_defaults(func=func)
