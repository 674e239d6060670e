"""Route jobs across adapters and fail over when one is unavailable (spec example M3).

The router tries ``DockerAdapter`` first (priority 1) and ``LocalProcessAdapter`` second.
Without a Docker engine answering on its socket, the Docker adapter reports itself
unavailable and the job runs locally; with one whose registry has no ``spine-pipeline``
image, the pull fails and the job fails over the same way. The job prints which runtime
ran it (``SPINE_RUNTIME``) as its JSON output.
"""

from __future__ import annotations

from engine import (
    ContainerRunnable,
    DockerAdapter,
    JobEngine,
    LocalProcessAdapter,
    RuntimeAdapterRouter,
    Step,
    Workflow,
)
from sample_workflows._common import run_and_show

ETL = """
import json, os
print("Processed 1000 records")
print(json.dumps({"records": 1000, "pipeline": os.environ["PIPELINE"],
                  "batch_date": os.environ["BATCH_DATE"], "runtime": os.environ["SPINE_RUNTIME"]}))
"""

router = RuntimeAdapterRouter()
router.register(DockerAdapter(), priority=1)        # try Docker first
local = LocalProcessAdapter()
router.register(local, priority=2)                  # fall back to local processes
runnable = ContainerRunnable(JobEngine(router=router))
runnable.register("etl.resilient", ["python", "-c", ETL], image="spine-pipeline:latest",
                  env={"PIPELINE": "sec.daily_ingest", "BATCH_DATE": "2025-01-15"},
                  timeout_seconds=60)


def capabilities() -> dict:
    """What the local fallback can do."""
    caps = local.capabilities
    return {"supports_gpu": caps.supports_gpu, "supports_volumes": caps.supports_volumes,
            "max_timeout_seconds": caps.max_timeout_seconds,
            "adapters": [r.name for r in router.registrations]}


def report(records: int = 0, runtime: str = "") -> dict:
    """Which adapter ran the job."""
    return {"summary": f"{records} records via {runtime}", "fell_back": runtime == "local"}


wf = Workflow(
    name="jobs.adapter_failover",
    steps=[
        Step.from_function("capabilities", capabilities),
        Step.pipeline("resilient_etl", "etl.resilient"),
        Step.from_function("report", report),
    ],
    domain="ops",
    description="Run a job on the first available adapter: Docker if it answers, else local",
    tags=["mind-blowing", "jobs", "failover"],
)

if __name__ == "__main__":
    run_and_show(wf)
