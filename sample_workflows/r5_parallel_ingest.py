"""Parallel Bronze, sequential Silver and Gold: spec R5's process-pool loader as a workflow.

``expand`` turns years into quarters; ``bronze`` loads each quarter on its own (fan-out, at
most 4 at a time: ``parallel=True, partition_key="quarter", max_workers=4``); ``silver``
deduplicates across every Bronze file (single writer); ``gold`` computes per-company ratios
from the complete Silver table. Run it on worker processes with
``spine-engine run finance.parallel_ingest --executor processes`` (or ``--executor dask``);
the default ``threads`` executor gives the same result.

The data is generated, small and deterministic: each quarter files four facts (revenue, net
income, assets, liabilities) for 25 companies, and re-files about a tenth of the previous
quarter's facts as amendments with a later filing date and a corrected value; Silver keeps
the latest filing of each (company, tag, period). Files go under ``data_dir`` (a run param;
default the samples' scratch folder). Only the imports changed from the spec's code, plus the
description and tags every bundled sample carries.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
from pathlib import Path
from typing import Any

from engine import ManagedWorkflow
from sample_workflows._common import scratch_path

COMPANIES = 25
TAGS = ("Revenues", "NetIncomeLoss", "Assets", "Liabilities")
AMENDED_SHARE = 0.1


def _folder(data_dir: str | None) -> Path:
    folder = Path(data_dir) if data_dir else scratch_path("r5_parallel_ingest")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def expand_years_to_quarters(years: list[int]) -> dict[str, Any]:
    """Every quarter of ``years``, in order ("2020Q1", ...)."""
    quarters = [f"{int(year)}Q{q}" for year in sorted(years) for q in range(1, 5)]
    return {"quarters": quarters, "quarter_count": len(quarters)}


def _previous(quarter: str) -> str:
    year, q = int(quarter[:4]), int(quarter[-1])
    return f"{year - 1}Q4" if q == 1 else f"{year}Q{q - 1}"


def _facts(quarter: str, filed: str) -> list[dict[str, Any]]:
    """The quarter's original filings: deterministic per quarter."""
    rng = random.Random(f"facts-{quarter}")
    rows = []
    for c in range(COMPANIES):
        cik = f"{1000 + c:010d}"
        revenue = round(rng.uniform(50.0, 500.0), 2)
        assets = round(rng.uniform(200.0, 2000.0), 2)
        values = {"Revenues": revenue,
                  "NetIncomeLoss": round(revenue * rng.uniform(-0.1, 0.3), 2),
                  "Assets": assets,
                  "Liabilities": round(assets * rng.uniform(0.2, 0.9), 2)}
        rows += [{"cik": cik, "tag": tag, "period": quarter, "value": values[tag],
                  "filed": filed} for tag in TAGS]
    return rows


def load_bronze_quarter(quarter: str, data_dir: str | None = None) -> dict[str, Any]:
    """Bronze: write the quarter's raw filings (its own facts and amendments of the previous
    quarter's) to ``bronze/<quarter>.jsonl``; nothing shared, so quarters load in parallel."""
    rows = _facts(quarter, filed=f"{quarter}-original")
    rng = random.Random(f"amend-{quarter}")
    earlier = _facts(_previous(quarter), filed="")
    amended = rng.sample(earlier, int(len(earlier) * AMENDED_SHARE))
    for row in amended:
        rows.append({**row, "value": round(row["value"] * 1.05, 2),
                     "filed": f"{quarter}-amendment"})
    path = _folder(data_dir) / "bronze" / f"{quarter}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row) + "\n")
    return {"quarter": quarter, "rows": len(rows), "amendments": len(amended),
            "path": str(path), "pid": os.getpid()}


def run_silver_layer(results: list[dict[str, Any]],
                     data_dir: str | None = None) -> dict[str, Any]:
    """Silver: every Bronze file into one table, keeping the latest filing of each
    (company, tag, period); sequential because deduplication must see all of Bronze."""
    latest: dict[tuple[str, str, str], dict[str, Any]] = {}
    read = 0
    for load in sorted(results, key=lambda r: r["quarter"]):
        with open(load["path"], encoding="utf-8") as rows:
            for line in rows:
                row = json.loads(line)
                read += 1
                key = (row["cik"], row["tag"], row["period"])
                kept = latest.get(key)
                if kept is None or _filed_order(row["filed"]) > _filed_order(kept["filed"]):
                    latest[key] = row
    db = _folder(data_dir) / "silver.db"
    with sqlite3.connect(db) as conn:
        conn.execute("DROP TABLE IF EXISTS facts")
        conn.execute("CREATE TABLE facts (cik TEXT, tag TEXT, period TEXT, value REAL, "
                     "filed TEXT, PRIMARY KEY (cik, tag, period))")
        conn.executemany("INSERT INTO facts VALUES (:cik, :tag, :period, :value, :filed)",
                         latest.values())
    conn.close()
    return {"silver_db": str(db), "bronze_rows": read, "silver_rows": len(latest),
            "duplicates_removed": read - len(latest)}


def _filed_order(filed: str) -> tuple[str, int]:
    """Amendments filed in a later quarter supersede the original; "" (never filed) is oldest."""
    quarter, _, kind = filed.partition("-")
    return quarter, 1 if kind == "amendment" else 0


def run_gold_analytics(silver_db: str) -> dict[str, Any]:
    """Gold: net margin and leverage per company and quarter from the complete Silver table."""
    with sqlite3.connect(silver_db) as conn:
        conn.execute("DROP TABLE IF EXISTS ratios")
        conn.execute("""
            CREATE TABLE ratios AS
            SELECT cik, period,
                   MAX(CASE WHEN tag = 'NetIncomeLoss' THEN value END)
                     / MAX(CASE WHEN tag = 'Revenues' THEN value END) AS net_margin,
                   MAX(CASE WHEN tag = 'Liabilities' THEN value END)
                     / MAX(CASE WHEN tag = 'Assets' THEN value END) AS leverage
            FROM facts GROUP BY cik, period
            HAVING COUNT(DISTINCT tag) = 4""")
        rows, companies, margin = conn.execute(
            "SELECT COUNT(*), COUNT(DISTINCT cik), AVG(net_margin) FROM ratios").fetchone()
    conn.close()
    return {"gold_rows": rows, "companies": companies, "avg_net_margin": round(margin, 6)}


parallel_load = (
    ManagedWorkflow("finance.parallel_ingest", domain="finance",
                    description="Load Bronze quarters in parallel, then Silver and Gold in order",
                    tags=["real-world", "parallel", "fan-out", "executors"])
    .step("expand", expand_years_to_quarters, config={"years": [2020, 2021, 2022]})
    .step("bronze", load_bronze_quarter,
          parallel=True,                    # Fan-out: one worker per partition
          partition_key="quarter",
          max_workers=4)
    .step("silver", run_silver_layer)       # Fan-in: sequential after all Bronze done
    .step("gold", run_gold_analytics)
    .build()
)

if __name__ == "__main__":
    # Run as `python -m`, this file is __main__, whose functions a worker process cannot
    # import; the package's own copy of the module can be, so run that one's workflow.
    import importlib

    from engine import WorkflowRunner, format_result

    module = importlib.import_module("sample_workflows.r5_parallel_ingest")
    result = WorkflowRunner(executor="processes").execute(module.parallel_load.workflow)
    print(format_result(module.parallel_load.workflow, result))
