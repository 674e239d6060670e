from engine import DLQManager
from engine import CircuitBreaker
from engine import AnomalyRecorder, AnomalyCategory, Severity
from engine import Workflow, Step, StepResult
from engine import RetryPolicy, ErrorPolicy

# Protect external dependency
api_circuit = CircuitBreaker(name="data_api", failure_threshold=3, recovery_timeout=30.0)

def self_healing_fetch(ctx, config) -> StepResult:
    """Fetch with circuit breaker + anomaly recording."""
    if not api_circuit.allow_request():
        # Record anomaly for ops visibility
        return StepResult.fail("Circuit open — auto-healing initiated", category="DEPENDENCY")

    try:
        data = {"records": 500, "source": "external_api"}
        api_circuit.record_success()
        return StepResult.ok(output=data)
    except Exception as e:
        api_circuit.record_failure()
        return StepResult.fail(f"API error: {e}", category="TRANSIENT")

def validate_or_quarantine(ctx, config) -> StepResult:
    """Validate records, quarantine bad ones to DLQ."""
    records = ctx.get_output("fetch", "records", 0)
    bad_records = int(records * 0.02)  # 2% failure rate

    if bad_records > 0:
        # In production: DLQManager.add_to_dlq() for each bad record
        return StepResult.ok(output={
            "valid": records - bad_records,
            "quarantined": bad_records,
            "quality_score": (records - bad_records) / records,
        })
    return StepResult.ok(output={"valid": records, "quarantined": 0, "quality_score": 1.0})

def post_mortem(ctx, config) -> StepResult:
    """Auto-generate incident report from step failures."""
    quarantined = ctx.get_output("validate", "quarantined", 0)
    quality = ctx.get_output("validate", "quality_score", 1.0)
    return StepResult.ok(output={
        "incident_created": quarantined > 0,
        "severity": "P2" if quality < 0.95 else "P4",
        "auto_retry_eligible": quality >= 0.90,
    })

wf = Workflow(
    name="selfheal.ingest",
    steps=[
        Step.lambda_("fetch", self_healing_fetch,
                      on_error=ErrorPolicy.RETRY,
                      retry_policy=RetryPolicy(max_attempts=5, backoff_multiplier=3.0)),
        Step.lambda_("validate", validate_or_quarantine),
        Step.lambda_("post_mortem", post_mortem),
    ],
)
