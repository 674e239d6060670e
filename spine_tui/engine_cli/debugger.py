"""The ``debug`` prompt: a line-oriented debugger, like pdb, over ``WorkflowPlayground``.

Every command maps to one playground call; this module parses the line and prints the
result. Keys mean what they mean in pdb: ``n`` runs the next step (a sub-workflow or map
whole), ``s`` steps into a sub-workflow or map (other steps it just runs), ``return``
finishes the stepped-into one, ``c`` continues; commands apply to the innermost
stepped-into playground. Saves to the workflow file (and the user modules it imports) are
picked up before each command is run, as ``reload`` does by hand: unchanged steps keep
their results, changed ones and what follows them are marked stale, ``cs`` runs those
again. A bad request (unknown step, stepping back at the start, ...) prints
``error: <message>`` and the session goes on. Commands are read from stdin, so a session can
be scripted (``printf 's\\ns\\nhist\\n' | spine-engine debug flow.py``); when stdin is not a
terminal each command is echoed after the prompt, so the output reads as a transcript.
"""

from __future__ import annotations

import contextlib
import difflib
import json
import os
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from rich.text import Text

from engine import StepType, WorkflowError, WorkflowPlayground, parse_param
from engine.playground import (
    Pause,
    PlaygroundError,
    PlaygroundStepError,
    ReloadError,
    SavedFiles,
    Snapshot,
    StopReason,
    expression_condition,
)

from ._debug_commands import (
    BREAK_IF,
    BY_NAME,
    COMMANDS,
    UsageError,
    index_arg,
    no_argument,
    required,
)
from ._debug_view import (
    context_lines,
    describe_diff,
    entered_line,
    history_rows,
    reload_lines,
    retry_line,
    snapshot_lines,
    step_rows,
    stop_line,
)
from ._io import Streams, dumps, preview

PROMPT = "(spine) "
_ONE_LINE = 100  # `out STEP` prints longer outputs as indented JSON


