import asyncio
from engine import LocalProcessAdapter
from engine import ContainerJobSpec
from engine import JobEngine
from engine import RuntimeAdapterRouter
from engine import SpecValidator

async def run_local_job():
    """Execute a container spec as a local subprocess — no Docker needed."""

    # Set up the adapter stack
    adapter = LocalProcessAdapter()
    router = RuntimeAdapterRouter()
    router.register(adapter)

    # Create a job spec (image is ignored for local execution)
    spec = ContainerJobSpec(
        name="data-transform",
        image="ignored-locally",
        command=["python", "-c", """
import json
result = {"processed": 42, "status": "complete"}
print(json.dumps(result))
        """],
        env={"SPINE_ENV": "development"},
        timeout_seconds=30,
    )

    # Submit and wait
    ref = await adapter.submit(spec)
    status = await adapter.status(ref)
    print(f"Job state: {status.state}")
    print(f"Exit code: {status.exit_code}")

    # Collect logs
    logs = []
    async for line in adapter.logs(ref):
        logs.append(line)
    print(f"Output: {''.join(logs)}")

    # Cleanup
    await adapter.cleanup(ref)

asyncio.run(run_local_job())
