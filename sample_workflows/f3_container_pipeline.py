"""A daily market-data pipeline whose steps are container jobs, run as local processes
(spec example F3).

``market.fetch_data``, ``market.calc_returns`` and ``market.store_results`` are
``Step.pipeline`` steps that a ``ContainerRunnable`` runs through a ``JobEngine`` on a
``LocalProcessAdapter`` — swap in a ``DockerAdapter`` and the images in ``IMAGE_MAP`` run
for real, with no change to the workflow. Each job gets its inputs from ``SPINE_INPUT``
(params and earlier outputs as JSON) and its own env (``SPINE_ENV``), never the engine's.
``fetch`` and ``calculate`` answer with their last stdout line; ``store`` writes the day's
returns to SQLite and answers with the JSON file it declares (``output_file``).
"""

from __future__ import annotations

from datetime import date

from engine import (
    ContainerRunnable,
    JobEngine,
    LocalProcessAdapter,
    RuntimeAdapterRouter,
    Step,
    Workflow,
)
from sample_workflows._common import run_and_show, scratch_path

CLOSE = {"AAPL": 245.50, "MSFT": 420.30, "NVDA": 890.10, "AMZN": 195.60}
PREVIOUS_CLOSE = {"AAPL": 242.00, "MSFT": 415.00, "NVDA": 875.00, "AMZN": 192.00}

FETCH = f"""
import json, os
prices = {CLOSE!r}
inputs = json.loads(os.environ["SPINE_INPUT"])
print(f"fetched {{len(prices)}} closes from {{os.environ['SPINE_PARAM_SOURCE']}}")
print(json.dumps({{"tickers": sorted(prices), "prices": prices,
                  "trade_date": inputs["outputs"]["plan"]["trade_date"]}}))
"""

CALC = f"""
import json, os
inputs = json.loads(os.environ["SPINE_INPUT"])
prices = inputs["outputs"]["fetch"]["prices"]
prev = {PREVIOUS_CLOSE!r}
returns = {{t: round((prices[t] / prev[t] - 1) * 100, 3) for t in sorted(prices)}}
print(json.dumps({{"returns_pct": returns,
                  "avg_return": round(sum(returns.values()) / len(returns), 3)}}))
"""

STORE = """
import json, os, sqlite3
inputs = json.loads(os.environ["SPINE_INPUT"])
plan, returns = inputs["outputs"]["plan"], inputs["outputs"]["calculate"]["returns_pct"]
conn = sqlite3.connect(plan["db_path"])
with conn:
    conn.execute("CREATE TABLE IF NOT EXISTS daily_returns (trade_date TEXT, ticker TEXT, "
                 "return_pct REAL, PRIMARY KEY (trade_date, ticker))")
    conn.executemany("INSERT OR REPLACE INTO daily_returns VALUES (?, ?, ?)",
                     [(plan["trade_date"], t, r) for t, r in returns.items()])
    rows = conn.execute("SELECT COUNT(*) FROM daily_returns").fetchone()[0]
conn.close()
print(f"stored {len(returns)} returns for {plan['trade_date']}")
with open("stored.json", "w") as f:
    json.dump({"stored": len(returns), "table_rows": rows, "db_path": plan["db_path"]}, f)
"""

# Image resolver maps pipeline names to container images (used by a DockerAdapter)
IMAGE_MAP = {
    "market.fetch_data": "spine-pipeline:latest",
    "market.calc_returns": "spine-analytics:latest",
    "market.store_results": "spine-pipeline:latest",
}

router = RuntimeAdapterRouter()
router.register(LocalProcessAdapter())
runnable = ContainerRunnable(JobEngine(router=router), image_resolver=IMAGE_MAP,
                             env={"SPINE_ENV": "development"}, timeout_seconds=60)
runnable.register("market.fetch_data", ["python", "-c", FETCH],
                  labels={"spine.domain": "market_data"})
runnable.register("market.calc_returns", ["python", "-c", CALC])
runnable.register("market.store_results", ["python", "-c", STORE], output_file="stored.json")


def plan(trade_date: str = "2026-02-16", db_path: str = "") -> dict:
    """The trading day to process and where its returns are stored."""
    date.fromisoformat(trade_date)  # a bad date fails here, before any job starts
    return {"trade_date": trade_date,
            "db_path": db_path or str(scratch_path("market_returns.db"))}


wf = Workflow(
    name="market.daily_pipeline",
    steps=[
        Step.from_function("plan", plan),
        Step.pipeline("fetch", "market.fetch_data", config={"source": "market_feed"}),
        Step.pipeline("calculate", "market.calc_returns", depends_on=("fetch",)),
        Step.pipeline("store", "market.store_results", depends_on=("calculate",)),
    ],
    domain="market_data",
    description="Fetch closes, compute returns and store them, each step a process job",
    tags=["daily", "containerized", "financial"],
)

if __name__ == "__main__":
    run_and_show(wf)
