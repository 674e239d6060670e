"""API fixtures: a quick run, a slow one that logs as it goes, one that writes an artifact,
and one that fails until a marker file exists (to retry it)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from engine import EventTrigger, FileSource, Step, StepResult, WebhookSource, Workflow


def greet(name: str = "api") -> dict:
    return {"greeting": f"hello {name}"}


def tick(ctx, config):
    for i in range(int(ctx.params.get("ticks", 20))):
        print(f"tick {i}", flush=True)
        time.sleep(float(ctx.params.get("pause", 0.1)))
    return StepResult.ok(output={"ticks": int(ctx.params.get("ticks", 20))})


def write_report(ctx, config):
    ref = ctx.artifact_store.put(f"runs/{ctx.run_id}/report.bin", os.urandom(300_000),
                                 run_id=ctx.run_id, step="report")
    return StepResult.ok(output={"report": ref})


def flaky(ctx, config):
    marker = Path(os.environ.get("SPINE_HOME", ".")) / "fixed"
    if not marker.exists():
        return StepResult.fail(f"{marker} does not exist yet")
    return StepResult.ok(output={"fixed": True})


hello = Workflow("api.hello", steps=[Step.from_function("greet", greet)], domain="testing")
slow = Workflow("api.slow", steps=[Step.lambda_("first", tick), Step.lambda_("second", tick)],
                domain="testing")
report = Workflow("api.report", steps=[Step.lambda_("report", write_report)], domain="testing")
flaky_flow = Workflow("api.flaky", steps=[Step.from_function("greet", greet),
                                          Step.lambda_("check", flaky)], domain="testing")


hello_hook = EventTrigger(
    "hello-hook", WebhookSource(secret="SPINE_TEST_HOOK_SECRET"), "api.hello",
    param_mapping={"name": "$.user.name"}, filter="$.action == 'greet'")
inbox = EventTrigger(
    "hello-inbox", FileSource(os.environ.get("SPINE_TEST_INBOX", "inbox"), pattern="*.txt"),
    "api.hello", param_mapping={"name": "$.name"})

nightly = Workflow("api.nightly", steps=[Step.from_function("greet", greet)], domain="testing",
                   schedule="CRON_TZ=Europe/Paris 0 3 * * *")
