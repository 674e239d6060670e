"""``spine-tui``: parse arguments, then build the app with ``make_app`` and run it here, or
serve it to browsers (``--web``, in ``web.py``)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from . import __version__
from .config import Settings, default_db_path
from .web import DEFAULT_HOST, DEFAULT_PORT, app_command, port_number, serve


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="spine-tui",
        description="Terminal workbench for spine workflows: browse the catalog of workflow "
                    "files, see a workflow's DAG, run it, follow its logs live, and read the "
                    "run history. Workflow files reload as you save them.",
        epilog="Keys: / filter, s or 1-9/0 sort, Enter open, r run, d debug (playground: n "
               "step, b back, c continue, space breakpoint), y YAML, V versions, R runs, A "
               "analytics, C catalog, Esc back, ? help, ctrl+p command palette, ctrl+t "
               "dark/light, q quit. "
               "Environment: SPINE_PATHS, SPINE_DB, SPINE_HOME, SPINE_THEME, "
               "SPINE_CURSOR_BLINK, SPINE_WATCH, SPINE_REFRESH_SECONDS.",
    )
    parser.add_argument(
        "paths", nargs="*", metavar="PATH",
        help="workflow files (.py, .yaml) or folders to scan; default: ./workflows if it "
             "exists, else the bundled sample workflows",
    )
    parser.add_argument(
        "--db", metavar="PATH", type=Path, default=None,
        help="SQLite run store to read history from and record runs in (default: $SPINE_DB, "
             f"else {default_db_path()}); the same file spine-engine uses, so runs from "
             "either show up in both.",
    )
    parser.add_argument("--theme", metavar="NAME", default=None,
                        help="Textual theme to start with (default: textual-dark)")
    parser.add_argument(
        "--web", action="store_true",
        help="serve the workbench to browsers (through textual-serve) instead of this terminal; "
             "each browser tab runs its own workbench over the same paths and run store",
    )
    parser.add_argument("--port", metavar="N", type=port_number, default=None,
                        help=f"with --web: the port to listen on (default: {DEFAULT_PORT})")
    parser.add_argument(
        "--host", metavar="H", default=None,
        help=f"with --web: the address to listen on (default: {DEFAULT_HOST}, this machine "
             "only); there is no login, so anyone who can reach another address can run "
             "workflows",
    )
    parser.add_argument("--version", action="version", version=f"spine-tui {__version__}")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``spine-tui`` console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.web and (args.port is not None or args.host is not None):
        parser.error("--port and --host only apply with --web")
    missing = [p for p in args.paths if not Path(p).exists()]
    if missing:
        print(f"spine-tui: no such file or folder: {', '.join(missing)} "
              "(pass workflow files or folders that exist)", file=sys.stderr)
        return 2
    try:
        settings = Settings.from_env(db=args.db, theme=args.theme)
    except ValidationError as exc:
        problems = "; ".join(f"SPINE_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}"
                             for e in exc.errors())
        print(f"spine-tui: bad setting: {problems}", file=sys.stderr)
        return 2
    if args.paths:
        settings = settings.with_paths(args.paths)
    problem = check_store(settings.db_path)
    if problem:
        print(f"spine-tui: {problem}", file=sys.stderr)
        return 2
    if args.web:
        return serve(app_command(args.paths, settings.db_path, args.theme),
                     host=args.host or DEFAULT_HOST,
                     port=DEFAULT_PORT if args.port is None else args.port)

    from .app import make_app  # Textual loads only when the app really starts

    app = make_app(settings=settings)
    # engine objects that find their store themselves (breakers, the DLQ, alerts) use $SPINE_DB:
    # point it at the store the workbench shows while the app runs
    before = os.environ.get("SPINE_DB")
    os.environ["SPINE_DB"] = str(settings.db_path)
    try:
        app.run()
    finally:
        if before is None:
            os.environ.pop("SPINE_DB", None)
        else:
            os.environ["SPINE_DB"] = before
    return app.return_code or 0


def check_store(path: Path) -> str:
    """Why the run store at ``path`` cannot be used (empty when it can): checked before the
    app starts so a wrong ``--db`` is a one-line error, not a broken screen."""
    from engine import RunStore, StoreError

    try:
        RunStore(path).close()
    except StoreError as exc:
        return str(exc)
    except OSError as exc:
        return f"cannot open run store {path}: {exc}"
    return ""


if __name__ == "__main__":
    sys.exit(main())
