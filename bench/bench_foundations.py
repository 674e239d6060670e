"""The foundations issue's three figures, for this tree and for another checkout in one sitting.

- in-memory sequential overhead: µs per step of a 1,000-step no-op chain (``WorkflowRunner``)
  (target ≤ 3.5 µs, half of Hamilton's per-node cost measured here);
- tracked overhead: µs per step of the same chain under ``TrackedWorkflowRunner`` (target
  ≤ 40 µs), with log capture on, as a user runs it;
- ``import engine`` in a fresh interpreter (target ≤ 0.25 s).

Each checkout is measured in its own subprocesses, alternating between them round by round,
so the machine's drift hits both alike; figures are medians.

    .venv/bin/python bench/bench_foundations.py                       # this tree only
    git worktree add /tmp/before 9a12f22
    .venv/bin/python bench/bench_foundations.py --against /tmp/before # before/after
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
TARGETS = {"memory_us": 3.5, "tracked_us": 40.0, "import_s": 0.25}

PROBE = r"""
import gc, json, statistics, sys, tempfile, time
from pathlib import Path
t0 = time.perf_counter()
import engine
imported = time.perf_counter() - t0
from engine import Step, TrackedWorkflowRunner, Workflow, WorkflowRunner

def noop(ctx, config):
    return None

n, rounds = int(sys.argv[1]), int(sys.argv[2])
wf = Workflow("bench.found", [Step.lambda_(f"s{i}", noop) for i in range(n)])

def timed(fn):
    gc.collect(); gc.disable()
    try:
        start = time.perf_counter(); fn(); return time.perf_counter() - start
    finally:
        gc.enable()

plain = WorkflowRunner()
plain.execute(wf)
memory = statistics.median(timed(lambda: plain.execute(wf)) for _ in range(rounds))
with tempfile.TemporaryDirectory() as tmp:
    with TrackedWorkflowRunner(Path(tmp) / "b.db") as runner:
        runner.execute(wf)
        tracked = statistics.median(timed(lambda: runner.execute(wf)) for _ in range(rounds))
print(json.dumps({"import_s": imported, "memory_us": memory / n * 1e6,
                  "tracked_us": tracked / n * 1e6}))
"""

IMPORT_PROBE = "import time; t = time.perf_counter(); import engine; print(time.perf_counter() - t)"


def probe(root: Path, n: int, rounds: int) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    with tempfile.TemporaryDirectory() as home:
        env["SPINE_HOME"] = home
        out = subprocess.run([sys.executable, "-c", PROBE, str(n), str(rounds)], cwd=root,
                             env=env, capture_output=True, text=True, check=True)
        imports = [float(subprocess.run([sys.executable, "-c", IMPORT_PROBE], cwd=root, env=env,
                                        capture_output=True, text=True, check=True).stdout)
                   for _ in range(5)]
    figures: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    figures["import_s"] = statistics.median(imports)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", type=Path, help="another checkout to measure alongside")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds (median)")
    parser.add_argument("--steps", type=int, default=1000)
    args = parser.parse_args()
    roots = {"this tree": HERE}
    if args.against is not None:
        roots = {"before": args.against.resolve(), "after": HERE}
    samples: dict[str, list[dict[str, float]]] = {name: [] for name in roots}
    for i in range(args.rounds):
        order = list(roots.items())
        for name, root in order if i % 2 else reversed(order):
            samples[name].append(probe(root, args.steps, 9))
            print(f"round {i + 1}/{args.rounds} {name}: {samples[name][-1]}", file=sys.stderr)
    print("| figure | " + " | ".join(roots) + " | target |")
    print("|---|" + "---|" * (len(roots) + 1))
    for key, label in (("memory_us", "in-memory µs/step"), ("tracked_us", "tracked µs/step"),
                       ("import_s", "`import engine` s")):
        cells = [f"{statistics.median(s[key] for s in samples[name]):.3g}" for name in roots]
        print(f"| {label} | " + " | ".join(cells) + f" | ≤ {TARGETS[key]:g} |")


if __name__ == "__main__":
    main()
