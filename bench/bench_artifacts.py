"""Artifact store benchmarks: streaming throughput against a plain file copy, small-put latency
(durable vs not), and how listing / overwrite GC scale with the number of keys.

Run ``.venv/bin/python bench/bench_artifacts.py``; it prints a markdown table to paste into
bench/RESULTS.md. ``--backends`` compares the URL stores instead: local vs ``file://`` vs
``memory://`` vs ``s3://`` on a moto server on 127.0.0.1 (issue 12). Every figure is the median of ``--repeats`` runs; compare ratios, not times.
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


# ---------------------------------------------------------------------- URL stores (issue 12)
def _moto_bucket(bucket: str) -> tuple[Any, str]:
    """A moto S3 server in its own process on 127.0.0.1 (so it does not share this process's
    GIL), with ``bucket`` created; returns the process and its endpoint."""
    import socket
    import subprocess
    import urllib.request

    import boto3

    for name, value in {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():
        os.environ.setdefault(name, value)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p",
                             str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(endpoint + "/moto-api/", timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError("the moto server did not start within 30 s") from None
            time.sleep(0.1)
    os.environ["SPINE_S3_ENDPOINT_URL"] = endpoint
    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=bucket)
    return proc, endpoint


def _human(size: int) -> str:
    return f"{size // MB} MB" if size >= MB else f"{size // 1024} KB"


def backend_throughput(workdir: Path, sizes: list[int], repeats: int) -> list[str]:
    """put / get of one artifact per size on each backend, against the same bytes written and
    read raw on that backend (a plain file, or ``fs.pipe_file``/``fs.cat_file``): the floor."""
    from engine.artifacts import FsspecArtifactStore

    stores: dict[str, Any] = {
        "local (fsync)": LocalArtifactStore(workdir / "b-local"),
        "local (no fsync)": LocalArtifactStore(workdir / "b-nosync", durable=False),
        "fsspec file://": FsspecArtifactStore(f"file://{workdir}/b-file"),
        "memory://": FsspecArtifactStore("memory://bench-artifacts"),
        "s3:// (moto process, 127.0.0.1)": FsspecArtifactStore("s3://bench/artifacts"),
    }
    rows = []
    local = (1.0, 1.0)
    for size in sizes:
        data = os.urandom(size)
        for name in ["local (no fsync)", *(n for n in stores if n != "local (no fsync)")]:
            store = stores[name]  # the reference first: the other rows compare with it
            counter = iter(range(10**9))
            fs = getattr(store, "fs", None)
            raw_path = (f"{store.location.root}/raw.bin" if fs is not None
                        else str(workdir / "raw.bin"))

            def put(store: Any = store, counter: Any = counter, data: bytes = data) -> None:
                n = next(counter)  # a unique prefix: nothing dedupes in the local store
                store.put_stream(f"bench/{n}.bin", [n.to_bytes(8), data])

            def raw_write(fs: Any = fs, path: str = raw_path, data: bytes = data) -> None:
                if fs is not None:
                    fs.pipe_file(path, data)
                else:
                    Path(path).write_bytes(data)

            def raw_read(fs: Any = fs, path: str = raw_path) -> int:
                return len(fs.cat_file(path) if fs is not None else Path(path).read_bytes())

            ref = store.put("bench/read.bin", data)
            put_s = median_seconds(put, repeats)
            get_s = median_seconds(lambda store=store, ref=ref: store.get(ref), repeats)
            if name == "local (no fsync)":
                local = (put_s, get_s)
            raw = "—"  # memory's raw write stores a pointer: no meaningful floor
            if name.startswith(("s3", "fsspec")):
                raw_write()
                raw = (f"{put_s / median_seconds(raw_write, repeats):.2f}× / "
                       f"{get_s / median_seconds(raw_read, repeats):.2f}×")
            mb = size / MB
            rows.append(f"| {_human(size)} | {name} | {mb / put_s:.1f} MB/s | "
                        f"{mb / get_s:.1f} MB/s | {put_s / local[0]:.2f}× / "
                        f"{get_s / local[1]:.2f}× | {raw} |")
    return rows


def small_put_latency(count: int) -> list[str]:
    """put_json + get_json of a tiny record and a prefix listing, per URL backend, against one
    raw request (``fs.pipe_file`` / ``fs.cat_file``) on the same backend."""
    from engine.artifacts import FsspecArtifactStore

    rows = []
    for name, url in (("memory://", "memory://bench-small"),
                      ("s3:// (moto process)", "s3://bench/small")):
        store = FsspecArtifactStore(url)
        raw = f"{store.location.root}/raw.json"
        raw_put = median_seconds(lambda store=store, raw=raw: store.fs.pipe_file(raw, b"{}"), 51)
        raw_get = median_seconds(lambda store=store, raw=raw: store.fs.cat_file(raw), 51)
        puts, gets = [], []
        for i in range(count):
            start = time.perf_counter()
            ref = store.put_json(f"runs/r/s/{i}.json", {"i": i})
            puts.append(time.perf_counter() - start)
            start = time.perf_counter()
            store.get_json(ref)
            gets.append(time.perf_counter() - start)
        put_s, get_s = statistics.median(puts), statistics.median(gets)
        list_s = median_seconds(lambda store=store: store.list(prefix="runs/r/"), 3)
        rows.append(f"| small JSON, {name} | put {put_s * 1e3:.2f} ms ({put_s / raw_put:.1f}× "
                    f"one raw PUT), get {get_s * 1e3:.2f} ms ({get_s / raw_get:.1f}× one raw "
                    f"GET) | list of {count} keys {list_s * 1e3:.0f} ms |")
    return rows


def main_backends(repeats: int) -> None:
    proc, _ = _moto_bucket("bench")
    try:
        small = small_put_latency(300)
        with tempfile.TemporaryDirectory() as tmp:
            rows = backend_throughput(Path(tmp), [64 * 1024, MB, 16 * MB, 64 * MB], repeats)
    finally:
        proc.terminate()
        proc.wait(10)
    print("| size | backend | put | get (verified) | put / get time vs local store (no "
          "fsync) | put / get time vs one raw write / read on the same backend |\n"
          "|---|---|---|---|---|---|")
    print("\n".join(rows))
    print("\n| benchmark | per artifact | listing |\n|---|---|---|")
    print("\n".join(small))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--size-mb", type=int, default=64)
    parser.add_argument("--backends", action="store_true",
                        help="compare local, file://, memory:// and s3:// (moto) stores instead")
    args = parser.parse_args()
    if args.backends:
        main_backends(args.repeats)
        return
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
