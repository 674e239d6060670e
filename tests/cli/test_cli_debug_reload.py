"""``spine-engine debug``: edit and continue (saves picked up between commands, ``reload``,
``cs``, ``retry``) and pdb's keys (``n`` over, ``s`` into, ``return``), scripted and over a pty."""

from __future__ import annotations

import io
import os
import pty
import re
import select
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from debug_transcript import replies

from engine.store import RunStore

RESOURCES = Path(__file__).resolve().parent.parent / "resources" / "hot_swap"
MODULES = ("hot_swap_flow", "hot_swap_helpers")
FIX = ("return 3", "return 10")
RUN_LINE = re.compile(r"^run ([0-9a-f]{16})  (\S+) \(\d+ steps?\)$")

Step = str | Callable[[], None]


class Typist:
    """A non-tty stdin that types ``script`` one line at a time; a callable in it runs (e.g.
    saves an edit) before the next line is read, as a person saving between commands."""

    def __init__(self, script: list[Step]) -> None:
        self.script = list(script)

    def isatty(self) -> bool:
        return False

    def readline(self) -> str:
        while self.script:
            item = self.script.pop(0)
            if callable(item):
                item()
            else:
                return item + "\n"
        return ""


class Flow:
    def __init__(self, folder: Path, calls: Path) -> None:
        self.file = folder / "hot_swap_flow.py"
        self.helpers = folder / "hot_swap_helpers.py"
        self.calls = calls

    def edit(self, path: Path, old: str, new: str) -> Callable[[], None]:
        def save() -> None:
            text = path.read_text()
            assert old in text, old
            path.write_text(text.replace(old, new))
        return save

    def fetches(self) -> int:
        return self.calls.read_text().split().count("fetch") if self.calls.exists() else 0


@pytest.fixture
def flow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flow]:
    folder = tmp_path / "flows"
    shutil.copytree(RESOURCES, folder)
    monkeypatch.setenv("HOT_SWAP_CALLS", str(tmp_path / "calls.txt"))
    for name in MODULES:
        sys.modules.pop(name, None)
    yield Flow(folder, tmp_path / "calls.txt")
    for name in MODULES:
        sys.modules.pop(name, None)


@pytest.fixture
def debug(cli, monkeypatch: pytest.MonkeyPatch) -> Callable[..., object]:
    def invoke(script: list[Step], *argv: str) -> object:
        monkeypatch.setattr(sys, "stdin", Typist(script))
        return cli("debug", *argv)
    return invoke


def test_a_save_between_commands_is_picked_up_and_cs_reruns_the_stale_step(debug, flow: Flow
                                                                           ) -> None:
    result = debug(["c", flow.edit(flow.helpers, *FIX), "l", "cs", "c", "hist", "q"],
                   str(flow.file))
    assert result.code == 0, result.err
    out = result.out
    assert re.search(r"^watching .*hot_swap_flow\.py, .*hot_swap_helpers\.py: saves are "
                     r"picked up before each command$", out, re.MULTILINE), out
    assert replies(out, "c")[-1] == "paused: step 'check' failed (break-on-failure)"
    listing = replies(out, "l")
    assert re.fullmatch(r"reloaded .*hot_swap_flow\.py \(\+ hot_swap_helpers\): changed: "
                        r"check \(code \(hot_swap_helpers\.threshold\)\); stale: check",
                        listing[0]), listing[0]
    assert listing[1] == "stale: check — cs runs them again with the new code"
    check_row = next(line for line in listing[2:] if "check" in line.split())
    assert re.search(r"check\s+failed\s+lambda  stale  rows above 3: \[4\]", check_row)
    rerun = replies(out, "cs")
    assert re.fullmatch(r"\[4\] check → completed \(.*\) \(rerun\)", rerun[0]), rerun
    assert rerun[1] == '    output: {"checked": 4}'
    assert rerun[-1] == "paused before 'report'"
    assert replies(out, "c", 1)[1] == '    output: {"summary": "4 rows ok"}'
    hist = replies(out, "hist")
    assert re.search(r"\[3\] reloaded\s+reload\s+changed: check", hist[3]), hist
    assert flow.fetches() == 1  # fetch ran once, before the edit
    assert "Traceback" not in out + result.err


