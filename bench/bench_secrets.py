"""What secret resolution and masking add per step (issue 11 target: ≤ 5 µs per step).

A 1,000-step sequential chain of ``Step.lambda_`` steps, each printing one line (so log capture
runs) and returning a small output, under ``WorkflowRunner(capture_logs=True)`` with a
listener, in four set-ups measured round by round in one process (medians, GC paused):

- ``off``: the secrets machinery patched out (no config scan, no masking): the floor;
- ``idle``: the machinery on, no reference in any config, no secret known (most runs);
- ``1 secret``: every step's config holds ``secret:env:…``, resolved when it runs, and the
  handler prints the value, so each log line, output and event is masked (1 value known);
- ``10 secrets``: the same with 10 values known to the masker.

Also the parts alone (walking a config, resolving one reference, masking one line), and the
machine's pace: µs per step of a no-op chain without capture (bench_foundations' figure).

    .venv/bin/python bench/bench_secrets.py [--steps 1000] [--repeats 9]
"""

from __future__ import annotations

import argparse
import gc
import io
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from typing import Any

import engine.invoke
import engine.logcapture
import engine.runner
from engine import SecretsResolver, Step, Workflow, WorkflowRunner
from engine.secrets import masking, resolve_references

SECRET = "bench-secret-value-3f1c9a"
TARGET_US = 5.0


def handler(ctx: Any, config: dict[str, Any]) -> dict[str, Any]:
    print(f"connecting to {config['host']} with {config['password']}")
    return {"rows": 3, "host": config["host"]}


def chain(n: int, password: str) -> Workflow:
    return Workflow("bench.secrets", [
        Step.lambda_(f"s{i}", handler, config={"host": "db", "port": 5432, "password": password,
                                               "options": {"ssl": True}})
        for i in range(n)])


def timed(fn: Callable[[], Any]) -> float:
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start
    finally:
        gc.enable()


class Machinery:
    """Switch the secrets machinery off (patched to no-ops) and back on."""

    def __init__(self) -> None:
        self.saved = (engine.invoke.resolve_references, engine.runner.mask_event,
                      engine.logcapture.mask)

    def off(self) -> None:
        engine.invoke.resolve_references = lambda config, *a, **k: config  # type: ignore
        engine.runner.mask_event = lambda event: event  # type: ignore[assignment]
        engine.logcapture.mask = lambda text: text  # type: ignore[assignment]

    def on(self) -> None:
        (engine.invoke.resolve_references, engine.runner.mask_event,
         engine.logcapture.mask) = self.saved


def per_step_us(steps: int, repeats: int) -> dict[str, float]:
    os.environ["BENCH_SECRET"] = SECRET
    SecretsResolver.set_default(None)
    machinery = Machinery()
    events: list[Any] = []
    runner = WorkflowRunner(listeners=[events.append], capture_logs=True)
    plain, secret = chain(steps, "not-a-secret"), chain(steps, "secret:env:BENCH_SECRET")
    extra = [f"other-known-secret-{i:02d}-xyz" for i in range(9)]

    def setup(name: str) -> Workflow:
        masking.forget()
        if name == "off":
            machinery.off()
            return plain
        machinery.on()
        if name == "idle":
            return plain
        if name == "10 secrets":
            for value in extra:
                masking.register(value)
        return secret

    names = ["off", "idle", "1 secret", "10 secrets"]
    samples: dict[str, list[float]] = {name: [] for name in names}
    sink = io.StringIO()
    with redirect_stdout(sink), redirect_stderr(sink):
        for name in names:  # warm up every path once
            runner.execute(setup(name))
        for _ in range(repeats):
            for name in names:
                wf = setup(name)
                events.clear()
                sink.seek(0)
                sink.truncate()
                samples[name].append(timed(lambda wf=wf: runner.execute(wf)) / steps * 1e6)
    machinery.on()
    masking.forget()
    return {name: statistics.median(values) for name, values in samples.items()}


def pace_us(steps: int, repeats: int) -> float:
    """µs per step of a plain no-op chain, so a reader can tell a slow sitting from a slow
    change (bench_foundations.py targets ≤ 3.5 µs on a quiet machine)."""
    wf = Workflow("bench.pace", [Step.lambda_(f"s{i}", lambda ctx, config: None)
                                 for i in range(steps)])
    runner = WorkflowRunner()
    runner.execute(wf)
    return statistics.median(timed(lambda: runner.execute(wf)) for _ in range(repeats)) \
        / steps * 1e6


def parts_ns(repeats: int = 200_000) -> dict[str, float]:
    config = {"host": "db", "port": 5432, "password": "x", "options": {"ssl": True}}
    resolver = SecretsResolver.default()
    line = "connecting to db with " + SECRET + " and nothing else of note"

    def each(fn: Callable[[], Any], n: int = repeats) -> float:
        start = time.perf_counter()
        for _ in range(n):
            fn()
        return (time.perf_counter() - start) / n * 1e9

    masking.forget()
    out = {"walk a 4-key config (no reference)": each(
               lambda: resolve_references(config, resolver)),
           "mask a line, nothing known": each(lambda: masking.mask(line))}
    out["resolve secret:env:NAME"] = each(lambda: resolver.resolve_reference(
        "secret:env:BENCH_SECRET"), repeats // 4)
    out["mask a line, 1 value known"] = each(lambda: masking.mask(line))
    for i in range(9):
        masking.register(f"other-known-secret-{i:02d}-xyz")
    out["mask a line, 10 values known"] = each(lambda: masking.mask(line))
    masking.forget()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    pace = pace_us(args.steps, args.repeats)
    figures = per_step_us(args.steps, args.repeats)
    parts = parts_ns()
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {os.cpu_count()} cpus, "
          f"{platform.system()} {platform.machine()}, Python {platform.python_version()}; "
          f"load {os.getloadavg()[0]:.1f}; {args.steps} steps, median of {args.repeats}; "
          f"pace: a no-op step {pace:.2f} µs")
    print("| set-up | µs/step | added vs off | target |")
    print("|---|---|---|---|")
    for name, value in figures.items():
        added = value - figures["off"]
        verdict = "" if name == "off" else (
            f"≤ {TARGET_US:g} µs ({'met' if added <= TARGET_US else 'missed'})")
        print(f"| {name} | {value:.2f} | {added:+.2f} | {verdict} |")
    print()
    print("| part | ns |")
    print("|---|---|")
    for name, value in parts.items():
        print(f"| {name} | {value:.0f} |")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
