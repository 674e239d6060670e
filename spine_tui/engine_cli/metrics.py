"""``metrics``: the run store's metrics in the Prometheus text format (runs, steps, errors,
alerts), for a textfile collector, a cron job or a quick look; ``serve`` answers the same at
``GET /metrics``, with the metrics steps recorded in the server's process."""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import engine  # prometheus-client loads on first use, not with every command

from ._io import EXIT_OK, CliError, HelpFormatter, Streams
from ._store import add_db_option, db_path, open_store


def cmd_metrics(args: argparse.Namespace, io: Streams) -> int:
    path = db_path(args)
    if not path.exists():
        raise CliError(f"the run store {path} does not exist yet",
                       hint="runs are stored by `spine-engine run`; pass the store with --db "
                            "or SPINE_DB")
    with open_store(args) as store:
        text = engine.metrics_text(store)
    if args.output is None:
        io.out.write(text)
        return EXIT_OK
    _write_atomically(Path(args.output), text)
    io.err_console.print(f"wrote {len(text.splitlines())} lines to {args.output}", style="dim")
    return EXIT_OK


def _write_atomically(target: Path, text: str) -> None:
    """Write beside ``target`` and rename, so a collector never reads half a file."""
    try:
        fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent or ".")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temp, target)
    except OSError as exc:
        raise CliError(f"cannot write {target}: {exc.strerror or exc}") from None


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "metrics", help="run, step, error and alert metrics in the Prometheus text format",
        description="Aggregate the run store in SQL and print Prometheus metrics: "
                    "spine_workflow_duration_seconds{workflow,status}, "
                    "spine_workflow_step_duration_seconds{workflow,step}, "
                    "spine_workflow_error_total{workflow,category}, run and step counts, "
                    "runs in flight and the alert outbox. Metrics that steps record with "
                    "counter/gauge/histogram live in the process that ran them: `serve` "
                    "exposes its own at GET /metrics.",
        epilog="examples:\n  spine-engine metrics\n"
               "  spine-engine metrics --db runs.db -o /var/lib/node_exporter/spine.prom",
        formatter_class=HelpFormatter)
    parser.add_argument("-o", "--output", metavar="FILE", default=None,
                        help="write to FILE (replaced atomically) instead of stdout")
    add_db_option(parser)
    parser.set_defaults(func=cmd_metrics)
