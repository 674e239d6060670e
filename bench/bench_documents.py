"""What parsing a filing costs (spec §11): ``parse_filing`` (lxml parse, sections, tables,
inline-XBRL facts), the cross-checks and the schema mapping, on the bundled 10-K and on a
large one built from it (its Item 8 statements repeated until the file is a few MB, the size
of a big filer's 10-K), plus the whole ``sec.filing_processor`` sample run in memory.

No target is set by the issue; these are reference figures (medians, GC paused).

    .venv/bin/python bench/bench_documents.py [--repeats 9] [--copies 60]
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from engine import WorkflowRunner, check_xbrl_totals, parse_filing
from engine.documents.extract import map_fields
from sample_workflows import SAMPLES_DIR

FILING = SAMPLES_DIR / "data" / "filings" / "northwind-10k-2025.htm"


def timed(fn: Callable[[], Any], repeats: int) -> float:
    """Median wall seconds of ``repeats`` calls with the GC paused."""
    times = []
    for _ in range(repeats):
        gc.collect()
        gc.disable()
        try:
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        finally:
            gc.enable()
    return statistics.median(times)


def large_filing(copies: int) -> bytes:
    """The bundled filing with its Item 8 statements repeated (fact ids made unique)."""
    text = FILING.read_text(encoding="utf-8")
    start = text.index('<p style="text-align:center;font-weight:bold">NORTHWIND ANALYTICS, INC.')
    end = text.index('<p style="font-weight:bold">Item 9.')
    block = text[start:end]
    repeated = "".join(block.replace('id="f-', f'id="c{n}f-').replace('id="b-', f'id="c{n}b-')
                       for n in range(copies))
    return (text[:start] + repeated + text[end:]).encode("utf-8")


def report(name: str, seconds: float, size: int, facts: int) -> None:
    print(f"| {name} | {size / 1e6:.2f} MB | {facts:,} | {seconds * 1e3:.1f} ms | "
          f"{size / 1e6 / seconds:.1f} MB/s | {facts / seconds:,.0f} facts/s |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--copies", type=int, default=60)
    args = parser.parse_args()
    print(f"{date.today()} · {platform.processor() or platform.machine()} · "
          f"{os.cpu_count()} CPUs · Python {sys.version.split()[0]} · repeats {args.repeats}\n")
    parse_filing(FILING)  # load lxml and warm the caches once

    small = FILING.read_bytes()
    big = large_filing(args.copies)
    print("| input | size | facts | parse_filing | throughput | facts |")
    print("|---|---|---|---|---|---|")
    for name, data in (("bundled 10-K", small), (f"Item 8 × {args.copies}", big)):
        parsed = parse_filing(data)
        report(name, timed(lambda d=data: parse_filing(d), args.repeats), len(data),
               len(parsed.facts))

    parsed = parse_filing(big)
    tables = list(parsed.tables)
    checks = timed(lambda: check_xbrl_totals(tables, parsed.facts), args.repeats)
    findings = check_xbrl_totals(tables, parsed.facts)
    mapping = timed(lambda: map_fields(parsed.chunks, parsed.facts, parsed.fiscal_year),
                    args.repeats)
    print(f"\ncross-checks on Item 8 × {args.copies}: {len(findings):,} findings in "
          f"{checks * 1e3:.1f} ms; schema mapping {mapping * 1e3:.1f} ms")

    from sample_workflows import filing_extraction

    with tempfile.TemporaryDirectory() as folder:
        db = str(Path(folder) / "f.db")
        runner = WorkflowRunner()
        whole = timed(lambda: runner.execute(filing_extraction.wf, {"db_path": db}), args.repeats)
    print(f"sec.filing_processor on the bundled 10-K (8 steps, in memory): {whole * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