def test_a_broken_save_prints_file_and_line_and_the_session_goes_on(debug, flow: Flow
                                                                    ) -> None:
    good = flow.file.read_text()
    broken = flow.edit(flow.file, "def report(ctx, config):", "def report(ctx, config:")
    result = debug(["c", broken, "p", "reload", lambda: flow.file.write_text(good),
                    flow.edit(flow.helpers, *FIX), "cs", "q"], str(flow.file))
    assert result.code == 0, result.err
    out = result.out
    line = next(n for n, text in enumerate(good.splitlines(), 1)
                if text.startswith("def report"))
    picked = replies(out, "p")
    assert re.fullmatch(rf"error: .*hot_swap_flow\.py:{line}: '\(' was never closed \(line "
                        rf"{line}\) \(the playground stays on the last good definition\)",
                        picked[0]), picked
    assert picked[1] == "halted: step 'check' failed and stops the run; back, set KEY=VALUE, " \
                        "out check JSON or rerun check to go on"
    assert replies(out, "reload")[0].startswith("error: ")  # still broken: said again
    assert replies(out, "cs")[0].startswith("reloaded ")  # the fix is picked up
    assert any(line.startswith("[4] check → completed") for line in replies(out, "cs"))


def test_next_steps_over_and_step_steps_into_a_map(debug) -> None:
    script = ["n", "s", "l", "n", "s", "n", "n", "return", "b", "b", "return", "p", "help s",
              "help n"]
    result = debug(script, "portfolio.daily_analysis")
    assert result.code == 0, result.err
    out = result.out
    assert replies(out, "n", 0)[0].startswith("[1] load → completed")
    assert replies(out, "s", 0) == [
        "entered analyze_each (map): 4 steps (analyze_each[0], analyze_each[1], "
        "analyze_each[2], analyze_each[3]); n steps, return goes back up"]
    assert [line.lstrip("> ").split()[0] for line in replies(out, "l")] == [
        "analyze_each[0]", "analyze_each[1]", "analyze_each[2]", "analyze_each[3]"]
    assert replies(out, "n", 1)[0].startswith("[1] analyze_each[0] → completed")
    assert replies(out, "s", 1)[0].startswith("entered analyze_each[1] (map item): 1 step "
                                              "(analyze)")
    assert replies(out, "n", 2)[0].startswith("[1] analyze → completed")
    # the end of the stepped-into item: next goes back up, recording the item
    assert replies(out, "n", 3)[0].startswith("[2] analyze_each[1] → completed")
    assert replies(out, "return", 0)[0].startswith("[2] analyze_each → completed")
    assert replies(out, "b", 0)[0].startswith("at [1] load → completed")
    assert replies(out, "b", 1) == ["at [0] start; next: load"]
    assert replies(out, "return", 1) == [
        "error: not inside a sub-workflow or map; s steps into one"]
    assert replies(out, "p") == ["next: load (lambda)"]
    assert replies(out, "help s")[0].startswith("s, step [STEP]")
    assert replies(out, "help n")[0].startswith("n, next [STEP]")


def test_a_stored_run_is_fixed_at_the_prompt_then_retried(cli, debug, flow: Flow) -> None:
    ran = cli("run", str(flow.file))
    assert ran.code == 1, ran.err
    match = RUN_LINE.match(ran.out.splitlines()[0])
    assert match, ran.out
    run_id = match.group(1)
    result = debug([flow.edit(flow.helpers, *FIX), "n", "retry", "q"], str(flow.file),
                   "--run", run_id, "--at", "check")
    assert result.code == 0, result.err
    out = result.out
    step = replies(out, "n")
    assert step[0].startswith("reloaded ") and step[-2].startswith("[3] check → completed")
    retried = replies(out, "retry")
    new_id = re.fullmatch(rf"retrying run {run_id} as run ([0-9a-f]{{16}}) …", retried[0])
    assert new_id, retried
    assert retried[1] == (f"retry run {new_id.group(1)}: completed; spine-engine status "
                          f"{new_id.group(1)} shows it")
    status = cli("status", new_id.group(1), "--json")
    assert '"status": "completed"' in status.out
    assert flow.fetches() == 1  # neither the debugger nor the retry ran fetch again


