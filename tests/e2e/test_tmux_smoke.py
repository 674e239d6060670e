"""Drive the real ``spine-tui`` script in a real terminal (tmux) like a user would."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "resources" / "tui"
HOT_SWAP = ROOT / "tests" / "resources" / "tui_hot_swap"
SCRIPT = Path(sys.executable).parent / "spine-tui"
TIMEOUT = 30.0
SETTINGS_VARIABLES = ("SPINE_DB", "SPINE_PATHS", "SPINE_THEME", "SPINE_CURSOR_BLINK",
                      "SPINE_WATCH", "SPINE_REFRESH_SECONDS")

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


def tmux(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, timeout=30)


class Terminal:
    """One detached tmux session running a command, with screen capture and key sending."""

    def __init__(self, name: str) -> None:
        self.name = name

    def screen(self) -> str:
        return tmux("capture-pane", "-p", "-t", self.name).stdout

    def wait_for(self, text: str, timeout: float = TIMEOUT) -> str:
        """Poll the screen until ``text`` shows up; fail with the last screen if it never does."""
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.1)
        pytest.fail(f"{text!r} did not appear within {timeout}s; screen was:\n{screen}")

    def wait_until_gone(self, text: str, timeout: float = TIMEOUT) -> str:
        deadline = time.monotonic() + timeout
        screen = self.screen()
        while time.monotonic() < deadline and text in screen:
            time.sleep(0.1)
            screen = self.screen()
        assert text not in screen, screen
        return screen

    def keys(self, *keys: str) -> None:
        tmux("send-keys", "-t", self.name, *keys)

    def type(self, text: str) -> None:
        tmux("send-keys", "-t", self.name, "-l", text)

    def alive(self) -> bool:
        return tmux("has-session", "-t", self.name).returncode == 0


@contextmanager
def spine_tui(home: Path, path: str, **variables: str) -> Iterator[Terminal]:
    """``spine-tui path`` in a detached 140x40 tmux session, its store under ``home``."""
    name = f"spine-smoke-{uuid.uuid4().hex[:8]}"
    # a tmux server that is already running gives new sessions *its* environment, so the
    # store location is set on the command itself: never the user's ~/.spine
    unset = " ".join(f"-u {name}" for name in SETTINGS_VARIABLES)
    extra = " ".join(f"{key}={shlex.quote(value)}" for key, value in variables.items())
    command = (f"cd {shlex.quote(str(ROOT))} && exec env {unset} "
               f"SPINE_HOME={shlex.quote(str(home))} TERM=xterm-256color {extra} "
               f"{SCRIPT} {shlex.quote(path)}")
    env = {**os.environ, "SPINE_HOME": str(home), "TERM": "xterm-256color"}
    started = subprocess.run(
        ["tmux", "-f", "/dev/null", "new-session", "-d", "-s", name, "-x", "140", "-y", "40",
         command], env=env, capture_output=True, text=True, timeout=30)
    assert started.returncode == 0, started.stderr
    try:
        yield Terminal(name)
    finally:
        tmux("kill-session", "-t", name)


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Terminal]:
    with spine_tui(tmp_path, str(FIXTURES.relative_to(ROOT))) as term:
        yield term


def test_browse_filter_open_run_see_history_and_quit_in_a_real_terminal(
        terminal: Terminal, tmp_path: Path) -> None:
    screen = terminal.wait_for("tui.market.fanout")
    assert "tui.etl.daily" in screen
    assert "Workflows 3 of 3" in screen
    assert "tui_broken.py:12:" in screen  # broken fixtures are listed, not fatal
    assert "tui_broken.yaml:10:" in screen

    terminal.wait_for("⏎ Open")  # the table has focus and its keys are live
    terminal.keys("/")
    terminal.wait_until_gone("⏎ Open")  # the filter has focus: the footer drops the table's keys
    terminal.type("fanout")
    terminal.wait_for("Workflows 1 of 3")
    # the table filters first; the preview beside it follows the new highlight a frame later
    screen = terminal.wait_until_gone("tui.etl.daily")
    assert "tui.market.fanout" in screen

    terminal.keys("Enter")
    screen = terminal.wait_for("Steps (6)")
    for step in ("fetch", "prices", "volumes", "news", "merge", "publish"):
        assert f"│ {step} " in screen
    assert "▶" in screen and "┤" in screen

    terminal.keys("d")  # the playground: step, step back, leave
    terminal.wait_for("snapshot 0/0")
    terminal.keys("n")
    terminal.wait_for("ran fetch: completed")
    terminal.keys("b")
    screen = terminal.wait_for("back at snapshot 0")
    assert "#1  ✓ fetch" in screen  # the undone step stays on the timeline
    terminal.keys("Escape")
    terminal.wait_for("Steps (6)")

    terminal.keys("r")  # run it: the params dialog, then Enter starts the run
    terminal.wait_for("Run tui.market.fanout")
    terminal.keys("Enter")
    screen = terminal.wait_for("✓ completed")  # the run's end comes after its last step's
    assert "6/6 steps" in screen and "100%" in screen

    terminal.keys("Escape")
    screen = terminal.wait_for("Workflows 1 of 3")
    assert "Steps (6)" not in screen

    terminal.keys("R")  # the runs screen lists the run just made, from the store
    screen = terminal.wait_for("1 run")
    assert "tui.market.fanout" in screen and "completed" in screen
    terminal.keys("Enter")
    screen = terminal.wait_for("Steps 6/6 done")
    for step in ("fetch", "merge", "publish"):
        assert step in screen
    terminal.keys("Escape")
    terminal.wait_for("Workflow filter")
    terminal.keys("A")  # analytics over the same store
    screen = terminal.wait_for("1 run, 1 finished")
    assert "success rate 100.0%" in screen
    terminal.keys("C")
    terminal.wait_for("Workflows 1 of 3")

    terminal.keys("q")
    deadline = time.monotonic() + TIMEOUT
    while terminal.alive() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not terminal.alive(), terminal.screen()
    assert (tmp_path / "spine.db").exists()  # the run went to SPINE_HOME, not ~/.spine


def test_edit_and_continue_in_the_playground_in_a_real_terminal(tmp_path: Path) -> None:
    """Run to a failure, save a fix to the helper module, see the stale mark, L re-runs."""
    folder = tmp_path / "flows"
    shutil.copytree(HOT_SWAP, folder)
    calls = tmp_path / "calls.txt"
    with spine_tui(tmp_path / "home", str(folder), TUI_SWAP_CALLS=str(calls)) as terminal:
        terminal.wait_for("tui.swap.flow")
        terminal.wait_for("⏎ Open")
        terminal.keys("Enter")
        terminal.wait_for("Steps (3)")
        terminal.keys("d")
        terminal.wait_for("saves to tui_swap_flow.py are taken in")
        terminal.keys("c")
        terminal.wait_for("'check' failed")
        terminal.keys("Right")  # select check: its record shows beside the timeline
        terminal.wait_for("rows above 3: [4]")

        helpers = folder / "tui_swap_helpers.py"
        helpers.write_text(helpers.read_text().replace("return 3", "return 10"))
        screen = terminal.wait_for("≈ stale: check")
        assert "≈stale" in screen  # on check's DAG box
        assert "changed: check (code (tui_swap_helpers.threshold))" in screen

        terminal.keys("L")
        screen = terminal.wait_for("re-ran the stale steps")
        assert "'report' is next" in screen and "≈ stale" not in screen
        terminal.keys("c")
        terminal.wait_for("reached the end")
        assert calls.read_text().split() == ["fetch"]  # the upstream step ran once

        terminal.keys("Escape")
        terminal.wait_for("Steps (3)")
        terminal.keys("q")
        deadline = time.monotonic() + TIMEOUT
        while terminal.alive() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not terminal.alive(), terminal.screen()