class Debugger:
    """Reads commands from ``stdin`` and applies them to ``playground`` until quit or EOF.

    ``saves`` watches the workflow's files (none: the workflow has no file to reload);
    ``db`` is the store ``retry`` records in (a session opened with ``--run``).
    """

    def __init__(self, playground: WorkflowPlayground, io: Streams, stdin: TextIO, *,
                 saves: SavedFiles | None = None, db: Path | None = None) -> None:
        self.root = playground
        self.io = io
        self.stdin = stdin
        self.saves = saves
        self.db = db
        self.interactive = bool(getattr(stdin, "isatty", lambda: False)())
        self.debug = os.environ.get("SPINE_DEBUG", "").strip() not in ("", "0", "false", "no")
        self._last = ""

    @property
    def pg(self) -> WorkflowPlayground:
        """Where commands apply: the innermost stepped-into playground (pdb's current frame)."""
        return self.root.innermost

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
        name = BY_NAME.get(word)
        if name is None:
            self.error(f"unknown command {word!r}; type help for the list")
            return True
        if name == "quit":
            return False
        if name != "reload":
            self.pick_up_saves()
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
    def do_next(self, arg: str) -> None:
        pg = self.pg
        if not arg and pg is not self.root and pg.peek() is None:
            self.do_return("")  # the end of a stepped-into one: back up, as pdb's next does
            return
        self.show(pg.step(arg or None))
        self.show_end()

    def do_step(self, arg: str) -> None:
        pg = self.pg
        nxt = pg.peek() if not arg else None
        name = arg or (nxt.name if nxt is not None else "")
        composite = nxt is not None and nxt.step_type in (StepType.WORKFLOW, StepType.MAP)
        if composite or (name and name in pg.composite_steps):
            child = pg.step_into(arg or None)
            self.say(entered_line(pg, child))
            return
        self.do_next(arg)

    def do_return(self, arg: str) -> None:
        no_argument("return", arg)
        stack = self.root.stack
        if len(stack) < 2:
            raise UsageError("not inside a sub-workflow or map; s steps into one")
        self.show(stack[-2].step_out())
        self.show_end()

    def do_ready(self, arg: str) -> None:
        no_argument("ready", arg)
        self.show(self.pg.step_ready())
        self.show_end()

    def do_back(self, arg: str) -> None:
        no_argument("back", arg)
        stack = self.root.stack
        into = stack[-2].stepped_into if len(stack) > 1 else None
        if into is not None and stack[-1].position == 0:  # back over the step into: leave it
            stack[-2].abandon()
            self.say(f"left {into.describe()} without recording it")
        else:
            self.pg.step_back()
        self.show_position()

    def do_peek(self, arg: str) -> None:
        no_argument("peek", arg)
        nxt = self.pg.peek()
        if nxt is not None:
            self.say(f"next: {nxt.name} ({nxt.step_type.value})")
        else:
            self.say(stop_line(self.pg, self._end_pause()))

    def do_continue(self, arg: str) -> None:
        no_argument("continue", arg)
        self.show(self.root.continue_())
        self.say(stop_line(self.pg, self.pg.last_stop))

    def do_until(self, arg: str) -> None:
        self.show(self.pg.run_to(required(arg, "until STEP")))
        self.say(stop_line(self.pg, self.pg.last_stop))

    def do_goto(self, arg: str) -> None:
        self.pg.goto(index_arg(arg, "goto I"))
        self.show_position()

    def do_reset(self, arg: str) -> None:
        no_argument("reset", arg)
        self.root.reset()
        self.show_position()

    # ------------------------------------------------------------------ edit and continue
    def pick_up_saves(self) -> None:
        """Reload when a watched file was saved since the last command (a few ``stat``s)."""
        if self.saves is not None and self.saves.changed():
            self.do_reload("")

    def do_reload(self, arg: str) -> None:
        no_argument("reload", arg)
        saves = self.saves
        if saves is None:
            raise UsageError("this workflow has no file to load again (it is registered by "
                             "name); debug the workflow file to edit and continue")
        try:
            report = self.root.reload_file(saves.path, roots=saves.roots)
        except ReloadError as exc:
            saves.changed()  # tried once: wait for the next save
            self.error(str(exc))
            return
        saves.watch(report.files)
        for line in reload_lines(report):
            self.say(line)

    def do_continue_stale(self, arg: str) -> None:
        no_argument("continue-stale", arg)
        self.show(self.root.continue_stale())
        self.say(stop_line(self.root, self.root.last_stop))

    def do_retry(self, arg: str) -> None:
        no_argument("retry", arg)
        if self.root.source_run_id is None:
            raise UsageError("retry needs a stored run: spine-engine debug --run RUN_ID")
        handle = self.root.retry_stored(self.db, started_by="cli")
        self.say(f"retrying run {self.root.source_run_id} as run {handle.run_id} …")
        try:
            result = handle.wait()
        except KeyboardInterrupt:
            handle.cancel()
            raise
        self.say(retry_line(handle.run_id, result))

    # ------------------------------------------------------------------ breakpoints
    def do_break(self, arg: str) -> None:
        if arg:
            conditional = BREAK_IF.match(arg)
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
        text = required(arg, "watch EXPR (e.g. watch outputs[\"load\"][\"rows\"] > 100)")
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
        key, value = parse_param(required(arg, "set KEY=VALUE"))
        self.show(self.pg.set_param(key, value))

    def do_out(self, arg: str) -> None:
        step, _, raw = required(arg, "out STEP [JSON]").partition(" ")
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
        self.show(self.pg.rerun(required(arg, "rerun STEP")))
        self.show_end()

    # ------------------------------------------------------------------ views
    def do_diff(self, arg: str) -> None:
        parts = required(arg, "diff I [J]").split()
        if len(parts) > 2:
            raise UsageError("diff takes one or two snapshot indexes")
        before = index_arg(parts[0], "diff I [J]")
        after = index_arg(parts[1], "diff I [J]") if len(parts) == 2 else self.pg.position
        for line in describe_diff(before, after, self.pg.diff(before, after)):
            self.say(line)

    def do_hist(self, arg: str) -> None:
        no_argument("hist", arg)
        for line in history_rows(self.pg):
            self.say(line)

    def do_ctx(self, arg: str) -> None:
        no_argument("ctx", arg)
        for line in context_lines(self.pg):
            self.say(line)

    def do_list(self, arg: str) -> None:
        no_argument("list", arg)
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
