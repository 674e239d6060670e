"""Benchmark ``spine-engine serve``'s HTTP API over a store of 100,000 runs.

Measures, against a real server process on 127.0.0.1:
- ``GET /runs/{id}`` and ``GET /runs?limit=50``: requests/s and p50/p99 latency from a
  concurrent client, beside a bare FastAPI endpoint (same uvicorn settings) in the same run;
  targets: >= 50 % of bare throughput, p99 <= 50 ms;
- ``POST /workflows/{name}/run`` until its first step has started (read back over the API);
  target <= 50 ms;
- a signed webhook until its run is stored (the 202) and its first step started; target
  <= 100 ms.

Usage: python bench/bench_api.py [--runs 100000] [--seconds 5] [--concurrency 16]
The store is seeded with plain SQL inserts (fast), shaped like recorded runs with 3 steps each.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
FLOWS = ROOT / "tests" / "resources" / "api"
HOOK_SECRET = "bench-secret"

BARE_APP = textwrap.dedent("""
    from fastapi import FastAPI
    app = FastAPI()
    @app.get("/bare/{item}")
    def bare(item: str) -> dict:
        return {"run_id": item, "status": "completed", "progress": 1.0}
""")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def seed(db: Path, runs: int) -> list[str]:
    """Create the store through the engine (schema), then insert ``runs`` runs directly."""
    from engine.store import RunStore

    RunStore(db).close()
    conn = sqlite3.connect(db)
    now = time.time() - runs
    ids = [f"{i:016x}" for i in range(runs)]
    conn.executemany(
        "INSERT INTO runs (run_id, workflow, status, params, created_at, started_at, "
        "finished_at, duration_seconds, step_count, started_by) VALUES (?,?,?,?,?,?,?,?,?,?)",
        [(rid, f"bench.flow{i % 20}", "completed" if i % 10 else "failed", '{"n": 1}',
          now + i, now + i, now + i + 0.5, 0.5, 3, "api") for i, rid in enumerate(ids)])
    conn.executemany(
        "INSERT INTO step_runs (run_id, step, workflow, status, attempts, started_at, "
        "finished_at, duration_seconds, output) VALUES (?,?,?,?,?,?,?,?,?)",
        [(rid, step, f"bench.flow{i % 20}", "completed", 1, now + i, now + i + 0.1, 0.1,
          '{"rows": 10}') for i, rid in enumerate(ids) for step in ("load", "clean", "save")])
    conn.commit()
    conn.close()
    return ids


def start(args: list[str], port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=1)
            return process
        except httpx.TransportError:
            time.sleep(0.05)
    process.kill()
    raise SystemExit(f"server on port {port} did not start")


async def load(url: str, paths: list[str], seconds: float, concurrency: int
               ) -> tuple[float, float, float]:
    """Requests/s, p50 and p99 (ms) of ``concurrency`` clients hitting ``paths`` in turn."""
    latencies: list[float] = []
    deadline = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
        async def worker(seed_value: int) -> None:
            rng = random.Random(seed_value)
            while time.monotonic() < deadline:
                began = time.perf_counter()
                response = await client.get(rng.choice(paths))
                latencies.append(time.perf_counter() - began)
                if response.status_code != 200:
                    raise SystemExit(f"{response.status_code}: {response.text[:200]}")

        began = time.monotonic()
        await asyncio.gather(*(worker(i) for i in range(concurrency)))
        elapsed = time.monotonic() - began
    latencies.sort()
    return (len(latencies) / elapsed, 1000 * statistics.median(latencies),
            1000 * latencies[int(0.99 * (len(latencies) - 1))])


def time_to_first_step(url: str, repeats: int) -> list[float]:
    """Seconds from POST /workflows/api.slow/run to its first step showing as running."""
    samples = []
    with httpx.Client(base_url=url, timeout=30) as client:
        for _ in range(repeats):
            began = time.perf_counter()
            run_id = client.post("/workflows/api.slow/run",
                                 json={"params": {"ticks": 1, "pause": 0.0}}).json()["run_id"]
            while True:
                body = client.get(f"/runs/{run_id}").json()
                if body["steps"]:
                    break
            samples.append(time.perf_counter() - began)
            while client.get(f"/runs/{run_id}").json()["status"] not in ("completed", "failed"):
                time.sleep(0.01)
    return samples


def webhook_to_run(url: str, repeats: int) -> tuple[list[float], list[float]]:
    """Seconds from a signed webhook POST to (a) its 202 answer (the run is stored by then)
    and (b) the run's first step showing as started."""
    from engine import sign_webhook

    answered, started = [], []
    body = json.dumps({"action": "greet", "user": {"name": "bench"}}).encode()
    headers = {"X-Spine-Signature": sign_webhook(body, HOOK_SECRET),
               "content-type": "application/json"}
    with httpx.Client(base_url=url, timeout=30) as client:
        for _ in range(repeats):
            began = time.perf_counter()
            answer = client.post("/webhooks/trigger/hello-hook", content=body, headers=headers)
            answered.append(time.perf_counter() - began)
            run_id = answer.json()["run_id"]
            steps: list[object] = []
            while not steps:  # poll as fast as the API answers: the latency is the figure
                steps = client.get(f"/runs/{run_id}").json()["steps"]
            started.append(time.perf_counter() - began)
    return answered, started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="spine-bench-api-"))
    db = work / "spine.db"
    began = time.perf_counter()
    ids = seed(db, args.runs)
    print(f"seeded {args.runs:,} runs in {time.perf_counter() - began:.1f} s")
    env = {**os.environ, "SPINE_HOME": str(work), "SPINE_DB": str(db),
           "SPINE_TEST_HOOK_SECRET": HOOK_SECRET}
    api_port, bare_port = free_port(), free_port()
    (work / "bare_app.py").write_text(BARE_APP)
    api = start([sys.executable, "-m", "spine_tui.engine_cli", "serve", str(FLOWS), "--port",
                 str(api_port), "--log-level", "warning"], api_port, env)
    bare = start([sys.executable, "-m", "uvicorn", "--app-dir", str(work), "bare_app:app",
                  "--port", str(bare_port), "--log-level", "warning"], bare_port, env)
    try:
        sample = random.Random(1).sample(ids, 1000)
        cases = {
            "bare FastAPI GET": (bare_port, [f"/bare/{i}" for i in sample]),
            "GET /runs/{id}": (api_port, [f"/runs/{i}" for i in sample]),
            "GET /runs?limit=50": (api_port, [f"/runs?limit=50&offset={o}"
                                              for o in range(0, 5000, 50)]),
        }
        results: dict[str, list[tuple[float, float, float]]] = {name: [] for name in cases}
        for _ in range(args.repeats):  # interleaved, so noise hits every case alike
            for name, (port, paths) in cases.items():
                results[name].append(asyncio.run(load(
                    f"http://127.0.0.1:{port}", paths, args.seconds, args.concurrency)))
        summary = {name: tuple(statistics.median(r[k] for r in rows) for k in range(3))
                   for name, rows in results.items()}
        bare_rps = summary["bare FastAPI GET"][0]
        for name, (rps, p50, p99) in summary.items():
            print(f"{name:22s} {rps:8.0f} req/s ({100 * rps / bare_rps:5.1f} % of bare)  "
                  f"p50 {p50:6.1f} ms  p99 {p99:6.1f} ms")
        first = time_to_first_step(f"http://127.0.0.1:{api_port}", 20)
        print(f"POST run -> first step started: median {1000 * statistics.median(first):.1f} ms"
              f", p90 {1000 * sorted(first)[17]:.1f} ms (20 runs)")
        answered, hooked = webhook_to_run(f"http://127.0.0.1:{api_port}", 20)
        print(f"webhook -> 202 (run stored): median {1000 * statistics.median(answered):.1f} ms;"
              f" -> first step started: median {1000 * statistics.median(hooked):.1f} ms, "
              f"max {1000 * max(hooked):.1f} ms (20 webhooks)")
        print(json.dumps({"summary": summary, "first_step_ms": [1000 * s for s in first],
                          "webhook_ms": [1000 * s for s in hooked]}))
    finally:
        for process in (api, bare):
            process.terminate()
            process.wait(timeout=60)


if __name__ == "__main__":
    main()
