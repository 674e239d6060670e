from engine import CircuitBreaker, CircuitOpenError
from engine import Workflow, Step, StepResult
from engine import RetryPolicy, ErrorPolicy

# Circuit breaker for external API
edgar_circuit = CircuitBreaker(
    name="sec_edgar",
    failure_threshold=3,
    recovery_timeout=60.0,
    success_threshold=2,
)

def fetch_with_protection(ctx, config) -> StepResult:
    """Fetch from EDGAR with circuit breaker protection."""
    if not edgar_circuit.allow_request():
        return StepResult.fail(
            "EDGAR API circuit open — backing off",
            category="DEPENDENCY",
        )
    try:
        # Simulate API call
        data = {"filings": [{"cik": "0000320193", "form": "10-K"}]}
        edgar_circuit.record_success()
        return StepResult.ok(output=data)
    except Exception as e:
        edgar_circuit.record_failure()
        return StepResult.fail(str(e), category="TRANSIENT")

wf = Workflow(
    name="protected.edgar_ingest",
    steps=[
        Step.lambda_(
            "fetch",
            fetch_with_protection,
            on_error=ErrorPolicy.RETRY,
            retry_policy=RetryPolicy(
                max_attempts=5,
                initial_delay_seconds=2.0,
                backoff_multiplier=2.0,
                retryable_categories=("TRANSIENT", "DEPENDENCY"),
            ),
        ),
        Step.pipeline("process", "sec.process_filings"),
    ],
)
