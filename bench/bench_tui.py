"""Headless benchmarks of the workbench (``app.run_test()``), at the issue's scale.

With 200 generated workflow files and 100,000 stored runs it measures: start to an
interactive catalog; a filter keystroke to the updated table; a saved file to the updated
catalog (hot reload); layout and first paint of a 500-step DAG (and opening one of its map boxes); and the log tail while
another process writes 20,000 lines/s for 10 s (key to screen update, memory).

Run ``.venv/bin/python bench/bench_tui.py`` (``--append`` also appends a ``## TUI`` section
to bench/RESULTS.md). Latencies are taken from hooks inside the app (when the table was
rebuilt, when a frame was written to the terminal driver), not from Pilot's own waits.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from textual.app import App  # noqa: E402
from textual.widgets import Static  # noqa: E402

from engine import RunStore, Step, Workflow  # noqa: E402
from engine.discovery import DiscoveredWorkflow  # noqa: E402
from spine_tui.app import SpineApp, make_app  # noqa: E402
from spine_tui.config import Settings  # noqa: E402
from spine_tui.widgets.catalog import WorkflowRow  # noqa: E402
from spine_tui.widgets.catalog_table import WorkflowTable  # noqa: E402
from spine_tui.widgets.dag import compute_layout  # noqa: E402
from spine_tui.widgets.logview import LogView  # noqa: E402

RESULTS = Path(__file__).with_name("RESULTS.md")
SIZE = (160, 48)
WORKFLOWS = 200
RUNS = 100_000
TARGETS = {"start": 0.8, "filter": 0.050, "reload": 0.150, "dag": 0.3, "key": 0.100}

WORKFLOW_TEMPLATE = '''"""Generated benchmark workflow {i}."""
from engine import Step, Workflow


def first(ctx, config):
    return {{"n": {i}}}


def step(n: int) -> dict:
    return {{"n": n + 1}}


flow = Workflow(
    "bench.{domain}.flow{i:03d}",
    steps=[Step.lambda_("first", first)]
    + [Step.from_function(f"s{{k}}", step) for k in range({steps})],
    domain="{domain}",
    tags=["bench", "{tag}"],
    description="Benchmark workflow number {i} ({steps} steps).",
    version=1,
)
'''

WRITER = '''
import sys, time
from engine import Step, TrackedWorkflowRunner, Workflow


def flood(ctx, config):
    rate, seconds = config["rate"], config["seconds"]
    start = time.monotonic()
    i = 0
    while time.monotonic() - start < seconds:
        for _ in range(200):
            print(f"line {i} flood payload " + "x" * 40)
            i += 1
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    return {"lines": i}


db, run_id, rate, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
flow = Workflow("bench.flood", [Step.lambda_("flood", flood,
                                             config={"rate": rate, "seconds": seconds})])
with TrackedWorkflowRunner(db) as runner:
    runner.execute(flow, run_id=run_id)
'''

DOMAINS = ["finance", "markets", "risk", "ops", "sales"]

COLD_START = '''
import asyncio, sys, time
from pathlib import Path
from spine_tui.app import make_app
from spine_tui.config import Settings
from spine_tui.widgets.catalog_table import WorkflowTable


async def main():
    app = make_app(settings=Settings(paths=(Path(sys.argv[2]),), db=Path(sys.argv[3]),
                                     cursor_blink=False, watch=False))
    async with app.run_test(size=(160, 48)):
        while True:
            found = app.screen.query(WorkflowTable)
            if found and found.first().row_count == int(sys.argv[4]):
                break
            await asyncio.sleep(0.001)
        print(time.time() - float(sys.argv[1]))


asyncio.run(main())
'''


def write_workflows(folder: Path) -> list[str]:
    names = []
    for i in range(WORKFLOWS):
        domain = DOMAINS[i % len(DOMAINS)]
        steps = 2 + i % 7
        (folder / f"flow{i:03d}.py").write_text(WORKFLOW_TEMPLATE.format(
            i=i, domain=domain, steps=steps, tag=f"t{i % 11}"))
        names.append(f"bench.{domain}.flow{i:03d}")
    return names


def fill_store(db: Path, names: list[str]) -> None:
    store = RunStore(db)
    rnd = random.Random(7)
    start = time.time() - RUNS * 30
    rows = []
    for i in range(RUNS):
        created = start + i * 30
        status = "failed" if rnd.random() < 0.1 else "completed"
        rows.append((f"{i:016x}", names[i % len(names)], 1, status, "{}", created, created,
                     created + 2, 2.0 + rnd.random(), 5))
    with store.db.transaction() as conn:
        conn.executemany("INSERT INTO runs (run_id, workflow, version, status, params, "
                         "created_at, started_at, finished_at, duration_seconds, step_count) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    store.close()


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Frames:
    """Records when the app writes a frame to its (headless) terminal driver."""

    def __init__(self, app: App[Any]) -> None:
        self.times: list[float] = []
        original = app._display

        def display(*args: Any, **kwargs: Any) -> Any:
            self.times.append(time.perf_counter())
            return original(*args, **kwargs)

        app._display = display  # type: ignore[method-assign]

    def first_after(self, moment: float) -> float | None:
        return next((t for t in self.times if t >= moment), None)


async def wait(condition: Callable[[], Any], timeout: float = 30.0, step: float = 0.001) -> Any:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        value = condition()
        if value:
            return value
        await asyncio.sleep(step)
    raise TimeoutError("benchmark condition never became true")


def settings(folder: Path, db: Path, watch: bool = False) -> Settings:
    return Settings(paths=(folder,), db=db, cursor_blink=False, watch=watch)


# ---------------------------------------------------------------------- measurements
async def minimal_app_start() -> float:
    class Minimal(App[None]):
        def compose(self) -> Any:
            yield Static("hello")

    app = Minimal()
    frames = Frames(app)
    start = time.perf_counter()
    async with app.run_test(size=SIZE):
        await wait(lambda: frames.times)
        return frames.times[0] - start


def cold_start(folder: Path, db: Path) -> float:
    """A new process: interpreter, imports and app, to the catalog listing every workflow."""
    script = folder.parent / "cold_start.py"
    script.write_text(COLD_START)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, str(script), repr(time.time()), str(folder), str(db),
                          str(WORKFLOWS)], capture_output=True, text=True, env=env, timeout=60)
    return float(out.stdout.strip().splitlines()[-1])


async def start_to_catalog(folder: Path, db: Path) -> tuple[float, float]:
    """(first frame showing all workflows, first frame with their run history)."""
    start = time.perf_counter()
    app = make_app(settings=settings(folder, db))
    frames = Frames(app)
    async with app.run_test(size=SIZE):
        table = await wait(lambda: _table(app))
        await wait(lambda: table.row_count == WORKFLOWS and not table.loading)
        listed = time.perf_counter()
        await wait(lambda: app.stats and "%" in str(table.get_row_at(0)[6]))
        history = time.perf_counter()
        await wait(lambda: frames.first_after(history), timeout=5)
        return ((frames.first_after(listed) or listed) - start,
                (frames.first_after(history) or history) - start)


def _table(app: SpineApp) -> WorkflowTable | None:
    found = app.screen.query(WorkflowTable)
    return found.first() if found else None


async def filter_keystrokes(folder: Path, db: Path) -> list[float]:
    app = make_app(settings=settings(folder, db))
    frames = Frames(app)
    rebuilt: list[float] = []
    latencies = []
    async with app.run_test(size=SIZE) as pilot:
        table = await wait(lambda: _table(app))
        await wait(lambda: table.row_count == WORKFLOWS and app.stats)
        original = table._rebuild

        def timed_rebuild() -> None:
            original()
            rebuilt.append(time.perf_counter())

        table._rebuild = timed_rebuild  # type: ignore[method-assign]
        await pilot.press("slash")
        for text in ("fin", "flow01", "risk t3", "zzq", "markets"):
            for ch in [*text, *["backspace"] * len(text)]:
                before = len(rebuilt)
                sent = time.perf_counter()
                await pilot.press(ch)
                await wait(lambda: len(rebuilt) > before)  # noqa: B023
                frame = await wait(lambda: frames.first_after(rebuilt[-1]), timeout=2)
                latencies.append(frame - sent)
    return latencies


async def saves_to_catalog(folder: Path, db: Path, saves: int) -> list[float]:
    app = make_app(settings=settings(folder, db, watch=True))
    frames = Frames(app)
    latencies = []
    async with app.run_test(size=SIZE):
        table = await wait(lambda: _table(app))
        await wait(lambda: table.row_count == WORKFLOWS and app.stats)
        await wait(lambda: any(w.group == "watch" and w.is_running for w in app.workers))
        await asyncio.sleep(0.5)
        for n in range(saves):
            i = (n * 37) % WORKFLOWS
            path = folder / f"flow{i:03d}.py"
            name = f"bench.{DOMAINS[i % len(DOMAINS)]}.flow{i:03d}"
            version = n + 2
            text = path.read_text()
            text = text.replace(text[text.index("version="):text.index(",\n)")],
                                f"version={version}")
            saved = time.perf_counter()
            path.write_text(text)
            await wait(lambda: table.get_row(name)[4] == f"v{version}",  # noqa: B023
                       timeout=10)
            shown = time.perf_counter()
            frame = await wait(lambda: frames.first_after(shown), timeout=2)  # noqa: B023
            latencies.append(frame - saved)
            await asyncio.sleep(0.1)
    return latencies


MAP_EVERY = 25


def big_workflow(steps: int = 500, width: int = 25) -> Workflow:
    rnd = random.Random(3)

    def noop() -> dict:
        return {}

    made = []
    for i in range(steps):
        layer = i // width
        deps: list[str] = []
        if layer:
            lo, hi = max(0, (layer - 2) * width), layer * width
            deps = sorted({f"s{rnd.randrange(lo, hi)}" for _ in range(2)})
        if i % MAP_EVERY == MAP_EVERY - 1:  # some map boxes, to time opening one in place
            inner = [Step.from_function(f"m{i}_{k}", noop) for k in range(3)]
            made.append(Step.map(f"s{i}", "$.params.items", iterator_steps=inner,
                                 depends_on=deps))
        else:
            made.append(Step.from_function(f"s{i}", noop, depends_on=deps))
    return Workflow("bench.big", made)


async def dag_render(folder: Path, db: Path) -> tuple[float, float, float]:
    """(layout alone, open the workflow screen to its first frame, Enter on a map box to the
    redrawn frame with its steps in place) for 500 steps."""
    from screens import WorkflowScreen

    wf = big_workflow()
    start = time.perf_counter()
    compute_layout(wf.plan, wf.steps)
    layout = time.perf_counter() - start
    app = make_app(settings=settings(folder, db))
    frames = Frames(app)
    async with app.run_test(size=SIZE):
        table = await wait(lambda: _table(app))
        await wait(lambda: table.row_count == WORKFLOWS and app.stats)  # startup work done
        row = WorkflowRow(name=wf.name, domain="", tags=(), steps=len(wf.steps), version=1,
                          mode="sequential", source="bench.py",
                          item=DiscoveredWorkflow(wf, "bench.py", "python"))
        pushed = time.perf_counter()
        app.push_screen(WorkflowScreen(row))
        await wait(lambda: isinstance(app.screen, WorkflowScreen) and app.screen.is_mounted
                   and app.screen.dag.size.height > 0)
        mounted = time.perf_counter()
        frame = await wait(lambda: frames.first_after(mounted), timeout=2)
        screen = app.screen
        assert isinstance(screen, WorkflowScreen)
        target = f"s{MAP_EVERY * 10 - 1}"
        screen.dag.focus()
        screen.dag.selected = target
        await asyncio.sleep(0.2)  # the selection's scroll and repaint settle first
        pressed = time.perf_counter()
        screen.dag.action_fold("open")
        await wait(lambda: f"{target}/m{MAP_EVERY * 10 - 1}_0" in screen.dag.dag_layout.boxes)
        opened = await wait(lambda: frames.first_after(pressed), timeout=2)
        return layout, frame - pushed, opened - pressed


async def log_flood(folder: Path, db: Path, rate: float, seconds: float
                    ) -> dict[str, Any]:
    from screens import RunDetailScreen

    script = folder.parent / "flood_writer.py"
    script.write_text(WRITER)
    run_id = "flood0000000001"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    writer = subprocess.Popen([sys.executable, str(script), str(db), run_id, str(rate),
                               str(seconds)], stdout=subprocess.DEVNULL, env=env)
    app = make_app(settings=settings(folder, db))
    frames = Frames(app)
    latencies: list[float] = []
    rss: list[float] = []
    counts: list[int] = []
    async with app.run_test(size=SIZE) as pilot:
        await wait(lambda: _table(app))
        app.push_screen(RunDetailScreen(run_id))
        logs = await wait(lambda: app.screen.query(LogView).first()
                          if app.screen.query(LogView) else None)
        logs.focus()
        started = time.perf_counter()
        while writer.poll() is None and time.perf_counter() - started < seconds + 30:
            await asyncio.sleep(0.25)
            sent = time.perf_counter()
            await pilot.press("f")  # toggles follow: the border subtitle changes
            frame = await wait(lambda: frames.first_after(sent), timeout=5)  # noqa: B023
            latencies.append(frame - sent)
            rss.append(rss_mb())
            counts.append(logs.line_count)
        elapsed = time.perf_counter() - started
        rss_end = rss_mb()
        store = RunStore(db)
        written = int(store.db.scalar("SELECT count(*) FROM logs WHERE run_id = ?", [run_id]))
        store.close()
        try:
            await wait(lambda: logs.line_count == written, timeout=30)
        except TimeoutError:
            notes = [n.message for n in app._notifications]
            raise TimeoutError(f"log view stuck at {logs.line_count:,} of {written:,} lines; "
                               f"notifications: {notes}") from None
        caught_up = time.perf_counter() - started
        result = {
            "latencies": latencies, "rss_start": rss[0] if rss else float("nan"),
            "rss_max": max(rss) if rss else float("nan"),
            "rss_end": rss_end, "written": written, "elapsed": elapsed,
            "caught_up": caught_up, "cached": logs.cached_lines,
            "index_bytes": logs.index_bytes, "lines": logs.line_count,
        }
    writer.wait(timeout=30)
    return result


# ---------------------------------------------------------------------- report
def fmt_ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def verdict(value: float, target: float) -> str:
    return "ok" if value <= target else "over"


async def main_async(args: argparse.Namespace, work: Path) -> list[str]:
    folder = work / "workflows"
    folder.mkdir()
    db = work / "spine.db"
    os.environ["SPINE_HOME"] = str(work)
    os.environ["SPINE_DB"] = str(db)
    names = write_workflows(folder)
    t = time.perf_counter()
    fill_store(db, names)
    print(f"setup: {WORKFLOWS} workflows, {RUNS:,} runs inserted in "
          f"{time.perf_counter() - t:.1f}s ({work})", flush=True)

    minimal = statistics.median([await minimal_app_start() for _ in range(args.repeats)])
    starts = [await start_to_catalog(folder, db) for _ in range(args.repeats)]
    listed = statistics.median(s[0] for s in starts)
    history = statistics.median(s[1] for s in starts)
    cold = statistics.median([cold_start(folder, db) for _ in range(args.repeats)])
    print(f"start: minimal app {fmt_ms(minimal)}, catalog listed {fmt_ms(listed)}, with "
          f"history {fmt_ms(history)}; new process to catalog {fmt_ms(cold)}", flush=True)
    keys = await filter_keystrokes(folder, db)
    print(f"filter: median {fmt_ms(statistics.median(keys))}, max {fmt_ms(max(keys))} "
          f"over {len(keys)} keys", flush=True)
    saves = await saves_to_catalog(folder, db, args.saves)
    print(f"reload: median {fmt_ms(statistics.median(saves))}, max {fmt_ms(max(saves))} "
          f"over {len(saves)} saves", flush=True)
    dags = [await dag_render(folder, db) for _ in range(args.repeats)]
    layout = statistics.median(d[0] for d in dags)
    paint = statistics.median(d[1] for d in dags)
    fold = statistics.median(d[2] for d in dags)
    print(f"dag: layout {fmt_ms(layout)}, open to first frame {fmt_ms(paint)}, open a map "
          f"box {fmt_ms(fold)}", flush=True)
    flood = await log_flood(folder, db, args.rate, args.seconds)
    lat = flood["latencies"]
    rate = flood["written"] / max(flood["elapsed"], 1e-9)
    print(f"flood: {flood['written']:,} lines ({rate:,.0f}/s achieved) key→frame median "
          f"{fmt_ms(statistics.median(lat))}, max {fmt_ms(max(lat))}; RSS "
          f"{flood['rss_start']:.0f}→{flood['rss_max']:.0f} MB (end {flood['rss_end']:.0f}); "
          f"cached lines {flood['cached']}, index bytes {flood['index_bytes']}; caught up "
          f"{flood['caught_up']:.1f}s after start", flush=True)

    machine = " ".join(platform.uname()[i] for i in (0, 1, 2, 4))
    lines = [
        "",
        "## TUI",
        "",
        f"- date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; `bench/bench_tui.py "
        f"--repeats {args.repeats}`",
        f"- machine: `{machine}`, cpus (nproc): {os.cpu_count()}; python "
        f"{platform.python_version()}",
        f"- data: {WORKFLOWS} generated workflow files, {RUNS:,} stored runs; terminal "
        f"{SIZE[0]}×{SIZE[1]} (headless `run_test`)",
        "",
        "| measurement | result (median) | target | verdict |",
        "|---|---|---|---|",
        f"| minimal Textual app, start to first frame (floor) | {fmt_ms(minimal)} | — | — |",
        f"| start to interactive catalog (200 rows listed) | {fmt_ms(listed)} | ≤ 800 ms | "
        f"{verdict(listed, TARGETS['start'])} |",
        f"| … with last run / success rate / trend from 100k runs | {fmt_ms(history)} | — "
        "| — |",
        f"| new process (interpreter + imports + app) to catalog listed | {fmt_ms(cold)} | — "
        "| — |",
        f"| filter keystroke to updated table on screen ({len(keys)} keys) | "
        f"{fmt_ms(statistics.median(keys))} (max {fmt_ms(max(keys))}) | ≤ 50 ms | "
        f"{verdict(statistics.median(keys), TARGETS['filter'])} |",
        f"| file saved to catalog updated on screen ({len(saves)} saves) | "
        f"{fmt_ms(statistics.median(saves))} (max {fmt_ms(max(saves))}) | ≤ 150 ms | "
        f"{verdict(statistics.median(saves), TARGETS['reload'])} |",
        f"| 500-step DAG: layout | {fmt_ms(layout)} | — | — |",
        f"| 500-step DAG: open workflow screen to first frame (layout included) | "
        f"{fmt_ms(paint)} | ≤ 300 ms | {verdict(paint, TARGETS['dag'])} |",
        f"| 500-step DAG: Enter on a map box to the frame with its steps drawn in place | "
        f"{fmt_ms(fold)} | — | — |",
        f"| log flood ({rate:,.0f} lines/s achieved for {args.seconds:g} s, "
        f"{flood['written']:,} lines): key to screen update | "
        f"{fmt_ms(statistics.median(lat))} (max {fmt_ms(max(lat))}) | ≤ 100 ms | "
        f"{verdict(statistics.median(lat), TARGETS['key'])} |",
        f"| log flood: process RSS start → max → end | {flood['rss_start']:.0f} → "
        f"{flood['rss_max']:.0f} → {flood['rss_end']:.0f} MB | bounded | — |",
        f"| log flood: view state at the end | {flood['lines']:,} lines indexed in "
        f"{flood['index_bytes']} bytes, {flood['cached']} lines cached (LRU ≤ 4096) | — | — |",
        "",
    ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--saves", type=int, default=15)
    parser.add_argument("--rate", type=float, default=20_000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--append", action="store_true",
                        help="append a ## TUI section to bench/RESULTS.md")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="spine-bench-tui-"))
    try:
        lines = asyncio.run(main_async(args, work))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("\n".join(lines))
    if args.append:
        with RESULTS.open("a") as handle:
            handle.write("\n".join(lines))


if __name__ == "__main__":
    main()