def test_retry_without_a_stored_run_and_reload_without_a_file_explain(debug) -> None:
    result = debug(["retry", "cs", "reload"], "debug.pipeline")
    out = result.out
    assert replies(out, "retry") == [
        "error: retry needs a stored run: spine-engine debug --run RUN_ID"]
    assert replies(out, "cs")[0].startswith("error: no step is stale")
    assert replies(out, "reload")[0].startswith("reloaded ")


# ------------------------------------------------------------------------------ pty


class Terminal:
    """``spine-engine debug`` on a pseudo-terminal: what a person at a keyboard sees."""

    def __init__(self, argv: list[str], cwd: Path, env: dict[str, str]) -> None:
        self.master, slave = pty.openpty()
        self.proc = subprocess.Popen([sys.executable, "-m", "spine_tui.engine_cli", *argv],
                                     stdin=slave, stdout=slave, stderr=slave, cwd=cwd, env=env,
                                     close_fds=True)
        os.close(slave)
        self.seen = ""

    def expect(self, pattern: str, timeout: float = 30.0) -> str:
        """Read until ``pattern`` shows up after what was read before; the text up to it."""
        start = len(self.seen)
        deadline = time.monotonic() + timeout
        while not re.search(pattern, self.seen[start:]):
            if time.monotonic() > deadline:
                raise AssertionError(f"no {pattern!r} in {self.seen[start:]!r}")
            ready, _, _ = select.select([self.master], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(self.master, 4096)
                except OSError:  # the child closed the terminal
                    chunk = b""
                if not chunk and self.proc.poll() is not None:
                    raise AssertionError(f"exited before {pattern!r}: {self.seen[start:]!r}")
                self.seen += chunk.decode(errors="replace").replace("\r\n", "\n")
        return self.seen[start:]

    def type(self, line: str) -> str:
        os.write(self.master, (line + "\n").encode())
        return self.expect(r"\(spine\) $")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)
        os.close(self.master)


def test_edit_and_continue_over_a_pty(flow: Flow, tmp_path: Path) -> None:
    env = {**os.environ, "SPINE_DEBUG": "", "NO_COLOR": "1", "TERM": "dumb",
           "HOT_SWAP_CALLS": str(flow.calls)}
    term = Terminal(["debug", str(flow.file)], tmp_path, env)
    try:
        assert "next: fetch" in term.expect(r"\(spine\) $")
        assert "paused: step 'check' failed" in term.type("c")
        flow.edit(flow.helpers, *FIX)()
        shown = term.type("p")
        assert "reloaded" in shown and "stale: check" in shown
        assert re.search(r"check → completed .*\n.*checked\": 4", term.type("cs"))
        assert "end: hot_swap.flow completed" in term.type("c")
        os.write(term.master, b"q\n")
        assert term.proc.wait(timeout=30) == 0
    finally:
        term.close()
    assert flow.fetches() == 1


def test_a_run_id_in_place_of_the_workflow_opens_the_stored_run(
        cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """`spine-engine debug RUN_ID` is `debug --run RUN_ID` (the issue's spelling)."""
    assert cli("run", "hello.world").code == 0
    store = RunStore(os.environ["SPINE_DB"])
    run_id = store.list_runs(limit=1)[0].run_id
    store.close()
    monkeypatch.setattr("sys.stdin", io.StringIO("list\nq\n"))
    out = cli("debug", run_id[:8])
    assert out.code == 0, out.err
    assert run_id in out.out and "shout" in out.out
