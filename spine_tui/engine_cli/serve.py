"""``serve``: the HTTP API, cron schedules and event triggers in one process (see
``spine_tui.server``), over the same run store and workflow folders as the workbench."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.text import Text

from engine import ArtifactError
from engine.store import StoreError

from ..locations import workflow_paths
from ._artifact_store import add_artifacts_option, chosen_location, open_chosen_store
from ._io import EXIT_OK, CliError, HelpFormatter, Streams, plural
from ._store import add_db_option, db_path

SHUTDOWN_GRACE_SECONDS = 30.0

EPILOG = """\
examples:
  spine-engine serve                          ./workflows (or the samples) on 127.0.0.1:8000
  spine-engine serve flows/ --port 9000       another folder and port
  spine-engine serve --artifacts s3://my-bucket/spine   step artifacts in S3
  spine-engine apikey create ci --scope run   then: curl -H 'Authorization: Bearer KEY' ...

The API's reference is served at /docs (OpenAPI at /openapi.json). Workflows created through
the API are written to --workflows-dir (default: beside the run store, in workflows/).
With no API key defined, serve listens only on a loopback address (127.0.0.1, ::1).
SIGTERM or Ctrl-C: no new runs; runs in flight stop at their next step and are resumable."""


def cmd_serve(args: argparse.Namespace, io: Streams) -> int:
    # loaded here, not at the top: FastAPI and uvicorn cost ~0.4 s, which every other
    # spine-engine command would pay otherwise
    from ..server.serve import NotLoopbackError, serve
    from ..server.state import ServerConfig, ServerState

    if not 0 < args.port < 65536:
        raise CliError(f"--port {args.port} is not a TCP port", hint="use 1-65535, e.g. 8000")
    open_chosen_store(args)  # a bad --artifacts is exit 2 before the server starts
    config = ServerConfig.create(workflow_paths(args.paths), db=db_path(args),
                                 managed_dir=args.workflows_dir, host=args.host,
                                 port=args.port, grace_seconds=args.grace,
                                 watch=not args.no_watch, artifacts=chosen_location(args))

    def ready(state: ServerState) -> None:  # noqa: F821 (imported above, in this function)
        catalog = state.catalog.current()
        console = io.err_console
        console.print(Text.assemble(
            ("spine serve ", "bold"), f"http://{args.host}:{args.port}  ",
            (f"{plural(len(catalog), 'workflow')} from {', '.join(catalog.paths)}", "dim")),
            soft_wrap=True)
        for error in catalog.errors:
            console.print(Text(f"  not loaded: {error}", style="yellow"), soft_wrap=True)
        auth = ("API keys required" if state.keys.any_active()
                else "open (no API key defined; loopback only)")
        console.print(Text(f"store {state.config.db_path} · auth: {auth} · docs at /docs",
                           style="dim"), soft_wrap=True)

    try:
        stopped = serve(config, log_level=args.log_level, on_ready=ready)
    except NotLoopbackError as exc:
        raise CliError(str(exc)) from None
    except (StoreError, ArtifactError) as exc:
        raise CliError(str(exc)) from None
    except OSError as exc:  # port in use, permission denied
        raise CliError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}",
                       hint="pick another --port, or stop what is using it") from None
    if stopped:
        io.err_console.print(Text(
            f"stopped {plural(len(stopped), 'run')} at a step boundary; resume with "
            f"`spine-engine resume RUN_ID`: {', '.join(stopped)}"), soft_wrap=True)
    return EXIT_OK


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "serve", help="serve the HTTP API, cron schedules and event triggers",
        description="Serve the workflows in PATHS over HTTP, fire their cron schedules and "
                    "route event triggers to them, recording every run in the run store. "
                    "Workflow files reload on save.",
        epilog=EPILOG, formatter_class=HelpFormatter)
    parser.add_argument("paths", nargs="*", metavar="PATHS", type=Path,
                        help="workflow folders or files (default: ./workflows, else the "
                             "bundled samples)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default: 127.0.0.1; any other needs an "
                             "API key to exist)")
    parser.add_argument("--port", type=int, default=8000, help="TCP port (default: 8000)")
    parser.add_argument("--workflows-dir", type=Path, default=None, metavar="DIR",
                        help="where workflows created through the API are written (default: "
                             "workflows/ beside the run store)")
    parser.add_argument("--grace", type=float, default=SHUTDOWN_GRACE_SECONDS, metavar="S",
                        help="on shutdown, how long runs may take to reach a step boundary "
                             f"(default: {SHUTDOWN_GRACE_SECONDS:g} s)")
    parser.add_argument("--no-watch", action="store_true",
                        help="do not reload workflow files when they change")
    parser.add_argument("--log-level", default="info",
                        choices=("critical", "error", "warning", "info", "debug"),
                        help="server log detail (default: info; debug adds an access log)")
    add_db_option(parser)
    add_artifacts_option(parser)
    parser.set_defaults(func=cmd_serve)
