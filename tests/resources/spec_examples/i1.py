from datetime import UTC, datetime
from engine import TemporalEnvelope
from engine import QualityCheck, QualityCategory, QualityResult, QualityStatus
from engine import Workflow, Step, StepResult
from engine import WorkflowContext

def fetch_10k(ctx: WorkflowContext, config: dict) -> StepResult:
    """Fetch 10-K filing and wrap with temporal semantics."""
    cik = config.get("cik", "0000320193")
    now = datetime.now(UTC)

    envelope = TemporalEnvelope(
        event_time=datetime(2025, 11, 1, tzinfo=UTC),     # Filing date
        publish_time=datetime(2025, 11, 2, tzinfo=UTC),    # EDGAR publish
        ingest_time=now,                                    # Our capture
        payload={"cik": cik, "revenue": 391e9, "net_income": 97e9},
    )
    return StepResult.ok(output={
        "envelope": envelope.__dict__,
        "filing_type": "10-K",
    })

def quality_gate(ctx: WorkflowContext, config: dict) -> StepResult:
    """Validate filing data quality."""
    envelope = ctx.get_output("fetch_10k")
    payload = envelope.get("envelope", {}).get("payload", {})

    if not payload.get("revenue"):
        return StepResult.fail("Missing revenue", category="DATA_QUALITY")
    if not payload.get("net_income"):
        return StepResult.fail("Missing net_income", category="DATA_QUALITY")
    return StepResult.ok(output={"quality": "passed", "fields_checked": 2})

wf = Workflow(
    name="sec.10k_etl",
    domain="sec",
    steps=[
        Step.lambda_("fetch_10k", fetch_10k, config={"cik": "0000320193"}),
        Step.lambda_("quality_gate", quality_gate),
        Step.pipeline("normalize", "sec.normalize_filing"),
        Step.pipeline("store", "sec.store_filing"),
    ],
    tags=["sec", "10-K", "etl"],
)

# Production: run with TrackedWorkflowRunner for persistence + idempotency
# runner = TrackedWorkflowRunner(conn, runnable=dispatcher)
# result = runner.execute(wf, partition={"cik": "0000320193", "year": "2025"})
