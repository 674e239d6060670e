from datetime import datetime, UTC, timedelta
from engine import TemporalEnvelope, BiTemporalRecord

def build_temporal_filing_tracker():
    """Track SEC filings with full bi-temporal semantics."""
    now = datetime.now(UTC)

    # Original filing
    original = BiTemporalRecord(
        valid_from=datetime(2025, 9, 30, tzinfo=UTC),   # Fiscal quarter end
        valid_to=None,                                     # Still current
        system_from=datetime(2025, 11, 15, tzinfo=UTC),  # When we ingested
        system_to=None,                                    # Not superseded
        payload={"cik": "0000320193", "revenue": 391e9, "eps": 1.52},
        version=1,
    )

    # Amendment arrives — supersedes original
    amended = original.supersede(
        new_payload={"cik": "0000320193", "revenue": 394e9, "eps": 1.46},
        system_time=datetime(2025, 12, 1, tzinfo=UTC),
    )

    # Point-in-time query: "What did we know on Nov 20?"
    # → original (system_from <= Nov 20 < system_to)

    # Point-in-time query: "What do we know now?"
    # → amended (system_to is None = current version)

    # Wrap each version with 4-timestamp envelope
    envelope = TemporalEnvelope(
        event_time=datetime(2025, 9, 30, tzinfo=UTC),   # Fiscal quarter
        publish_time=datetime(2025, 11, 14, tzinfo=UTC), # EDGAR publish
        ingest_time=now,
        payload=amended,
    )

    return {
        "original_version": original.version,
        "amended_version": amended.version,
        "revenue_delta": 394e9 - 391e9,  # $3B correction
        "has_been_superseded": original.system_to is not None,
    }

result = build_temporal_filing_tracker()
print(f"Revenue correction: ${result['revenue_delta']:,.0f}")
