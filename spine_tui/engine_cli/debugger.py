"""The ``debug`` prompt: a line-oriented debugger, like pdb, over ``WorkflowPlayground``.

Every command maps to one playground call; this module parses the line and prints the
result. A bad request (unknown step, stepping back at the start, ...) prints
``error: <message>`` and the session goes on. Commands are read from stdin, so a session can
be scripted (``printf 's\\ns\\nhist\\n' | spine-engine debug flow.py``); when stdin is not a
terminal each command is echoed after the prompt, so the output reads as a transcript.
"""

from __future__ import annotations

import contextlib
import difflib
import json
import os
import re
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

from rich.text import Text

from engine import WorkflowError, WorkflowPlayground, parse_param
from engine.playground import (
    Pause,
    PlaygroundError,
    PlaygroundStepError,
    Snapshot,
    StopReason,
    expression_condition,
)

from ._debug_view import (
    describe_diff,
    history_rows,
    snapshot_lines,
    step_rows,
    stop_line,
)
from ._io import Streams, dumps, preview

PROMPT = "(spine) "
_BREAK_IF = re.compile(r"^(?:(\S+)\s+)?if(?:\s+(.*))?$", re.DOTALL)  # break [STEP] if EXPR
_ONE_LINE = 100  # `out STEP` prints longer outputs as indented JSON


class UsageError(Exception):
    """A command typed wrongly (missing or malformed argument): shown as ``error: ...``."""


@dataclass(frozen=True, slots=True)
class Command:
    names: tuple[str, ...]
    usage: str
    help: str


