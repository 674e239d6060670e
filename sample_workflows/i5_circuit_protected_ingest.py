"""Circuit-protected API ingest: a circuit breaker kept in the run store guards the EDGAR fetch (spec I5).

The spec's "Simulate API call" is a real read here: ``call_edgar_api`` reads the filing index
from the run param ``edgar_source`` (a CSV path or an http(s) URL; default the bundled
``data/sec_filings.csv``), optionally only the rows of ``cik``. A source that cannot be read
is a TRANSIENT failure recorded on the ``sec_edgar`` breaker; after 3 in a row the breaker
opens for 60 s — in every process using the same run store (``$SPINE_DB``) — and the retries
fail at once with DEPENDENCY ("circuit open — backing off") until it lets a trial through;
2 trial successes close it. ``sec.process_filings``, the pipeline the spec's second step
names, is registered here: it counts the fetched filings per form and company.
"""

from __future__ import annotations

import csv
import io
import urllib.request
from collections import Counter
from typing import Any

from engine import (
    CircuitBreaker,
    ErrorPolicy,
    RetryPolicy,
    Step,
    StepResult,
    Workflow,
    WorkflowContext,
    register_pipeline,
)
from sample_workflows._common import data_file, run_and_show

FILINGS_CSV = data_file("sec_filings.csv")
FETCH_TIMEOUT_SECONDS = 10.0

# Circuit breaker for external API
edgar_circuit = CircuitBreaker(
    name="sec_edgar",
    failure_threshold=3,
    recovery_timeout=60.0,
    success_threshold=2,
)


def call_edgar_api(source: str, cik: str | None = None) -> dict[str, Any]:
    """The filings of the index at ``source`` (a path or URL), only ``cik``'s when given."""
    if source.startswith(("http://", "https://")):
        with urllib.request.urlopen(source, timeout=FETCH_TIMEOUT_SECONDS) as response:
            text = response.read().decode("utf-8")
    else:
        with open(source, encoding="utf-8", newline="") as f:
            text = f.read()
    rows = list(csv.DictReader(io.StringIO(text)))
    wanted = None if cik is None else str(cik).strip().lstrip("0")
    filings = [{"cik": row["cik"].strip().zfill(10), "form": row["form_type"].strip().upper(),
                "company": " ".join(row["company"].split()).upper()}
               for row in rows if wanted is None or row["cik"].strip().lstrip("0") == wanted]
    return {"filings": filings, "source": source}


def fetch_with_protection(ctx: WorkflowContext, config: dict) -> StepResult:
    """Fetch from EDGAR with circuit breaker protection."""
    if not edgar_circuit.allow_request():
        return StepResult.fail(
            "EDGAR API circuit open — backing off",
            category="DEPENDENCY",
        )
    try:
        data = call_edgar_api(ctx.get_param("edgar_source") or str(FILINGS_CSV),
                              ctx.get_param("cik"))
        edgar_circuit.record_success()
        return StepResult.ok(output=data)
    except Exception as e:
        edgar_circuit.record_failure()
        return StepResult.fail(str(e), category="TRANSIENT")


def process_filings(filings: list | None = None) -> dict:
    """Count the fetched filings per form type and company."""
    filings = filings or []
    return {"processed": len(filings),
            "by_form": dict(Counter(f["form"] for f in filings)),
            "companies": sorted({f["company"] for f in filings})}


register_pipeline("sec.process_filings", process_filings)

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
    domain="sec",
    description="Fetch the EDGAR filing index behind a shared circuit breaker, then count it",
    tags=["intermediate", "resilience", "circuit-breaker"],
)

if __name__ == "__main__":
    run_and_show(wf)
    print(f"breaker {edgar_circuit.name}: {edgar_circuit.state.value} "
          f"(store {edgar_circuit.store_path})")
