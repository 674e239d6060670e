import asyncio
from engine import LocalProcessAdapter
from engine import ContainerJobSpec
from engine import RuntimeAdapterRouter

async def demonstrate_failover():
    """Show runtime adapter routing with automatic failover."""

    # Register multiple adapters with priorities
    router = RuntimeAdapterRouter()

    # Primary: Docker (would fail if Docker not installed)
    # router.register(DockerAdapter(), priority=1)

    # Fallback: Local process (always works)
    local = LocalProcessAdapter()
    router.register(local, priority=2)

    # Submit jobs — router picks the highest-priority available adapter
    spec = ContainerJobSpec(
        name="resilient-etl",
        image="spine-pipeline:latest",
        command=["python", "-c", "print('Processed 1000 records')"],
        env={"PIPELINE": "sec.daily_ingest", "BATCH_DATE": "2025-01-15"},
        timeout_seconds=60,
    )

    # Even without Docker, the pipeline runs via LocalProcessAdapter
    ref = await local.submit(spec)
    status = await local.status(ref)

    print(f"Adapter used: LocalProcess")
    print(f"Job state: {status.state}")

    # Get capabilities to see what this adapter supports
    caps = local.capabilities
    print(f"Supports GPU: {caps.supports_gpu}")
    print(f"Supports volumes: {caps.supports_volumes}")
    print(f"Max timeout: {caps.max_timeout_seconds}s")

    await local.cleanup(ref)

asyncio.run(demonstrate_failover())
