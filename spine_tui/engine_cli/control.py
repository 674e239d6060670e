"""``pause`` and ``cancel``: ask a run in another process to hold or stop, through the store.

Both are requests (``engine.RunControl``): the process running the workflow reads them within
a fraction of a second; running steps finish, nothing new starts. With ``--wait`` the command
blocks until the run shows the result. ``resume`` of a paused run lives in ``resume``.
"""

from __future__ import annotations

import argparse
from typing import Any

from rich.text import Text

from engine import RunControl, RunRecord, RunStatus

from ._io import EXIT_OK, CliError, HelpFormatter, Streams
from ._store import add_db_option, open_store, require_store_file, status_text

#: Every status in which a run has stopped for good (``wait`` returns on any of them).
FINAL = tuple(s.value for s in RunStatus if s.is_terminal)


def cmd_pause(args: argparse.Namespace, io: Streams) -> int:
    """Ask the run to start no new step; with --wait, block until it shows ``paused``."""
    return _request(args, io, "pause", wanted=(RunStatus.PAUSED.value, *FINAL))


def cmd_cancel(args: argparse.Namespace, io: Streams) -> int:
    """Ask the run to stop; with --wait, block until it has ended."""
    return _request(args, io, "cancel", wanted=FINAL)


def _request(args: argparse.Namespace, io: Streams, verb: str, wanted: tuple[str, ...]) -> int:
    require_store_file(args, args.run_id)
    with open_store(args) as store:
        control = RunControl(store)
        asked = control.pause(args.run_id) if verb == "pause" else control.cancel(args.run_id)
        waited = args.wait or args.timeout is not None  # a --timeout implies --wait
        record = wait_for(control, asked, wanted, args.timeout) if waited else asked
    report_request(io, args, verb, record, waited=waited)
    return EXIT_OK


def wait_for(control: RunControl, record: RunRecord, wanted: tuple[str, ...],
             timeout: float | None) -> RunRecord:
    """The run once it shows one of ``wanted``; a timeout is exit 2 (the request stays)."""
    try:
        return control.wait(record.run_id, wanted, timeout=timeout)
    except TimeoutError as exc:
        raise CliError(str(exc), hint="the request stays queued: the run acts on it before "
                       "its next step (a long step finishes first); check it with "
                       f"`spine-engine status {record.run_id}`") from None


def report_request(io: Streams, args: argparse.Namespace, verb: str, record: RunRecord, *,
                   waited: bool) -> None:
    """``--json``: the request and the run's status; else one line saying what happens next."""
    if args.json:
        io.write_json(request_dict(verb, record, waited=waited))
        return
    run = f"run {record.run_id} ({record.workflow})"
    status = record.status.value
    if verb == "resume":
        line = Text.assemble(f"resumed {run}: it was ", status_text(status),
                             "; the process running it starts steps again")
    elif not waited:
        next_step = ("it starts no new step until `spine-engine resume "
                     f"{record.run_id}`" if verb == "pause"
                     else "running steps finish, nothing new starts")
        line = Text.assemble(f"{verb} requested for {run}, now ", status_text(status),
                             f": {next_step}")
    elif status == _GOAL[verb]:
        line = Text.assemble(f"{run} is ", status_text(status))
    else:  # the run ended some other way before the request took effect
        line = Text.assemble(f"{run} ended ", status_text(status), f" before it {_PAST[verb]}")
    io.console.print(line, soft_wrap=True)


def request_dict(verb: str, record: RunRecord, *, waited: bool) -> dict[str, Any]:
    return {"run_id": record.run_id, "workflow": record.workflow, "request": verb,
            "status": record.status.value, "waited": waited}


_GOAL = {"pause": "paused", "cancel": "cancelled"}
_PAST = {"pause": "paused", "cancel": "was cancelled"}


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``pause`` and ``cancel`` on the top-level parser."""
    p = sub.add_parser(
        "pause", help="ask a running run (any process) to start no new step",
        description="Ask a run to pause, through the run store: the process running it "
                    "finishes the steps already running and starts no new one until "
                    "`spine-engine resume RUN_ID`. Running, waiting and queued runs can be "
                    "paused. Without --wait the command returns at once (the run acts "
                    "within a fraction of a second); with --wait it blocks until the run "
                    "shows paused (or ended first). Exit status: 0 requested, 2 the run "
                    "cannot be paused (finished, unknown) or --timeout passed.",
        epilog="examples:\n  spine-engine pause 3f9a2c1d\n"
               "  spine-engine pause 3f9a --wait && spine-engine status 3f9a\n"
               "  spine-engine pause 3f9a --wait --timeout 10 --json\n"
               "  spine-engine resume 3f9a        start steps again",
        formatter_class=HelpFormatter)
    _common(p)
    p.set_defaults(func=cmd_pause)

    p = sub.add_parser(
        "cancel", help="ask a run (any process) to stop",
        description="Ask a run to stop, through the run store: steps already running "
                    "finish, nothing new starts, and the run ends cancelled (the `run` "
                    "process exits 130). A paused, waiting or queued run ends at once. With "
                    "--wait the command blocks until the run has ended and prints how. "
                    "`spine-engine resume` or `retry` can continue a cancelled run later. "
                    "Exit status: 0 requested, 2 the run cannot be cancelled (finished, "
                    "unknown) or --timeout passed.",
        epilog="examples:\n  spine-engine cancel 3f9a2c1d\n"
               "  spine-engine cancel 3f9a --wait --timeout 30\n"
               "  spine-engine cancel 3f9a --wait --json | jq -r .status",
        formatter_class=HelpFormatter)
    _common(p)
    p.set_defaults(func=cmd_cancel)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_id", metavar="RUN_ID", help="a run id or a unique prefix of one")
    p.add_argument("--wait", action="store_true",
                   help="block until the run shows the result of the request")
    p.add_argument("--timeout", metavar="S", type=_seconds, default=None,
                   help="wait at most S seconds (implies --wait; exit 2 when it passes; "
                        "default: no limit)")
    add_db_option(p)
    p.add_argument("--json", action="store_true",
                   help='print {"run_id", "workflow", "request", "status", "waited"} as JSON')


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be more than 0")
    return value
