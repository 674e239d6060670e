"""Self-healing ingest: a breaker guards the data API, bad records go to the dead-letter queue, incidents become anomalies (spec M1).

What the spec leaves as comments is done for real, in the run store (``$SPINE_DB``): a fetch
refused by the open ``data_api`` breaker records a DEPENDENCY anomaly; ``validate``
quarantines each invalid record (no ``amount``) with ``DLQManager.add_to_dlq`` in the queue
``selfheal.bad_records``; ``post_mortem`` records a DATA_QUALITY anomaly when it opens an
incident. The batch comes from the run param ``data_api_url`` (JSON list of records over
HTTP), else a built-in batch of 500 records of which every 50th has no amount (2%).

``selfheal.reprocess`` repairs one quarantined record (its payload as params): replay the
queue through it with ``spine-engine dlq replay selfheal.bad_records --workflow
selfheal.reprocess`` or ``DLQManager().replay("selfheal.bad_records", reprocess)``.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from engine import (
    AnomalyCategory,
    AnomalyRecorder,
    CircuitBreaker,
    DLQManager,
    ErrorPolicy,
    RetryPolicy,
    Severity,
    Step,
    StepResult,
    Workflow,
    WorkflowContext,
)
from sample_workflows._common import run_and_show

QUARANTINE = "selfheal.bad_records"
BATCH_SIZE = 500
BAD_EVERY = 50  # every 50th built-in record has no amount: 2%
FETCH_TIMEOUT_SECONDS = 10.0

# Protect external dependency
api_circuit = CircuitBreaker(name="data_api", failure_threshold=3, recovery_timeout=30.0)
dlq = DLQManager()
anomalies = AnomalyRecorder()


def amount_of(record_id: int) -> float:
    """The amount the data API reports for a record (deterministic)."""
    return round(100 + (record_id * 37 % 900) / 10, 2)


def fetch_batch(url: str | None, size: int = BATCH_SIZE) -> list[dict[str, Any]]:
    """Records from the data API at ``url``, else the built-in batch."""
    if url:
        with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT_SECONDS) as response:
            batch: list[dict[str, Any]] = json.loads(response.read().decode("utf-8"))
        return batch
    return [{"id": i, "amount": None if i % BAD_EVERY == 0 else amount_of(i)}
            for i in range(1, size + 1)]


def self_healing_fetch(ctx: WorkflowContext, config: dict) -> StepResult:
    """Fetch with circuit breaker + anomaly recording."""
    if not api_circuit.allow_request():
        # Record anomaly for ops visibility
        anomalies.record(AnomalyCategory.DEPENDENCY, Severity.WARN,
                         f"{api_circuit.name} circuit open — fetch refused",
                         details={"breaker": api_circuit.name})
        return StepResult.fail("Circuit open — auto-healing initiated", category="DEPENDENCY")

    try:
        batch = fetch_batch(ctx.get_param("data_api_url"))
        data = {"records": len(batch), "source": "external_api", "batch": batch}
        api_circuit.record_success()
        return StepResult.ok(output=data)
    except Exception as e:
        api_circuit.record_failure()
        return StepResult.fail(f"API error: {e}", category="TRANSIENT")


def validate_or_quarantine(ctx: WorkflowContext, config: dict) -> StepResult:
    """Validate records, quarantine bad ones to DLQ."""
    records = ctx.get_output("fetch", "records", 0)
    batch = ctx.get_output("fetch", "batch", [])
    bad = [r for r in batch if not isinstance(r.get("amount"), int | float)]
    for record in bad:
        dlq.add_to_dlq(QUARANTINE, record, error=f"record {record.get('id')}: amount missing",
                       error_category="DATA_QUALITY")
    bad_records = len(bad)
    if bad_records > 0:
        return StepResult.ok(output={
            "valid": records - bad_records,
            "quarantined": bad_records,
            "quality_score": (records - bad_records) / records,
            "queue": QUARANTINE,
        })
    return StepResult.ok(output={"valid": records, "quarantined": 0, "quality_score": 1.0})


def post_mortem(ctx: WorkflowContext, config: dict) -> StepResult:
    """Auto-generate incident report from step failures."""
    quarantined = ctx.get_output("validate", "quarantined", 0)
    quality = ctx.get_output("validate", "quality_score", 1.0)
    report = {
        "incident_created": quarantined > 0,
        "severity": "P2" if quality < 0.95 else "P4",
        "auto_retry_eligible": quality >= 0.90,
    }
    if report["incident_created"]:
        anomaly = anomalies.record(
            AnomalyCategory.DATA_QUALITY, Severity.ERROR if quality < 0.95 else Severity.WARN,
            f"{quarantined} records quarantined in {QUARANTINE}",
            details={"quality_score": quality, **report})
        report["anomaly_id"] = anomaly.id
    return StepResult.ok(output=report)


def repair_record(id: int, amount: float | None = None) -> dict:
    """Fill a quarantined record's missing amount from the data API's reference values."""
    fixed = amount if isinstance(amount, int | float) else amount_of(int(id))
    return {"id": int(id), "amount": fixed, "repaired": amount is None}


wf = Workflow(
    name="selfheal.ingest",
    steps=[
        Step.lambda_("fetch", self_healing_fetch,
                     on_error=ErrorPolicy.RETRY,
                     retry_policy=RetryPolicy(max_attempts=5, backoff_multiplier=3.0)),
        Step.lambda_("validate", validate_or_quarantine),
        Step.lambda_("post_mortem", post_mortem),
    ],
    domain="ops",
    description="Fetch behind a breaker, quarantine bad records to the DLQ, record incidents",
    tags=["mind-blowing", "resilience", "dlq"],
)

reprocess = Workflow(
    name="selfheal.reprocess",
    steps=[Step.from_function("repair", repair_record)],
    domain="ops",
    description="Repair one quarantined record (replayed from the selfheal.bad_records DLQ)",
    tags=["resilience", "dlq"],
)

if __name__ == "__main__":
    run_and_show(wf)
    print(f"dead letters pending in {QUARANTINE}: {dlq.queues().get(QUARANTINE, 0)} "
          f"(store {dlq.store_path})")
