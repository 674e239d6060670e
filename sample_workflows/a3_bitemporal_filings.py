"""Bi-temporal filing tracker: every filing version on valid time and system time, with point-in-time queries (spec A3).

``data/filing_versions.csv`` holds original filings and their amendments (10-K/A, 10-Q/A):
for each company the period end is the valid time, and the time we ingested a version is its
system time. Each amendment supersedes the version before it (``BiTemporalRecord.supersede``
closes the old version's ``system_to``), so "what did we know on date X" is answered by
``BiTemporalHistory.as_of(system_time=X)``.

``build_temporal_filing_tracker`` is the spec's function over the bundled AAPL versions
(revenue 391B -> 394B, EPS 1.52 -> 1.46: a $3B correction). The ``filings.bitemporal_tracker``
workflow does the same for every company in the file: ``load`` the versions, build each
``history`` (what each amendment changed), and answer ``as_of`` queries for the run param
``known_at`` (ISO date; default 2025-11-20, between AAPL's original and its amendment).
"""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from typing import Any

from engine import BiTemporalHistory, BiTemporalRecord, ManagedWorkflow, TemporalEnvelope
from sample_workflows._common import data_file

VERSIONS_CSV = data_file("filing_versions.csv")
DEFAULT_KNOWN_AT = "2025-11-20"


def _aware(text: str) -> datetime:
    """An ISO date or datetime as an aware datetime (a bare date is midnight UTC)."""
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def load_filing_versions(cik: str = "") -> list[dict[str, Any]]:
    """The filing versions (all companies, or one ``cik``), in the order we ingested them."""
    with VERSIONS_CSV.open(newline="", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if not cik or r["cik"] == cik]
    for r in rows:
        r["revenue"], r["eps"] = float(r["revenue"]), float(r["eps"])
    return sorted(rows, key=lambda r: (r["cik"], _aware(r["ingested_at"])))


def _payload(row: dict[str, Any]) -> dict[str, Any]:
    return {"cik": row["cik"], "revenue": row["revenue"], "eps": row["eps"]}


def history_of(rows: list[dict[str, Any]]) -> BiTemporalHistory:
    """One company's versions as a supersede chain (rows in ingestion order)."""
    history = BiTemporalHistory(entity_key=rows[0]["cik"])
    for row in rows:
        history.record({**_payload(row), "form_type": row["form_type"],
                        "accession_number": row["accession_number"]},
                       system_time=_aware(row["ingested_at"]),
                       valid_from=_aware(row["period_end"]))
    return history


def build_temporal_filing_tracker() -> dict:
    """Track SEC filings with full bi-temporal semantics."""
    now = datetime.now(UTC)
    first, amendment = load_filing_versions("0000320193")[:2]

    # Original filing
    original = BiTemporalRecord(
        valid_from=_aware(first["period_end"]),          # Fiscal quarter end
        valid_to=None,                                     # Still current
        system_from=_aware(first["ingested_at"]),         # When we ingested
        system_to=None,                                    # Not superseded
        payload=_payload(first),
        version=1,
    )

    # Amendment arrives — supersedes original
    amended = original.supersede(
        new_payload=_payload(amendment),
        system_time=_aware(amendment["ingested_at"]),
    )

    # Wrap each version with 4-timestamp envelope
    envelope = TemporalEnvelope(
        event_time=_aware(amendment["period_end"]),        # Fiscal quarter
        publish_time=_aware(amendment["published_at"]),    # EDGAR publish
        ingest_time=now,
        payload=amended,
    )

    return {
        "original_version": original.version,
        "amended_version": amended.version,
        "revenue_delta": amended.payload["revenue"] - original.payload["revenue"],
        "has_been_superseded": original.system_to is not None,
        "envelope": envelope.to_dict(),
    }


def load_versions() -> dict:
    """Read every filing version from the bundled file."""
    rows = load_filing_versions()
    return {"versions": rows, "version_count": len(rows),
            "companies": sorted({r["cik"] for r in rows})}


def build_histories(versions: list | None = None) -> dict:
    """One bi-temporal history per company, with what each amendment changed."""
    by_cik: dict[str, list[dict[str, Any]]] = {}
    for row in versions or []:
        by_cik.setdefault(row["cik"], []).append(row)
    histories = {cik: history_of(rows) for cik, rows in by_cik.items()}
    return {
        "histories": {cik: h.to_dict() for cik, h in histories.items()},
        "amendments": {cik: h.changes() for cik, h in histories.items()},
        "amended_companies": sorted(cik for cik, h in histories.items() if len(h.versions) > 1),
    }


def point_in_time(histories: dict | None = None, known_at: str = DEFAULT_KNOWN_AT) -> dict:
    """What we believed about each company at ``known_at``, and what we believe now."""
    when = _aware(known_at)
    then_, now_ = {}, {}
    for cik, data in (histories or {}).items():
        history = BiTemporalHistory(cik, [BiTemporalRecord.from_dict(v)
                                          for v in data["versions"]])
        past, current = history.as_of(system_time=when), history.as_of()
        then_[cik] = None if past is None else {"version": past.version, **past.payload}
        now_[cik] = None if current is None else {"version": current.version, **current.payload}
    return {"known_at": when.isoformat(), "as_of": then_, "current": now_,
            "changed_since": sorted(cik for cik in now_ if then_[cik] != now_[cik])}


wf = (
    ManagedWorkflow("filings.bitemporal_tracker", domain="sec",
                    description="Track filing amendments on valid and system time and answer "
                                "what-did-we-know-when queries",
                    tags=["advanced", "sec", "bi-temporal", "audit"])
    .step("load", load_versions)
    .step("history", build_histories)
    .step("as_of", point_in_time)
    .build()
)

if __name__ == "__main__":
    result = wf.run()
    wf.show()
    tracker = build_temporal_filing_tracker()
    print(f"Revenue correction: ${tracker['revenue_delta']:,.0f}")
