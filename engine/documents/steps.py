"""The document steps of spec §11, as plain functions for ``Step.from_function`` (and one
``(ctx, config)`` gate for ``Step.lambda_``): parse → extract tables → map XBRL → extract the
MD&A → validate totals → quality gate.

Each takes and returns JSON (chunks travel between steps as ``DocumentChunk.to_dict()``), so
every intermediate result is stored with the run and can be inspected or edited in the
playground. Only the gate fails a run; bad input elsewhere lowers a confidence.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..policies import ErrorCategory
from ..results import StepResult
from .checks import check_xbrl_totals, summarize
from .extract import map_fields, mda_mentions
from .filing import parse_filing
from .models import LOW_CONFIDENCE, DocumentChunk, ExtractionResult, XbrlFact

if TYPE_CHECKING:
    from ..context import WorkflowContext

#: fields a filing must yield, trusted, to pass ``filing_quality_gate`` by default
REQUIRED_FIELDS = ("revenue", "net_income", "total_assets")
_EXCERPT = 280


def parse_filing_structure(filing_path: str, accession: str = "") -> dict[str, Any]:
    """Parse a filing into sections with their tables and inline-XBRL facts; ``document`` is
    the ``ExtractionResult`` saying how far the structure can be trusted (never raises)."""
    parsed = parse_filing(filing_path, accession)
    return {
        "source": parsed.source,
        "accession": parsed.accession,
        "form_type": parsed.form_type,
        "company": parsed.company,
        "fiscal_year": parsed.fiscal_year,
        "sections": [{"item": c.item, "title": c.metadata["title"],
                      "section_type": c.section_type, "source_ref": c.source_ref,
                      "start": c.start, "end": c.end, "words": c.metadata["words"],
                      "tables": len(c.tables), "facts": len(c.xbrl_facts)} for c in parsed.chunks],
        "chunks": [c.to_dict() for c in parsed.chunks],
        "document": parsed.result.to_dict(),
    }


def extract_financial_tables(chunks: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The filing's financial tables (a known statement, or a stated scale such as "in
    millions"), and which table is which statement."""
    tables = [t for c in _chunks(chunks) for t in c.tables
              if t["numeric_cells"] and (t["statement"] != "other" or t["scale"] != 1)]
    statements: dict[str, int] = {}
    for table in tables:
        if table["statement"] != "other":
            statements.setdefault(table["statement"], table["index"])
    return {"financial_tables": tables, "statements": statements,
            "table_rows": sum(len(t["rows"]) for t in tables)}


def map_xbrl_to_schema(chunks: Sequence[Mapping[str, Any]],
                       fiscal_year: str | None = None) -> dict[str, Any]:
    """Schema fields (revenue, net income, total assets...) for the fiscal year, each an
    ``ExtractionResult`` (tagged facts first, statement tables when a value is untagged)."""
    parsed = _chunks(chunks)
    fields = map_fields(parsed, _facts(parsed), fiscal_year)
    return {"fields": {name: r.value for name, r in fields.items()},
            "extractions": [r.to_dict() for r in fields.values()],
            "fields_found": sum(1 for r in fields.values() if r.value is not None)}


def extract_mda_section(chunks: Sequence[Mapping[str, Any]],
                        extractions: Sequence[Mapping[str, Any]] = (),
                        fiscal_year: str | None = None) -> dict[str, Any]:
    """The MD&A's text and the figures it states in words ("increased 14% to $4,812
    million"), each checked against the tagged value it describes."""
    parsed = _chunks(chunks)
    mda = next((c for c in parsed if c.section_type == "mda"), None)
    if mda is None:
        return {"mda": {"found": False, "mentions": [],
                        "reasons": ["the filing has no MD&A section (Item 7 of a 10-K)"]}}
    fields = {e["entity"]: ExtractionResult.from_dict(dict(e)) for e in extractions}
    mentions = mda_mentions(mda, fields, _facts(parsed), fiscal_year)
    return {"mda": {"found": True, "source_ref": mda.source_ref, "words": len(mda.content.split()),
                    "excerpt": mda.content[:_EXCERPT],
                    "mentions": [m.to_dict() for m in mentions],
                    "confirmed": sum(1 for m in mentions if m.confidence >= 0.9)}}


def validate_xbrl_totals(chunks: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Tagged values against the tables: each tagged cell, each "Total" row, each tagged
    total against the filing's other tables; counts per check and every failure."""
    parsed = _chunks(chunks)
    tables = [t for c in parsed for t in c.tables]
    return summarize(check_xbrl_totals(tables, _facts(parsed)))


def filing_quality_gate(ctx: WorkflowContext, config: Mapping[str, Any]) -> StepResult:
    """Reject the filing (DATA_QUALITY) when its structure is untrusted, a required field is
    missing or doubtful, or more totals fail than allowed; config: ``required_fields``,
    ``min_confidence``, ``max_failed_checks``."""
    required = config.get("required_fields", REQUIRED_FIELDS)
    floor = float(config.get("min_confidence", LOW_CONFIDENCE))
    allowed = int(config.get("max_failed_checks", 0))
    document = ExtractionResult.from_dict(ctx.get("document") or
                                          {"entity": "filing", "confidence": 0.0,
                                           "reasons": ["no parse step ran before the gate"]})
    reasons = []
    if document.confidence < floor:
        reasons.append(f"document confidence {document.confidence:.2f} < {floor:.2f} ("
                       + "; ".join(document.reasons) + ")")
    results = {e["entity"]: ExtractionResult.from_dict(dict(e))
               for e in ctx.get("extractions") or []}
    for name in required:
        result = results.get(name)
        if result is None or result.value is None:
            reasons.append(f"required field {name} was not extracted")
        elif result.confidence < floor:
            reasons.append(f"{name} confidence {result.confidence:.2f} < {floor:.2f} ("
                           + "; ".join(result.reasons) + ")")
    failed = int(ctx.get("checks_failed") or 0)
    if failed > allowed:
        reasons.append(f"{failed} XBRL total check(s) failed (at most {allowed} allowed)")
    summary = {"accepted": not reasons, "confidence": document.confidence, "reasons": reasons}
    if reasons:
        return StepResult.fail("filing rejected: " + " | ".join(reasons),
                               category=ErrorCategory.DATA_QUALITY, output=summary)
    return StepResult.ok(summary)


def _chunks(chunks: Sequence[Mapping[str, Any]]) -> list[DocumentChunk]:
    return [DocumentChunk.from_dict(dict(c)) for c in chunks or ()]


def _facts(chunks: Sequence[DocumentChunk]) -> list[XbrlFact]:
    return [XbrlFact.from_dict(f) for c in chunks for f in c.xbrl_facts]
