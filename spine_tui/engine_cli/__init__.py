"""``spine-engine``: the headless command line over the ``engine`` library (CI, cron, scripts).

A thin layer: each command parses its arguments, calls the library and prints. Problems the
user can fix are printed as ``error: ...`` plus a hint (exit 2), never as a traceback;
``SPINE_DEBUG=1`` shows the traceback too. Commands live in small modules that register
their sub-parsers (``add_parser``/``add_parsers``); a new one joins ``COMMAND_MODULES``.
Store-using commands take ``--db`` before or after the command name.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import traceback
from collections.abc import Iterator, Sequence
from pathlib import Path

from rich.text import Text

from engine import StoreError
from spine_tui import __version__

from . import (
    alerts,
    analytics,
    apikey,
    approvals,
    artifacts,
    catalog,
    config_cmd,
    control,
    debug,
    dlq,
    flags,
    lineage,
    logs,
    metrics,
    package,
    resume,
    retry,
    run,
    runs,
    sample_data,
    schedules,
    serve,
    transfer,
    triggers,
    versions,
)
from ._io import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, CliError, HelpFormatter, Streams
from ._store import add_db_option

EPILOG = """\
examples:
  spine-engine list                            in ./workflows, else the bundled samples
  spine-engine show hello.world                steps, dependencies, config and DAG layers
  spine-engine validate flows/                 check files without running them
  spine-engine run flows/etl.py --param n=3    run with live progress, recorded
  spine-engine runs --status failed            the stored runs, newest first
  spine-engine status 3f9a                     one run and its steps (a unique id prefix)
  spine-engine logs 3f9a --follow              a run's output, live from any process
  spine-engine pause 3f9a --wait               hold a run in any process (`resume` goes on)
  spine-engine cancel 3f9a --wait              stop a run in any process
  spine-engine resume 3f9a                     un-pause, or continue an interrupted run
  spine-engine retry 3f9a                      a failed run again from its failed step
  spine-engine replay 3f9a transform           run one step again with its stored inputs
  spine-engine approvals                       approval steps runs are waiting on
  spine-engine approve 3f9a deploy --by ann    let a run waiting on step deploy go on
  spine-engine reject 3f9a deploy              fail that step (category REJECTED)
  spine-engine debug debug.pipeline            step through it at a pdb-like prompt
  spine-engine debug --run 3f9a --at validate  a stored run, just before a step
  spine-engine artifacts 3f9a --root           a run's artifacts, verified on disk
  spine-engine lineage 3f9a                    what its data steps read and wrote
  spine-engine cursors                         incremental sources' marks; reset NAME rereads
  spine-engine versions etl.daily              published versions; diff / rollback them
  spine-engine analytics etl.daily --days 7    success rate, p50/p90/p99, trend
  spine-engine export hello.world --yaml       as a YAML spec (import reads it)
  spine-engine package etl.daily --paths flows/ -o dist  a .pyz: python dist/etl_daily.pyz
  spine-engine serve --port 8000               HTTP API, cron schedules, triggers
  spine-engine schedules                       cron schedules; create, pause, fire... them
  spine-engine triggers fire push --event @ev.json --paths flows/  fire a trigger by hand

The run store is one SQLite file: --db PATH, else $SPINE_DB, else $SPINE_HOME/spine.db
(SPINE_HOME defaults to ~/.spine).
exit status: 0 ok, 1 the workflow ran and failed, 2 bad input, 130 interrupted.
Set SPINE_DEBUG=1 to see tracebacks."""

#: Modules that register sub-commands (``add_parser``/``add_parsers``), in help order.
COMMAND_MODULES = (catalog, run, debug, runs, logs, control, resume, retry, approvals,
                   artifacts, lineage, versions, analytics, transfer, package, schedules, serve, apikey,
                   triggers, config_cmd, flags, dlq, alerts, metrics, sample_data)


def build_parser() -> argparse.ArgumentParser:
    """The ``spine-engine`` parser with one sub-command per task."""
    parser = argparse.ArgumentParser(
        prog="spine-engine",
        description="Run, inspect and validate spine workflows and the runs recorded in the "
                    "run store, from the command line.",
        epilog=EPILOG, formatter_class=HelpFormatter)
    parser.add_argument("--version", action="version", version=f"spine-engine {__version__}")
    add_db_option(parser, top_level=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMAND_MODULES:
        register = getattr(module, "add_parsers", None) or module.add_parser
        register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status instead of exiting."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and usage errors (2)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    io = Streams()
    debug = os.environ.get("SPINE_DEBUG", "").strip() not in ("", "0", "false", "no")
    # With --json, whatever workflow code prints goes to stderr so stdout stays parseable.
    redirect = (contextlib.redirect_stdout(io.err) if getattr(args, "json", False)
                else contextlib.nullcontext())
    try:
        with redirect, _store_for_engine_objects(getattr(args, "db", None)):
            code: int = args.func(args, io)
        return code
    except CliError as exc:
        if debug:
            traceback.print_exc(file=io.err)
        _print_error(io, exc.message, exc.hint)
        return exc.code
    except StoreError as exc:  # unknown run id, bad store file: the store's message says it
        if debug:
            traceback.print_exc(file=io.err)
        _print_error(io, str(exc), None)
        return EXIT_USAGE
    except KeyboardInterrupt:
        _print_error(io, "interrupted", None)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `spine-engine logs ID | head`: the reader left, not an error
        _silence_stdout()
        return EXIT_OK
    except Exception as exc:  # anything unexpected still gets a one-line error
        if debug:
            traceback.print_exc(file=io.err)
        _print_error(io, f"{type(exc).__name__}: {exc}",
                     "this looks like a bug; set SPINE_DEBUG=1 to see the traceback")
        return EXIT_USAGE


@contextlib.contextmanager
def _store_for_engine_objects(db: str | None) -> Iterator[None]:
    """With ``--db``, engine objects that find their store themselves (circuit breakers, the
    DLQ, alerts: ``$SPINE_DB``) use the same file as the command, for the command's length."""
    if not db:
        yield
        return
    before = os.environ.get("SPINE_DB")
    os.environ["SPINE_DB"] = str(Path(db).expanduser().absolute())
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("SPINE_DB", None)
        else:
            os.environ["SPINE_DB"] = before


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not fail again."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def _print_error(io: Streams, message: str, hint: str | None) -> None:
    console = io.err_console
    console.print(Text.assemble(("error: ", "bold red"), message), soft_wrap=True)
    if hint:
        console.print(Text.assemble(("hint: ", "bold"), hint), style="dim", soft_wrap=True)


__all__ = ["build_parser", "main"]