COMMANDS: tuple[Command, ...] = (
    Command(("step", "s"), "s, step [STEP]", "run the next step, or the ready step STEP"),
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
    Command(("rerun", "r"), "rerun STEP", "run a step that already ran again"),
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
_BY_NAME = {name: command.names[0] for command in COMMANDS for name in command.names}


class Debugger:
    """Reads commands from ``stdin`` and applies them to ``playground`` until quit or EOF."""

    def __init__(self, playground: WorkflowPlayground, io: Streams, stdin: TextIO) -> None:
        self.pg = playground
        self.io = io
        self.stdin = stdin
        self.interactive = bool(getattr(stdin, "isatty", lambda: False)())
        self.debug = os.environ.get("SPINE_DEBUG", "").strip() not in ("", "0", "false", "no")
        self._last = ""

    # ------------------------------------------------------------------ loop
    def run(self) -> None:
        """The read-eval-print loop; returns on ``quit`` or end of input."""
        if self.interactive:
            with contextlib.suppress(ImportError):
                import readline  # noqa: F401  (line editing and history for input())
        while True:
            line = self._read()
            if line is None:
                return
            if not self.execute(line):
                return

    def _read(self) -> str | None:
        try:
            if self.interactive:
                line = input(PROMPT)
            else:
                line = self.stdin.readline()
                if not line:
                    return None
                line = line.rstrip("\n")
                self.io.out.write(f"{PROMPT}{line}\n")
                self.io.out.flush()
        except EOFError:
            self.io.out.write("\n")
            return None
        except KeyboardInterrupt:  # Ctrl-C at the prompt clears the line, as in pdb
            self.io.out.write("\n")
            return ""
        if not line.strip() and self.interactive:
            return self._last  # Enter repeats the last command, as in pdb
        self._last = line
        return line

    def execute(self, line: str) -> bool:
        """Run one command line; False when the session should end."""
        word, _, rest = line.strip().partition(" ")
        if not word or word.startswith("#"):
            return True
        name = _BY_NAME.get(word)
        if name is None:
            self.error(f"unknown command {word!r}; type help for the list")
            return True
        if name == "quit":
            return False
        handler: Callable[[str], None] = getattr(self, f"do_{name.replace('-', '_')}")
        try:
            handler(rest.strip())
        except (PlaygroundError, UsageError, WorkflowError, ValueError) as exc:
            self.error(str(exc))
        except KeyboardInterrupt:
            self.error("interrupted; the playground is where the last finished step left it")
        except Exception as exc:  # a bug must not end the session and lose its timeline
            if self.debug:
                traceback.print_exc(file=self.io.err)
            self.error(f"{type(exc).__name__}: {exc}")
        return True

    # ------------------------------------------------------------------ output
    def say(self, text: str | Text, style: str = "") -> None:
        line = text if isinstance(text, Text) else Text(text, style=style)
        line.rstrip()
        self.io.console.print(line, soft_wrap=True)

    def error(self, message: str) -> None:
        self.say(Text.assemble(("error: ", "bold red"), message))

    def show(self, snapshots: Snapshot | list[Snapshot]) -> None:
        for snap in snapshots if isinstance(snapshots, list) else [snapshots]:
            for line in snapshot_lines(snap):
                self.say(line)

    def show_end(self) -> None:
        """After a move: a line when the run can go no further (finished or halted)."""
        if self.pg.is_complete:
            self.say(stop_line(self.pg, self._end_pause()))

    def _end_pause(self) -> Pause:
        halted = self.pg.current.halted_by
        return Pause(StopReason.HALTED, halted) if halted else Pause(StopReason.END)

    def show_position(self) -> None:
        head = snapshot_lines(self.pg.current, with_detail=False)[0]
        nxt = self.pg.peek()
        self.say(Text.assemble("at ", head, f"; next: {nxt.name}" if nxt else ""))
        self.show_end()

    # ------------------------------------------------------------------ moving
    def do_step(self, arg: str) -> None:
        self.show(self.pg.step(arg or None))
        self.show_end()

    def do_ready(self, arg: str) -> None:
        _no_argument("ready", arg)
        self.show(self.pg.step_ready())
        self.show_end()

    def do_back(self, arg: str) -> None:
        _no_argument("back", arg)
        self.pg.step_back()
        self.show_position()

    def do_peek(self, arg: str) -> None:
        _no_argument("peek", arg)
        nxt = self.pg.peek()
        if nxt is not None:
            self.say(f"next: {nxt.name} ({nxt.step_type.value})")
        else:
            self.say(stop_line(self.pg, self._end_pause()))

    def do_continue(self, arg: str) -> None:
        _no_argument("continue", arg)
        self.show(self.pg.continue_())
        self.say(stop_line(self.pg, self.pg.last_stop))

    def do_until(self, arg: str) -> None:
        self.show(self.pg.run_to(_required(arg, "until STEP")))
        self.say(stop_line(self.pg, self.pg.last_stop))

    def do_goto(self, arg: str) -> None:
        self.pg.goto(_index(arg, "goto I"))
        self.show_position()

    def do_reset(self, arg: str) -> None:
        _no_argument("reset", arg)
        self.pg.reset()
        self.show_position()

    # ------------------------------------------------------------------ breakpoints
    def do_break(self, arg: str) -> None:
        if arg:
            conditional = _BREAK_IF.match(arg)
            if conditional is None:
                bp = self.pg.add_breakpoint(arg)
            else:
                step, text = conditional.group(1), conditional.group(2) or ""
                if not text.strip():
                    raise UsageError("usage: break [STEP] if EXPR, e.g. "
                                     "break load if params[\"region\"] == \"eu\"")
                bp = self.pg.add_breakpoint(step, when=expression_condition(text))
            self.say(f"breakpoint #{bp.id} {bp.describe()}")
            return
        for bp in self.pg.breakpoints:
            self.say(f"#{bp.id} {bp.describe()}")
        if not self.pg.breakpoints:
            self.say("no breakpoints", style="dim")
        self.say(f"break-on-failure {'on' if self.pg.break_on_failure else 'off'}", style="dim")

    def do_watch(self, arg: str) -> None:
        text = _required(arg, "watch EXPR (e.g. watch outputs[\"load\"][\"rows\"] > 100)")
        bp = self.pg.add_breakpoint(when=expression_condition(text))
        self.say(f"breakpoint #{bp.id} {bp.describe()}")

    def do_clear(self, arg: str) -> None:
        if not arg:
            count = len(self.pg.breakpoints)
            self.pg.clear_breakpoints()
            self.say(f"cleared {count} breakpoint{'' if count == 1 else 's'}")
            return
        if arg.lstrip("#").isdigit():
            self.pg.remove_breakpoint(int(arg.lstrip("#")))
            self.say(f"cleared breakpoint #{arg.lstrip('#')}")
            return
        found = [bp for bp in self.pg.breakpoints if bp.step == arg]
        if not found:
            raise UsageError(f"no breakpoint on {arg!r}; `break` lists them")
        for bp in found:
            self.pg.remove_breakpoint(bp)
        self.say(f"cleared breakpoint {', '.join(f'#{bp.id}' for bp in found)} on {arg!r}")

    def do_break_on_failure(self, arg: str) -> None:
        if arg:
            if arg.lower() not in ("on", "off"):
                raise UsageError("break-on-failure takes on or off")
            self.pg.break_on_failure = arg.lower() == "on"
        self.say(f"break-on-failure {'on' if self.pg.break_on_failure else 'off'}")

    # ------------------------------------------------------------------ edits
    def do_set(self, arg: str) -> None:
        key, value = parse_param(_required(arg, "set KEY=VALUE"))
        self.show(self.pg.set_param(key, value))

    def do_out(self, arg: str) -> None:
        step, _, raw = _required(arg, "out STEP [JSON]").partition(" ")
        if raw.strip():
            try:
                value = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise UsageError(f"the new output is not JSON ({exc.msg} at column "
                                 f"{exc.colno}); e.g. out {step} {{\"doubled\": [1, 2]}}"
                                 ) from None
            self.show(self.pg.set_output(step, value))
            self.show_end()
            return
        self._check_step(step)
        if step in self.pg.outputs:
            value = self.pg.outputs[step]
            compact = preview(value, 10_000)
            self.io.out.write((compact if len(compact) <= _ONE_LINE else dumps(value)) + "\n")
            self.io.out.flush()
            return
        run = self.pg.current.runs.get(step)
        why = (f"it {run.status.value}" + (f": {run.error}" if run.error else "")
               if run is not None else "it has not run yet")
        raise UsageError(f"step {step!r} has no output: {why}")

    def do_rerun(self, arg: str) -> None:
        self.show(self.pg.rerun(_required(arg, "rerun STEP")))
        self.show_end()

    # ------------------------------------------------------------------ views
    def do_diff(self, arg: str) -> None:
        parts = _required(arg, "diff I [J]").split()
        if len(parts) > 2:
            raise UsageError("diff takes one or two snapshot indexes")
        before = _index(parts[0], "diff I [J]")
        after = _index(parts[1], "diff I [J]") if len(parts) == 2 else self.pg.position
        for line in describe_diff(before, after, self.pg.diff(before, after)):
            self.say(line)

    def do_hist(self, arg: str) -> None:
        _no_argument("hist", arg)
        for line in history_rows(self.pg):
            self.say(line)

    def do_ctx(self, arg: str) -> None:
        _no_argument("ctx", arg)
        self.say("params", style="bold")
        for key, value in self.pg.params.items():
            self.say(f"  {key} = {preview(value, 100) or repr(value)}")
        if not self.pg.params:
            self.say("  (none)", style="dim")
        self.say("outputs", style="bold")
        for step, value in self.pg.outputs.items():
            self.say(f"  {step}: {preview(value, 100) or '{}'}")
        if not self.pg.outputs:
            self.say("  (none)", style="dim")

    def do_list(self, arg: str) -> None:
        _no_argument("list", arg)
        for line in step_rows(self.pg):
            self.say(line)

    def do_help(self, arg: str) -> None:
        wanted = [c for c in COMMANDS if not arg or arg in c.names]
        if not wanted:
            raise UsageError(f"no command {arg!r}; type help for the list")
        width = max(len(c.usage) for c in wanted)
        for command in wanted:
            self.say(Text.assemble((command.usage.ljust(width), "bold"), "  ", command.help))

    # ------------------------------------------------------------------ helpers
    def _check_step(self, step: str) -> None:
        workflow = self.pg.workflow
        if workflow is not None and step not in workflow.plan.index:
            close = difflib.get_close_matches(step, workflow.plan.names, n=1)
            raise PlaygroundStepError(f"workflow {workflow.name!r} has no step {step!r}"
                                      + (f"; did you mean {close[0]!r}?" if close else ""))


def _required(arg: str, usage: str) -> str:
    if not arg:
        raise UsageError(f"usage: {usage}")
    return arg


def _no_argument(command: str, arg: str) -> None:
    if arg:
        raise UsageError(f"{command} takes no argument")


def _index(text: str, usage: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise UsageError(f"{text!r} is not a snapshot index (usage: {usage}; hist lists "
                         "them)") from None

