"""``alerts``: the alert outbox — list delivered, failed and pending alerts, send the due ones,
and send a failed one again.

Alerts are queued by runs of workflows with an ``AlertPolicy`` and sent in the background by
the run's process; one that process could not send (it ended, the endpoint was down) stays
pending until any sender on the store delivers it: the next run, ``serve``, or ``alerts send``.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from rich.markup import escape
from rich.table import Table
from rich.text import Text

from engine import AlertSender, describe_channel
from engine.store import ALERT_STATUSES, AlertOutbox, AlertRecord

from ._io import EXIT_FAILED, EXIT_OK, HelpFormatter, Streams, plural, positive_int
from ._store import add_db_option, db_path, local_time, one_line, open_store

STYLES = {"delivered": "green", "failed": "red", "pending": "yellow", "sending": "cyan"}


def cmd_list(args: argparse.Namespace, io: Streams) -> int:
    """Print the newest alerts (a missing store file lists none and is not created)."""
    records: list[AlertRecord] = []
    counts: dict[str, int] = dict.fromkeys(ALERT_STATUSES, 0)
    if db_path(args).exists():
        with open_store(args) as store:
            outbox = AlertOutbox(store.db)
            records = outbox.list_alerts(status=args.status, workflow=args.workflow,
                                         run_id=args.run, limit=args.limit)
            counts = outbox.counts()
    if args.json:
        io.write_json({"alerts": [r.to_dict() for r in records], "counts": counts})
        return EXIT_OK
    table = Table(title=f"Alerts in {db_path(args)}", title_justify="left",
                  header_style="bold")
    for column in ("id", "status", "kind", "workflow", "run", "channel", "tries", "created",
                   "sent / next try", "last error"):
        table.add_column(column, overflow="fold")
    for r in records:
        when = (local_time(r.delivered) if r.status == "delivered" else
                local_time(_moment(r.next_attempt_at)) if r.status == "pending" else "-")
        table.add_row(str(r.id), Text(r.status, STYLES.get(r.status, "")), r.kind,
                      escape(r.workflow or "-"), r.run_id or "-",
                      escape(describe_channel(r.channel)), str(r.attempts),
                      local_time(r.created), when, escape(one_line(r.last_error, 60)))
    io.console.print(table)
    summary = ", ".join(f"{counts[s]} {s}" for s in ALERT_STATUSES)
    io.console.print(f"{plural(len(records), 'alert')} shown; in the store: {summary}",
                     style="dim")
    return EXIT_OK


def cmd_send(args: argparse.Namespace, io: Streams) -> int:
    """Send every alert due now, once each; exit 1 when one of them failed for good."""
    with open_store(args) as store:
        outbox = AlertOutbox(store.db)
        report = AlertSender(outbox).send_due(limit=args.limit)
        next_due = outbox.next_due_at()
    if args.json:
        io.write_json({"delivered": report.delivered, "retrying": report.retrying,
                       "failed": report.failed, "next_due_at": _iso(next_due)})
        return EXIT_FAILED if report.failed else EXIT_OK
    io.console.print(f"sent {plural(report.attempted, 'due alert')}: "
                     f"{len(report.delivered)} delivered, {len(report.retrying)} to retry, "
                     f"{len(report.failed)} failed")
    if next_due is not None:
        io.console.print(f"next pending alert is due {local_time(_moment(next_due))}",
                         style="dim")
    if report.failed:
        io.err_console.print(Text("`spine-engine alerts list --status failed` shows why; "
                                  "`spine-engine alerts retry ID` sends one again",
                                  style="dim"), soft_wrap=True)
    return EXIT_FAILED if report.failed else EXIT_OK


def cmd_retry(args: argparse.Namespace, io: Streams) -> int:
    """Queue a failed alert again with fresh attempts and try it now."""
    with open_store(args) as store:
        outbox = AlertOutbox(store.db)
        outbox.requeue(args.id)  # an unknown or delivered alert: StoreError, exit 2
        outcome = AlertSender(outbox).send_one(args.id)
        record = outbox.get(args.id)
    if args.json:
        io.write_json({"outcome": outcome, "alert": record.to_dict()})
    elif record.status == "delivered":
        io.console.print(Text.assemble(("delivered", "bold green"),
                                       f" alert {record.id} to {describe_channel(record.channel)}"))
    else:
        io.console.print(Text.assemble((record.status, f"bold {STYLES.get(record.status, '')}"),
                                       f" alert {record.id}: {record.last_error or ''}"),
                         soft_wrap=True)
        if record.status == "pending":
            io.console.print(f"it is tried again {local_time(_moment(record.next_attempt_at))}"
                             " by any sender on this store", style="dim")
    return EXIT_OK if record.status == "delivered" else EXIT_FAILED


def _moment(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def _iso(value: float | None) -> str | None:
    moment = _moment(value)
    return moment.isoformat() if moment else None


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``alerts`` and its sub-commands (``list`` when none is given)."""
    group = sub.add_parser(
        "alerts", help="alerts of failed, slow and waiting runs: list, send, retry",
        description="The alert outbox in the run store. Workflows with an AlertPolicy queue "
                    "an alert per channel when a run fails, runs slow or waits for approval; "
                    "the run's process sends them in the background, retrying with backoff. "
                    "Pending ones left behind are sent by the next run, by serve, or by "
                    "`alerts send`. Without a sub-command, lists the newest alerts. Exit "
                    "status: 0 ok, 1 an alert failed (send, retry), 2 bad input.",
        epilog="examples:\n  spine-engine alerts\n"
               "  spine-engine alerts list --status failed --json\n"
               "  spine-engine alerts send           deliver what is due now\n"
               "  spine-engine alerts retry 12       send a failed alert again",
        formatter_class=HelpFormatter)
    _list_options(group)
    group.set_defaults(func=cmd_list)
    commands = group.add_subparsers(dest="alerts_command", metavar="SUBCOMMAND")
    p = commands.add_parser("list", help="the newest alerts with their delivery status",
                            formatter_class=HelpFormatter)
    _list_options(p)
    p.set_defaults(func=cmd_list)
    p = commands.add_parser("send", help="send every alert that is due now, once each",
                            formatter_class=HelpFormatter)
    p.add_argument("--limit", type=positive_int, default=100,
                   help="send at most this many (default 100)")
    _output_options(p)
    p.set_defaults(func=cmd_send)
    p = commands.add_parser("retry", help="send a failed alert again now, with fresh attempts",
                            formatter_class=HelpFormatter)
    p.add_argument("id", type=positive_int, metavar="ID", help="the alert's id (alerts list)")
    _output_options(p)
    p.set_defaults(func=cmd_retry)


def _list_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--status", choices=ALERT_STATUSES, default=None,
                        help="only alerts in this state")
    parser.add_argument("--workflow", metavar="NAME", default=None,
                        help="only alerts of this workflow")
    parser.add_argument("--run", metavar="RUN_ID", default=None, help="only alerts of this run")
    parser.add_argument("--limit", type=positive_int, default=50,
                        help="how many to show, newest first (default 50)")
    _output_options(parser)


def _output_options(parser: argparse.ArgumentParser) -> None:
    add_db_option(parser)
    parser.add_argument("--json", action="store_true", help="print JSON")
