"""Artifact store benchmarks: streaming throughput against a plain file copy, small-put latency
(durable vs not), and how listing / overwrite GC scale with the number of keys.

Run ``.venv/bin/python bench/bench_artifacts.py``; it prints a markdown table to paste into
bench/RESULTS.md. Every figure is the median of ``--repeats`` runs; compare ratios, not times.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.artifacts import LocalArtifactStore  # noqa: E402

MB = 1 << 20


def median_seconds(fn: Callable[[], Any], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def throughput(workdir: Path, size_mb: int, repeats: int) -> list[str]:
    """put/get of one large file vs copying it with shutil (the floor)."""
    source = workdir / "source.bin"
    source.write_bytes(os.urandom(size_mb * MB))
    store = LocalArtifactStore(workdir / "tp")
    counter = iter(range(10**9))

    def copy() -> None:
        shutil.copyfile(source, workdir / "copy.bin")
        with open(workdir / "copy.bin", "rb+") as handle:
            os.fsync(handle.fileno())

    def put() -> None:  # streams the file behind a unique prefix, so nothing dedupes
        n = next(counter)
        with open(source, "rb") as handle:
            store.put_stream(f"big/{n}.bin", [n.to_bytes(8), *iter(lambda: handle.read(MB), b"")])

    ref = store.put("big/read.bin", source)
    floor = median_seconds(copy, repeats)
    put_s = median_seconds(put, repeats)
    get_s = median_seconds(lambda: sum(len(c) for c in store.iter_chunks(ref)), repeats)
    read_floor = median_seconds(lambda: len(source.read_bytes()), repeats)
    data = source.read_bytes()
    hash_s = median_seconds(lambda: hashlib.sha256(data).digest(), repeats)
    return [
        f"| sha256 of {size_mb} MB in memory (hashing floor) | {size_mb / hash_s:.0f} MB/s | — |",
        f"| put {size_mb} MB (hash + fsync + rename) | {size_mb / put_s:.0f} MB/s | "
        f"{put_s / floor:.2f}× fsynced copy |",
        f"| iter_chunks {size_mb} MB (read + verify) | {size_mb / get_s:.0f} MB/s | "
        f"{get_s / read_floor:.2f}× plain read |",
    ]


def small_puts(workdir: Path, count: int) -> list[str]:
    rows = []
    for durable in (True, False):
        store = LocalArtifactStore(workdir / f"small-{durable}", durable=durable)
        start = time.perf_counter()
        for i in range(count):
            store.put_json(f"runs/r/s/{i}.json", {"i": i})
        per = (time.perf_counter() - start) / count
        rows.append(f"| put_json small, durable={durable} | {per * 1e6:.0f} µs/put | — |")
    return rows


def scaling(workdir: Path, sizes: list[int], repeats: int) -> list[str]:
    """list() and an overwrite (which GCs the old bytes) read every index record: linear."""
    rows, base = [], None
    for size in sizes:
        store = LocalArtifactStore(workdir / f"scale-{size}", durable=False)
        for i in range(size):
            store.put(f"runs/r{i % 10}/s/{i}.bin", i.to_bytes(8))
        list_s = median_seconds(store.list, repeats)
        flip = iter(range(10**9))

        def overwrite(store: LocalArtifactStore = store, flip: Any = flip) -> None:
            store.put("runs/r0/s/0.bin", next(flip).to_bytes(8) + b"x")

        overwrite_s = median_seconds(overwrite, repeats)
        per_key = list_s / size
        base = base or per_key
        rows.append(f"| list() / overwrite at {size:,} keys | {list_s * 1e3:.1f} ms / "
                    f"{overwrite_s * 1e3:.1f} ms | {per_key / base:.2f}× per-key cost at "
                    f"{sizes[0]:,} |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--size-mb", type=int, default=64)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        rows = [
            *throughput(workdir, args.size_mb, args.repeats),
            *small_puts(workdir, 300),
            *scaling(workdir, [1000, 4000], args.repeats),
        ]
    print("| benchmark | result | vs floor |\n|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
