"""``spine-tui --web``: the workbench served to a real (headless) Chromium, plus its arguments.

How the browser test sees the screen: textual-serve's page draws the terminal with xterm.js on a
canvas, so the DOM holds no text. The test drives Chromium over the DevTools protocol and, before
the page loads, installs a hook that keeps the ``Terminal`` textual.js creates; it then reads the
rows xterm.js renders from that terminal's buffer (``buffer.active.getLine(i)``), polling with a
deadline, and types through the browser with DevTools input events.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from spine_tui.web import app_command, is_loopback, same_origin, serve

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "resources" / "tui"
SCRIPT = Path(sys.executable).parent / "spine-tui"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
TIMEOUT = 30.0
STOP_TIMEOUT = 10.0  # Ctrl+C ends open sessions in ~2 s; plain textual-serve waits ~25 s for tabs

# Keep the xterm.js Terminal that textual.js assigns to ``this.terminal`` (its only such
# assignment), so the test can read what the terminal shows.
KEEP_TERMINAL = """
Object.defineProperty(Object.prototype, "terminal", {
  configurable: true,
  set(value) {
    Object.defineProperty(this, "terminal", {value, writable: true, configurable: true,
                                             enumerable: true});
    if (value && value.buffer && typeof value.write === "function") {
      window.__spineTerminal = value;
    }
  },
});
"""
READ_SCREEN = """(() => {
  const terminal = window.__spineTerminal;
  if (!terminal) return "";
  const buffer = terminal.buffer.active;
  const rows = [];
  for (let y = 0; y < terminal.rows; y++) {
    const line = buffer.getLine(buffer.viewportY + y);
    rows.push(line ? line.translateToString(true) : "");
  }
  return rows.join("\\n");
})()"""


def clean_env(home: Path) -> dict[str, str]:
    """The environment with no settings of the user's, and the store under ``home``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPINE_")}
    env["SPINE_HOME"] = str(home)
    return env


def run(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, timeout=60,
                          env=clean_env(home))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- arguments -------------------------------------------------------------------------------

def test_help_explains_web_port_and_host(tmp_path: Path) -> None:
    result = run("--help", home=tmp_path)
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    assert "--web" in text and "serve the workbench to browsers" in text
    assert "--port N" in text and "8566" in text
    assert "--host H" in text and "127.0.0.1" in text and "no login" in text


@pytest.mark.parametrize("port", ["0", "70000", "http"])
def test_a_bad_port_is_a_usage_error(tmp_path: Path, port: str) -> None:
    result = run("--web", "--port", port, str(FIXTURES), home=tmp_path)
    assert result.returncode == 2
    assert "argument --port" in result.stderr and "1-65535" in result.stderr
    assert "serving" not in result.stdout and "Traceback" not in result.stderr


def test_port_without_web_is_a_usage_error(tmp_path: Path) -> None:
    result = run("--port", "9000", str(FIXTURES), home=tmp_path)
    assert result.returncode == 2
    assert "only apply with --web" in result.stderr


def test_a_missing_path_is_refused_before_serving(tmp_path: Path) -> None:
    result = run("--web", "--port", str(free_port()), str(tmp_path / "nope"), home=tmp_path)
    assert result.returncode == 2
    assert "no such file or folder" in result.stderr
    assert "serving" not in result.stdout


