"""Run a command as an isolated local process job, no Docker needed (spec example A1).

``jobs.data_transform`` is a ``Step.pipeline`` that ``ContainerRunnable`` runs through a
``JobEngine`` on a ``LocalProcessAdapter``: a Python script in its own process group that
sees only the environment its job gives it (``SPINE_ENV`` here, never the engine's own
variables). The last line it prints is JSON, and that line is the step's output, so the
next step reads ``processed`` like any other earlier output. Pass ``records=N`` as a run
param and the job reads it from ``SPINE_PARAM_RECORDS``.
"""

from __future__ import annotations

from engine import (
    ContainerRunnable,
    JobEngine,
    LocalProcessAdapter,
    RuntimeAdapterRouter,
    Step,
    Workflow,
)
from sample_workflows._common import run_and_show

TRANSFORM = """
import json, os
records = int(os.environ.get("SPINE_PARAM_RECORDS", "42"))
print(f"transforming {records} records ({os.environ['SPINE_ENV']})")
print(json.dumps({"processed": records, "status": "complete",
                  "sees_engine_env": "SPINE_DB" in os.environ}))
"""

# the adapter stack: one local adapter behind a router, behind the engine facade
adapter = LocalProcessAdapter()
router = RuntimeAdapterRouter()
router.register(adapter)
runnable = ContainerRunnable(JobEngine(router=router))
runnable.register("jobs.data_transform", ["python", "-c", TRANSFORM],
                  image="ignored-locally", env={"SPINE_ENV": "development"}, timeout_seconds=30)


def summarize(processed: int = 0, status: str = "") -> dict:
    """Report what the job did."""
    return {"summary": f"{processed} records {status}", "ok": status == "complete"}


wf = Workflow(
    name="jobs.local_process",
    steps=[
        Step.pipeline("transform", "jobs.data_transform",
                      description="A Python script run as an isolated local process"),
        Step.from_function("summarize", summarize),
    ],
    domain="examples",
    description="Run a step as a local process job and use its JSON output downstream",
    tags=["advanced", "jobs", "local-process"],
)

if __name__ == "__main__":
    run_and_show(wf)
