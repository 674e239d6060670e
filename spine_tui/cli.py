"""``spine-tui``: parse arguments, build the app with ``make_app`` and run it."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from .config import Settings, default_db_path


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="spine-tui",
        description="Terminal workbench for spine workflows: browse the catalog of workflow "
                    "files, filter and sort it, and open a workflow to see its DAG and steps.",
        epilog="Keys: / filter, s or 1-7 sort, Enter open, Esc back, ? help, ctrl+p command "
               "palette, ctrl+t dark/light, q quit. Environment: SPINE_PATHS, SPINE_DB, "
               "SPINE_HOME, SPINE_THEME, SPINE_CURSOR_BLINK.",
    )
    parser.add_argument(
        "paths", nargs="*", metavar="PATH",
        help="workflow files (.py, .yaml) or folders to scan; default: ./workflows if it "
             "exists, else the bundled sample workflows",
    )
    parser.add_argument(
        "--db", metavar="PATH", type=Path, default=None,
        help="SQLite file for the run store (default: $SPINE_DB, else "
             f"{default_db_path()}). Accepted and remembered for this session, but this "
             "version does not read or write it yet: runs are not stored until the run "
             "store is added.",
    )
    parser.add_argument("--theme", metavar="NAME", default=None,
                        help="Textual theme to start with (default: textual-dark)")
    parser.add_argument("--version", action="version", version=f"spine-tui {__version__}")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``spine-tui`` console script; returns the exit code."""
    args = build_parser().parse_args(argv)
    missing = [p for p in args.paths if not Path(p).exists()]
    if missing:
        print(f"spine-tui: no such file or folder: {', '.join(missing)} "
              "(pass workflow files or folders that exist)", file=sys.stderr)
        return 2
    settings = Settings.from_env(db=args.db, theme=args.theme)
    if args.paths:
        settings = settings.with_paths(args.paths)

    from .app import make_app  # Textual loads only when the app really starts

    app = make_app(settings=settings)
    app.run()
    return app.return_code or 0


if __name__ == "__main__":
    sys.exit(main())
