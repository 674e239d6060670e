import asyncio
import json
from engine import LocalProcessAdapter
from engine import ContainerJobSpec
from engine import RuntimeAdapterRouter
from engine import JobEngine
from engine import ContainerRunnable, _DEFAULT_IMAGE
from engine import Workflow, Step


async def run_container_pipeline():
    """Execute a multi-step financial pipeline using containers."""

    # ── Set up adapter stack ──
    adapter = LocalProcessAdapter()
    router = RuntimeAdapterRouter()
    router.register(adapter)

    # ── Step 1: Fetch market data (container job) ──
    fetch_spec = ContainerJobSpec(
        name="fetch-market-data",
        image="spine-pipeline:latest",  # Ignored by LocalProcessAdapter
        command=["python", "-c", """
import json, random
data = {
    "tickers": ["AAPL", "MSFT", "NVDA", "AMZN"],
    "prices": {t: round(random.uniform(100, 500), 2)
               for t in ["AAPL", "MSFT", "NVDA", "AMZN"]},
    "timestamp": "2026-02-16T16:00:00Z",
}
print(json.dumps(data))
        """],
        env={
            "SPINE_PARAM_SOURCE": "market_feed",
            "SPINE_PARAM_DATE": "2026-02-16",
            "SPINE_ENV": "development",
            # Database credentials passed as env vars to container
            "PGHOST": "host.docker.internal",
            "PGPORT": "5447",
            "PGDATABASE": "sec_dev_data",
            "PGUSER": "postgres",
            "PGPASSWORD": "spine",  # In prod: secret:vault:db_password
        },
        labels={
            "spine.pipeline": "market.fetch",
            "spine.domain": "market_data",
        },
        timeout_seconds=60,
    )

    print("=" * 60)
    print("Submitting: fetch-market-data")
    ref = await adapter.submit(fetch_spec)
    status = await adapter.status(ref)
    print(f"  State: {status.state}")
    print(f"  Exit code: {status.exit_code}")

    # Collect output
    logs = []
    async for line in adapter.logs(ref):
        logs.append(line)
    output = "".join(logs).strip()
    print(f"  Output: {output[:100]}...")
    await adapter.cleanup(ref)

    # ── Step 2: Calculate returns (another container job) ──
    calc_spec = ContainerJobSpec(
        name="calc-returns",
        image="spine-analytics:latest",
        command=["python", "-c", """
import json
prices = {"AAPL": 245.50, "MSFT": 420.30, "NVDA": 890.10, "AMZN": 195.60}
prev =   {"AAPL": 242.00, "MSFT": 415.00, "NVDA": 875.00, "AMZN": 192.00}
returns = {t: round((prices[t]/prev[t] - 1) * 100, 3) for t in prices}
print(json.dumps({"returns_pct": returns, "avg_return": round(sum(returns.values())/len(returns), 3)}))
        """],
        env={"SPINE_ENV": "development"},
        timeout_seconds=30,
    )

    print("\nSubmitting: calc-returns")
    ref2 = await adapter.submit(calc_spec)
    status2 = await adapter.status(ref2)
    logs2 = []
    async for line in adapter.logs(ref2):
        logs2.append(line)
    print(f"  State: {status2.state}")
    print(f"  Output: {''.join(logs2).strip()}")
    await adapter.cleanup(ref2)

    # ── Workflow definition for the same pipeline ──
    # When using WorkflowRunner + ContainerRunnable, you define
    # the workflow declaratively and the runner handles submission:
    wf = Workflow(
        name="market.daily_pipeline",
        steps=[
            Step.pipeline("fetch", "market.fetch_data"),
            Step.pipeline("calculate", "market.calc_returns", depends_on=("fetch",)),
            Step.pipeline("store", "market.store_results", depends_on=("calculate",)),
        ],
        domain="market_data",
        tags=["daily", "containerized"],
    )

    # Image resolver maps pipeline names to container images
    IMAGE_MAP = {
        "market.fetch_data": "spine-pipeline:latest",
        "market.calc_returns": "spine-analytics:latest",
        "market.store_results": "spine-pipeline:latest",
    }

    print(f"\nWorkflow '{wf.name}' — {len(wf.steps)} steps")
    for name in wf.pipeline_names():
        print(f"  {name:30s} → {IMAGE_MAP.get(name, _DEFAULT_IMAGE)}")

    print("\n" + "=" * 60)
    print("Container pipeline complete!")

asyncio.run(run_container_pipeline())
