"""Data steps (spec §3): a SQLite source → pandas transform → SQLite sink run, recorded, against
the same work written by hand with pandas and sqlite3; and an incremental re-run that finds 1%
new rows.

    python bench/bench_data_steps.py --rows 500000 --repeats 3
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

import pandas as pd

from engine import IncrementalConfig, IncrementalCursors, Step, Workflow, start_run


def make_source(path: Path, rows: int, start: int = 0) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS trades (id INTEGER PRIMARY KEY, ticker TEXT, "
                     "qty INTEGER, price REAL)")
        conn.executemany("INSERT INTO trades VALUES (?, ?, ?, ?)",
                         ((i, f"T{i % 500}", i % 100 + 1, 10.0 + (i % 997) / 10)
                          for i in range(start, start + rows)))


def notional(df: pd.DataFrame) -> pd.DataFrame:
    return df.assign(notional=df["qty"] * df["price"])


def workflow(folder: Path, chunk_size: int | None, incremental: bool) -> Workflow:
    return Workflow(name=f"bench.data.{chunk_size}.{incremental}", steps=[
        Step.source("extract", connection=str(folder / "src.db"), table="trades",
                    chunk_size=chunk_size,
                    incremental=IncrementalConfig(cursor_field="id") if incremental else None),
        Step.transform("notional", notional, chunk_size=chunk_size),
        Step.sink("load", connection=str(folder / "dw.db"), table="trades_out",
                  write_mode="replace" if not incremental else "append", chunk_size=chunk_size),
    ])


def by_hand(folder: Path) -> None:
    with sqlite3.connect(folder / "src.db") as src:
        df = pd.read_sql_query("SELECT * FROM trades", src)
    out = notional(df)
    conn = sqlite3.connect(folder / "dw_hand.db")
    with conn:
        conn.execute("DROP TABLE IF EXISTS trades_out")
        out.to_sql("trades_out", conn, index=False)
    conn.close()


def timed(fn: object, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        db = folder / "spine.db"
        os.environ["SPINE_DB"] = str(db)
        make_source(folder / "src.db", args.rows)

        def run(wf: Workflow) -> None:
            result = start_run(wf, db=db).wait()
            assert str(result.status) == "completed", result.error

        hand = timed(lambda: by_hand(folder), args.repeats)
        whole = timed(lambda: run(workflow(folder, None, False)), args.repeats)
        chunked = timed(lambda: run(workflow(folder, 100_000, False)), args.repeats)
        print(f"{args.rows:,} rows, median of {args.repeats}")
        print(f"  by hand (pandas read_sql, to_sql):  {hand * 1000:8.0f} ms")
        print(f"  data steps, whole table:            {whole * 1000:8.0f} ms "
              f"({whole / hand:.2f}x by hand)")
        print(f"  data steps, 100,000-row chunks:     {chunked * 1000:8.0f} ms "
              f"({chunked / hand:.2f}x by hand)")

        inc = workflow(folder, 100_000, True)
        run(inc)  # first run reads everything and sets the cursor
        new = max(1, args.rows // 100)
        reruns = []
        for n in range(args.repeats):
            make_source(folder / "src.db", new, start=args.rows + n * new)
            began = time.perf_counter()
            run(inc)
            reruns.append(time.perf_counter() - began)
        cursor = IncrementalCursors(db).get(inc.name + ".extract").value
        assert cursor == args.rows + args.repeats * new - 1, cursor
        print(f"  incremental re-run, {new:,} new rows: {statistics.median(reruns) * 1000:8.0f} ms")


if __name__ == "__main__":
    main()
