"""The ``debug`` prompt's vocabulary: its commands (names, usage, help) and argument checks."""

from __future__ import annotations

import re
from dataclasses import dataclass

#: ``break [STEP] if EXPR``
BREAK_IF = re.compile(r"^(?:(\S+)\s+)?if(?:\s+(.*))?$", re.DOTALL)


class UsageError(Exception):
    """A command typed wrongly (missing or malformed argument): shown as ``error: ...``."""


@dataclass(frozen=True, slots=True)
class Command:
    names: tuple[str, ...]
    usage: str
    help: str


COMMANDS: tuple[Command, ...] = (
    Command(("next", "n"), "n, next [STEP]",
            "run the next step, or the ready step STEP (a sub-workflow or map runs whole); "
            "at the end of a stepped-into one, go back up"),
    Command(("step", "s"), "s, step [STEP]",
            "step into the next (or ready STEP) sub-workflow or map; other steps just run"),
    Command(("return", "finish"), "return",
            "run the stepped-into sub-workflow or map to its end and go back up"),
    Command(("ready",), "ready", "run every step that is ready now (concurrently in a "
                                 "parallel workflow)"),
    Command(("back", "b"), "b, back", "go back one snapshot (undo the last step or edit)"),
    Command(("peek", "p"), "p, peek", "show the step that runs next"),
    Command(("continue", "c"), "c, continue", "run to the next breakpoint, a failure or the end"),
    Command(("until", "u"), "until STEP", "run until STEP is next, stopping before it"),
    Command(("break",), "break [STEP] [if EXPR]",
            "pause before STEP (when the Python expression EXPR over params, outputs and "
            "ctx holds; without STEP it is a watch); with no argument list breakpoints"),
    Command(("watch",), "watch EXPR", "pause after any step as soon as EXPR holds"),
    Command(("clear",), "clear [STEP|#ID]", "remove breakpoints (all when no argument)"),
    Command(("break-on-failure",), "break-on-failure [on|off]",
            "pause `continue` right after a failed step (default on)"),
    Command(("set",), "set KEY=VALUE", "change a run param (typed like --param: 3, 0.5, true)"),
    Command(("out", "o"), "out STEP [JSON]",
            "show a step's output, or replace it with JSON and re-run what depends on it"),
    Command(("rerun", "r"), "rerun STEP", "run a step that already ran again, with the "
                                          "current code"),
    Command(("reload",), "reload", "load the workflow file again now (saves are also picked "
                                   "up before every command): unchanged steps keep their "
                                   "results, changed ones and what follows them go stale"),
    Command(("continue-stale", "cs"), "cs, continue-stale",
            "run the stale steps again, in order, pausing as continue does"),
    Command(("retry",), "retry", "with --run: once the fix works here, retry the stored run "
                                 "from its failed step with the current code (a new run)"),
    Command(("diff", "d"), "diff I [J]", "params, outputs and statuses changed from I to J "
                                         "(default: the current snapshot)"),
    Command(("goto", "g"), "goto I", "jump to snapshot I (see hist)"),
    Command(("hist", "history"), "hist", "the timeline: index, step, status, duration"),
    Command(("ctx", "context"), "ctx", "current params and step outputs"),
    Command(("list", "l"), "l, list", "steps with their status; > marks the next one"),
    Command(("reset",), "reset", "back to the start with an empty timeline"),
    Command(("help", "h", "?"), "h, help", "this list"),
    Command(("quit", "q", "exit"), "q, quit", "leave the debugger (also Ctrl-D)"),
)
BY_NAME = {name: command.names[0] for command in COMMANDS for name in command.names}


def required(arg: str, usage: str) -> str:
    if not arg:
        raise UsageError(f"usage: {usage}")
    return arg


def no_argument(command: str, arg: str) -> None:
    if arg:
        raise UsageError(f"{command} takes no argument")


def index_arg(text: str, usage: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise UsageError(f"{text!r} is not a snapshot index (usage: {usage}; hist lists "
                         "them)") from None

