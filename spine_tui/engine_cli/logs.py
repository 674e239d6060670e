"""``logs``: the captured stdout, stderr and ``logging`` lines of a stored run, optionally live.

``--follow`` polls the store for lines after the last one printed until the run stops, so it
works for a run executing in any process on the machine (or on a shared store).
"""

from __future__ import annotations

import argparse
import json
import time

from rich.text import Text

from engine import LogRecord, RunStore

from ._io import EXIT_OK, HelpFormatter, Streams
from ._store import LIVE_STATUSES, add_db_option, local_time, open_store, require_store_file

POLL_SECONDS = 0.25
_STREAM_STYLES = {"stderr": "red", "log": "yellow"}


def cmd_logs(args: argparse.Namespace, io: Streams) -> int:
    """Print a run's log lines; with --follow keep printing new ones until the run stops."""
    require_store_file(args, args.run_id)
    with open_store(args) as store:
        record = store.get_run(args.run_id)
        last = _print_new(store, record.run_id, args, io, after=0)
        if not args.follow:
            if not last and not args.json:
                where = f" from step {args.step}" if args.step else ""
                io.err_console.print(f"run {record.run_id} has no log lines{where}",
                                     style="dim")
            return EXIT_OK
        try:
            if record.status in LIVE_STATUSES and not args.json:
                io.err_console.print(f"following run {record.run_id} "
                                     f"({record.status.value}); Ctrl-C stops following",
                                     style="dim")
            while record.status in LIVE_STATUSES:
                time.sleep(POLL_SECONDS)
                record = store.get_run(record.run_id)  # also notices a run whose process died
                # Lines are committed no later than the run's final status: one last read
                # after the run stopped gets them all.
                last = _print_new(store, record.run_id, args, io, after=last)
        except KeyboardInterrupt:  # Ctrl-C only stops following; the run goes on
            return EXIT_OK
        if not args.json:
            io.err_console.print(f"run {record.run_id} {record.status.value}", style="dim")
    return EXIT_OK


def _print_new(store: RunStore, run_id: str, args: argparse.Namespace, io: Streams,
               after: int) -> int:
    """Print the lines after sequence number ``after``; returns the last one printed."""
    lines = store.logs(run_id, step=args.step, after_seq=after)
    if not lines:
        return after
    if args.json:
        io.out.write("".join(json.dumps(line.to_dict(), ensure_ascii=False) + "\n"
                             for line in lines))
        io.out.flush()
    elif io.console.is_terminal:
        for line in lines:
            io.console.print(format_line(line), soft_wrap=True)
    else:  # piped: plain text, without rich's per-line rendering cost
        io.out.write("".join(format_line(line).plain + "\n" for line in lines))
        io.out.flush()
    return lines[-1].seq


def format_line(line: LogRecord) -> Text:
    """``HH:MM:SS step stream message`` (local time)."""
    return Text.assemble((local_time(line.at, with_date=False), "dim"), " ",
                         (line.step or "-", "bold"), " ",
                         (line.stream, _STREAM_STYLES.get(line.stream, "dim")), " ",
                         line.message)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``logs`` on the top-level parser."""
    p = sub.add_parser(
        "logs", help="print a run's captured output, optionally following it live",
        description="Print what a run's steps wrote to stdout and stderr and logged with "
                    "`logging`, one line each: local time, step, stream, message. With "
                    "--follow keep printing new lines until the run is no longer running, "
                    "queued, paused or waiting; it works for runs in other processes. "
                    "Ctrl-C stops following (the run itself goes on).",
        epilog="examples:\n  spine-engine logs 3f9a2c1d\n"
               "  spine-engine logs 3f9a2c1d --step load\n"
               "  spine-engine logs 3f9a2c1d --follow\n"
               "  spine-engine logs 3f9a2c1d --json | jq -r .message",
        formatter_class=HelpFormatter)
    p.add_argument("run_id", metavar="RUN_ID", help="a run id or a unique prefix of one")
    p.add_argument("--step", metavar="S", default=None, help="only lines of this step")
    p.add_argument("--follow", "-f", action="store_true",
                   help="keep printing new lines until the run stops")
    add_db_option(p)
    p.add_argument("--json", action="store_true",
                   help="print one JSON object per line (seq, run_id, step, at, stream, "
                        "level, message)")
    p.set_defaults(func=cmd_logs)
