"""``debug``: step through a workflow, or a stored run, at a pdb-like prompt.

The session is a ``WorkflowPlayground``: steps run in this process and are not recorded in
the run store, so debugging never changes history. ``--run RUN_ID`` opens a stored run with
its recorded outputs (the definition rebuilt as ``resume`` rebuilds it, or taken from
NAME_OR_FILE when given), positioned with ``--at`` before a step or at a snapshot index.
The workflow's file and the user modules it imports are watched (their mtimes, checked
before each command), so a save is picked up without leaving the prompt; ``retry`` then
starts the real retry of the stored run with the fixed code.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from engine import (
    StoreError,
    UnknownPipelineError,
    UnknownWorkflowError,
    WorkflowCycleError,
    WorkflowPlayground,
    recorded_run,
)
from engine.playground import PlaygroundError, RecordedRun, SavedFiles

from ._debug_view import banner
from ._io import EXIT_OK, CliError, HelpFormatter, Streams, add_paths_option, display_path
from ._replay import recorded_workflow
from ._store import add_db_option, db_path, open_store, require_store_file
from .catalog import resolve_target
from .debugger import Debugger
from .run import parse_pairs


def cmd_debug(args: argparse.Namespace, io: Streams) -> int:
    """Open the playground on the workflow (or stored run) and read commands from stdin."""
    params = parse_pairs(args.param, "--param")
    if args.at is not None and not args.run:
        raise CliError("--at needs --run: it says where a stored run opens",
                       hint="spine-engine debug --run RUN_ID --at STEP")
    pg = WorkflowPlayground()
    try:
        if not args.run and args.target and _is_stored_run(args):
            args.run, args.target = args.target, None  # `spine-engine debug RUN_ID`
        if args.run:
            source = _open_run(pg, args, params)
        elif args.target:
            item = resolve_target(args.target, args.paths)
            pg.load(item.workflow, params)
            source = item.source
        else:
            raise CliError("give a workflow to debug, or --run RUN_ID",
                           hint="spine-engine debug NAME_OR_FILE, or "
                                "spine-engine debug --run RUN_ID")
    except (UnknownPipelineError, UnknownWorkflowError, WorkflowCycleError) as exc:
        raise CliError(str(exc), hint="pipelines and sub-workflows are registered by .py "
                                      "workflow files: pass the folder that holds them with "
                                      "--paths") from None
    except PlaygroundError as exc:  # e.g. --at names a step the run never reached
        hint = f"`spine-engine status {args.run}` shows the run's steps" if args.run else None
        raise CliError(str(exc), hint=hint) from None
    saves = SavedFiles(source, args.paths or ()) if Path(source).is_file() else None
    for line in banner(pg):
        io.console.print(line, soft_wrap=True)
    if saves is not None:
        names = [display_path(f) for f in saves.files]
        io.console.print(f"watching {', '.join(names)}: saves are picked up before each "
                         "command", style="dim", soft_wrap=True)
    Debugger(pg, io, sys.stdin, saves=saves, db=db_path(args) if args.run else None).run()
    return EXIT_OK


def _is_stored_run(args: argparse.Namespace) -> bool:
    """Whether the positional argument names a stored run rather than a workflow: it is not a
    file, no workflow has that name, and the store holds a run with that id (or prefix)."""
    target = str(args.target)
    if Path(target).suffix in (".py", ".yaml", ".yml") or Path(target).exists() or \
            not db_path(args).exists():
        return False
    if _names_a_workflow(target, args.paths):
        return False
    with open_store(args) as store:
        try:
            store.get_run(target)
        except StoreError:
            return False
    return True


def _names_a_workflow(target: str, paths: list[str] | None) -> bool:
    try:
        resolve_target(target, paths)
    except CliError:
        return False
    return True


def _open_run(pg: WorkflowPlayground, args: argparse.Namespace, params: dict[str, Any]) -> str:
    """``load_run`` on the stored run, then apply ``--param`` as edits at the chosen point;
    returns where its definition came from (a file, or a name)."""
    require_store_file(args, args.run)
    with open_store(args) as store:
        record = store.get_run(args.run)
        workflow, source = recorded_workflow(
            store, record, args.target, args.paths,
            override_hint=f"give the workflow: spine-engine debug NAME_OR_FILE --run {args.run}")
        recorded = _Recorded(recorded_run(store, record.run_id, workflow))
    pg.load_run(record.run_id, recorded, at=_at(args.at))
    if params:
        pg.set_params(params)
    return source


class _Recorded:
    """A ``RunSource`` over one run already read from the store (so the store can close)."""

    def __init__(self, run: RecordedRun) -> None:
        self.run = run

    def recorded_run(self, run_id: str) -> RecordedRun:
        return self.run


def _at(text: str | None) -> int | str | None:
    if text is None:
        return None
    return int(text) if text.isdigit() else text


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``debug`` on the top-level parser."""
    p = sub.add_parser(
        "debug", help="step through a workflow or a stored run (a pdb-like prompt)",
        description="Debug a workflow one step at a time at a `(spine) ` prompt, like pdb: "
                    "step forward and back, peek, set breakpoints, change params or outputs "
                    "and re-run, diff and jump between snapshots. Steps run in this process "
                    "and are not recorded. With --run the prompt opens a stored run with its "
                    "recorded outputs (at its end, or --at a step or snapshot index), so you "
                    "can re-run from there without executing earlier steps again. Saves to "
                    "the workflow file are picked up between commands (edit and continue). "
                    "Commands "
                    "are read from stdin, so a session can be scripted; type `help` at the "
                    "prompt for the list.",
        epilog="examples:\n  spine-engine debug debug.pipeline\n"
               "  spine-engine debug flows/etl.py --param limit=10\n"
               "  spine-engine debug --run 3f9a --at validate   the run, before validate\n"
               "  spine-engine debug flows/etl.py --run 3f9a --at 2\n"
               "  printf 'n\\nn\\nhist\\n' | spine-engine debug debug.pipeline\n\n"
               "prompt commands (pdb's keys):\n"
               "  n, next [STEP]   s, step [STEP] (into a sub-workflow or map)   return   "
               "ready\n"
               "  b, back   p, peek   c, continue   until STEP\n"
               "  break [STEP] [if EXPR]   watch EXPR   clear [STEP|#ID]   "
               "break-on-failure on|off\n"
               "  set KEY=VALUE   out STEP [JSON]   rerun STEP   diff I [J]   goto I\n"
               "  reload   cs, continue-stale   retry (with --run)\n"
               "  hist   ctx   l, list   reset   h, help   q, quit (or Ctrl-D)\n\n"
               "edit and continue: save the workflow file (or a module of yours it imports) "
               "and the\nnext command picks it up: unchanged steps keep their results, changed "
               "ones and\nwhat follows them are marked stale; cs runs them again. With --run, "
               "retry then\nretries the stored run from its failed step with the new code.",
        formatter_class=HelpFormatter)
    p.add_argument("target", metavar="NAME_OR_FILE", nargs="?", default=None,
                   help="a workflow name or file, or a stored run's id (the same as --run ID); "
                        "with --run: the definition to open the run with, instead of the one "
                        "it recorded")
    add_paths_option(p)
    p.add_argument("--param", action="append", metavar="KEY=VALUE", default=[],
                   help="a run param, repeatable, typed like `run --param` (with --run: "
                        "changed where the run opens)")
    p.add_argument("--run", metavar="RUN_ID", default=None,
                   help="open this stored run (an id or a unique prefix)")
    p.add_argument("--at", metavar="STEP|INDEX", default=None,
                   help="with --run: open just before STEP, or at snapshot INDEX "
                        "(0 = before the first step; default: the end)")
    add_db_option(p)
    p.set_defaults(func=cmd_debug)