def test_a_busy_port_is_a_one_line_error(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run("--web", "--port", str(port), str(FIXTURES), home=tmp_path)
    assert result.returncode == 2
    assert f"cannot serve on 127.0.0.1:{port}" in result.stderr
    assert "serving" not in result.stdout and "Traceback" not in result.stderr


def test_each_session_runs_this_cli_without_web_on_the_checked_paths_and_store(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    argv = shlex.split(app_command(["tests/resources/tui"], tmp_path / "runs.db", "nord"))
    assert argv == [sys.executable, "-m", "spine_tui.cli", "--db", str(tmp_path / "runs.db"),
                    "--theme", "nord", str(FIXTURES)]
    assert shlex.split(app_command([], tmp_path / "a b.db", None))[-1] == str(tmp_path / "a b.db")


@pytest.mark.parametrize(("host", "loopback"), [
    ("127.0.0.1", True), ("localhost", True), ("::1", True), ("127.0.0.2", True),
    ("0.0.0.0", False), ("::", False), ("192.168.1.5", False), ("example.org", False),
])
def test_only_loopback_hosts_skip_the_warning(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


@pytest.mark.parametrize(("origin", "ours"), [
    (None, True), ("http://127.0.0.1:8566", True), ("http://localhost:8566", False),
    ("http://127.0.0.1:8566/", True), ("https://evil.example", False),
    ("http://127.0.0.1:9000", False), ("null", False),
])
def test_only_our_own_page_may_open_a_session(origin: str | None, ours: bool) -> None:
    assert same_origin(origin, "127.0.0.1:8566") is ours


def test_a_non_loopback_host_warns_that_there_is_no_login(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from textual_serve.server import Server as TextualServer

    served: list[tuple[str, int]] = []
    monkeypatch.setattr(TextualServer, "serve",
                        lambda self, debug=False: served.append((self.host, self.port)))
    port = free_port()
    assert serve("true", host="0.0.0.0", port=port) == 0
    assert served == [("0.0.0.0", port)]
    captured = capsys.readouterr()
    assert "warning: serving on 0.0.0.0, which is not loopback" in captured.err
    assert "there is no login" in captured.err
    assert f"serving the workbench on http://0.0.0.0:{port}" in captured.out

    assert serve("true", host="127.0.0.1", port=port) == 0
    assert "warning" not in capsys.readouterr().err


# --- the browser ---------------------------------------------------------------------------

class Server:
    """``spine-tui --web`` running in its own process group, with its output in a file."""

    def __init__(self, process: subprocess.Popen[bytes], log: Path, url: str) -> None:
        self.process = process
        self.log = log
        self.url = url

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def wait_until_serving(self) -> None:
        """Poll the page until it answers; fail with the server's output if it never does."""
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"spine-tui --web exited {self.process.returncode}:\n{self.output()}")
            try:
                with urllib.request.urlopen(self.url, timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                time.sleep(0.1)
        pytest.fail(f"{self.url} did not answer within {TIMEOUT}s:\n{self.output()}")


def stop_group(process: subprocess.Popen[bytes], first: signal.Signals) -> int | None:
    """Signal a process we started in its own group, then kill the group if it lingers."""
    if process.poll() is None:
        process.send_signal(first)
    try:
        return process.wait(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return None
    finally:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)  # its sessions, and whatever else lingers
        process.wait()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    port = free_port()
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(SCRIPT), "--web", "--port", str(port), "--db", str(tmp_path / "web.db"),
             str(FIXTURES)],
            cwd=tmp_path, env=clean_env(tmp_path), stdin=subprocess.DEVNULL, stdout=out,
            stderr=subprocess.STDOUT, start_new_session=True)
    started = Server(process, log, f"http://127.0.0.1:{port}/")
    try:
        started.wait_until_serving()
        yield started
    finally:
        stop_group(process, signal.SIGINT)


class DevTools:
    """A minimal Chrome DevTools protocol client over one websocket, for the browser or (with
    a session) one page; commands are sent one at a time, each awaited."""

    def __init__(self, socket_: Any, session: str = "",
                 ids: Iterator[int] | None = None) -> None:
        self.socket = socket_
        self.session = session
        self.ids = ids or itertools.count(1)

    def page(self, session: str) -> DevTools:
        """The client for one attached page, on the same connection and id sequence."""
        return DevTools(self.socket, session, self.ids)

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Send one command and return its result, skipping the events sent meanwhile."""
        message: dict[str, Any] = {"id": next(self.ids), "method": method, "params": params}
        if self.session:
            message["sessionId"] = self.session
        await self.socket.send_json(message)
        async for frame in self.socket:
            reply = json.loads(frame.data)
            if reply.get("id") == message["id"]:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return dict(reply["result"])
        raise RuntimeError(f"{method}: Chromium closed the DevTools connection")

    async def screen(self) -> str:
        result = await self.call("Runtime.evaluate", expression=READ_SCREEN, returnByValue=True)
        return str(result["result"].get("value") or "")

    async def wait_for(self, text: str, *, gone: str = "") -> str:
        """Poll the terminal until ``text`` shows (and ``gone`` does not); fail with the
        last screen if that never happens."""
        deadline = time.monotonic() + TIMEOUT
        screen = ""
        while time.monotonic() < deadline:
            screen = await self.screen()
            if text in screen and not (gone and gone in screen):
                return screen
            await asyncio.sleep(0.1)
        wanted = f"{text!r} without {gone!r}" if gone else repr(text)
        pytest.fail(f"{wanted} did not show within {TIMEOUT}s; the browser showed:\n{screen}")

    async def wait_until_gone(self, text: str) -> str:
        """Poll the terminal until ``text`` is no longer shown."""
        return await self.wait_for("", gone=text)

    async def press(self, key: str) -> None:
        await self.call("Input.dispatchKeyEvent", type="keyDown", key=key, text=key)
        await self.call("Input.dispatchKeyEvent", type="keyUp", key=key)


@pytest.fixture
def chromium(tmp_path: Path) -> Iterator[str]:
    """Headless Chromium with DevTools on a free port; yields its browser websocket URL."""
    if CHROMIUM is None:
        pytest.skip("no chromium binary (apt-get install chromium; .ci/run does)")
    profile = tmp_path / "chromium"
    with (tmp_path / "chromium.log").open("wb") as log:
        process = subprocess.Popen(
            [CHROMIUM, "--headless=new", "--disable-gpu", "--no-sandbox", "--disable-breakpad",
             "--no-first-run", "--remote-debugging-port=0", f"--user-data-dir={profile}",
             "--window-size=1400,900",
             # the page asks Google for a font; nothing leaves this machine, so it fails at once
             "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log,
            start_new_session=True)
    try:
        active = profile / "DevToolsActivePort"  # "port\n/devtools/browser/<id>" once it listens
        deadline = time.monotonic() + TIMEOUT
        while len(lines := (active.read_text().splitlines() if active.exists() else [])) < 2:
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail("chromium did not open DevTools:\n"
                            + (tmp_path / "chromium.log").read_text(errors="replace")[-3000:])
            time.sleep(0.05)
        yield f"ws://127.0.0.1:{lines[0]}{lines[1]}"
    finally:
        stop_group(process, signal.SIGTERM)


def test_another_sites_page_cannot_open_a_session(server: Server) -> None:
    """A page on any site can reach localhost from the user's browser; the server refuses it."""
    import aiohttp

    async def handshake(origin: str) -> int:
        async with aiohttp.ClientSession() as http:
            try:
                async with http.ws_connect(server.url + "ws", headers={"Origin": origin}):
                    return 101
            except aiohttp.WSServerHandshakeError as refused:
                return refused.status

    assert asyncio.run(handshake("https://evil.example")) == 403


async def use_it_then_press_ctrl_c(devtools_url: str, server: Server) -> None:
    """Open the page, see the catalog, filter it by typing, then stop the server under it."""
    import aiohttp  # textual-serve's own dependency

    async with aiohttp.ClientSession() as http, \
            http.ws_connect(devtools_url, max_msg_size=0) as socket_:
        browser = DevTools(socket_)
        target = await browser.call("Target.createTarget", url="about:blank")
        attached = await browser.call("Target.attachToTarget", targetId=target["targetId"],
                                      flatten=True)
        page = browser.page(attached["sessionId"])
        await page.call("Page.enable")  # needed for the hook to run on the next document
        await page.call("Page.addScriptToEvaluateOnNewDocument", source=KEEP_TERMINAL)
        await page.call("Emulation.setFocusEmulationEnabled", enabled=True)  # keys in headless
        await page.call("Page.navigate", url=server.url)

        screen = await page.wait_for("tui.market.fanout")
        assert "spine-tui — Catalog" in screen
        assert "tui.etl.daily" in screen and "Workflows 3 of 3" in screen
        assert "tui_broken.py:12:" in screen  # the same catalog as in a terminal

        # focusing the terminal (a click, for a user) focuses the app: the table's keys show
        await page.call("Runtime.evaluate", expression="window.__spineTerminal.focus()")
        await page.wait_for("⏎ Open")
        await page.press("/")
        await page.wait_until_gone("⏎ Open")  # the filter has focus: the table's keys are gone
        for key in "fanout":
            await page.press(key)
        screen = await page.wait_for("Workflows 1 of 3", gone="tui.etl.daily")
        assert "tui.market.fanout" in screen

        server.process.send_signal(signal.SIGINT)  # Ctrl+C with the tab still open
        assert await asyncio.to_thread(server.process.wait, STOP_TIMEOUT) == 0, server.output()
        ended = "document.body.classList.contains('-closed')"  # the page's "Session ended."
        deadline = time.monotonic() + TIMEOUT
        while not (await page.call("Runtime.evaluate", expression=ended,
                                   returnByValue=True))["result"]["value"]:
            assert time.monotonic() < deadline, "the page never showed the session ended"
            await asyncio.sleep(0.1)


def live_processes(session: int) -> list[str]:
    """The command lines of a session's processes that still run; exited ones waiting for a
    reaper (a container's init may never reap them) are left out."""
    live = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            state, _, _, sid = stat.read_text().rsplit(")", 1)[1].split()[:4]
            if int(sid) == session and state != "Z":
                live.append((stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode())
        except (OSError, ValueError):
            continue  # gone meanwhile
    return live


def test_the_workbench_in_a_browser_shows_the_catalog_takes_keys_and_stops(
        server: Server, chromium: str) -> None:
    assert "serving the workbench on http://127.0.0.1:" in server.output()
    asyncio.run(asyncio.wait_for(use_it_then_press_ctrl_c(chromium, server), 4 * TIMEOUT))
    deadline = time.monotonic() + TIMEOUT  # the session's spine-tui went with the server
    while left := live_processes(server.process.pid):
        assert time.monotonic() < deadline, f"outlived the server: {left}"
        time.sleep(0.1)
