"""The document primitives of spec §11 as frozen, JSON-safe records: a parsed section
(``DocumentChunk``), an extracted value with its confidence (``ExtractionResult``), an
inline-XBRL fact (``XbrlFact``) and a cross-check result (``ValidationFinding``).

Each has ``to_dict``/``from_dict`` so a step can hand them to the next one as plain JSON (step
outputs are stored), and the spec's field names come first with their shapes; what we add
(offsets, reasons) has a default so the spec's constructor calls still work.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ..serialization import register_json_type

#: below this an extraction is not trusted: ``filing_quality_gate`` rejects it
LOW_CONFIDENCE = 0.5


@dataclass(frozen=True)
class DocumentChunk:
    """A parsed section of a filing (an ``Item``), with its text, tables and tagged facts."""

    section_type: str          # "financial_statement", "mda", "risk_factors", ...
    content: str               # the section's plain text
    tables: list[dict[str, Any]] = field(default_factory=list)      # see ``tables.parse_table``
    xbrl_facts: list[dict[str, Any]] = field(default_factory=list)  # ``XbrlFact.to_dict()``s
    metadata: dict[str, Any] = field(default_factory=dict)  # item, title, part, start, end
    source_ref: str = ""       # accession number + "#" + section index

    @property
    def item(self) -> str | None:
        """The ``Item`` number ("1A", "7"), None for the cover page."""
        value = self.metadata.get("item")
        return str(value) if value is not None else None

    @property
    def start(self) -> int:
        """Offset of the section's first character in the filing's plain text."""
        return int(self.metadata.get("start", 0))

    @property
    def end(self) -> int:
        """Offset just past the section's last character in the filing's plain text."""
        return int(self.metadata.get("end", 0))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DocumentChunk:
        return cls(section_type=data["section_type"], content=data.get("content", ""),
                   tables=list(data.get("tables", [])), xbrl_facts=list(data.get("xbrl_facts", [])),
                   metadata=dict(data.get("metadata", {})), source_ref=data.get("source_ref", ""))


@dataclass(frozen=True)
class ExtractionResult:
    """An extracted value with how sure we are of it and why not more.

    ``confidence`` is clamped to 0..1; ``reasons`` says what lowered it (a malformed file, a
    missing section, a total that does not add up), so a low score is never a mystery.
    """

    entity: str                # what was extracted ("revenue", "filing")
    value: Any                 # the value (JSON-safe)
    confidence: float          # 0.0-1.0
    source_chunk: str          # ``DocumentChunk.source_ref`` (or the file) it came from
    extraction_method: str     # "xbrl", "table_parse", "nlp", "regex", "html"
    reasons: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "confidence", round(min(1.0, max(0.0, float(self.confidence))), 4))
        object.__setattr__(self, "reasons", tuple(self.reasons))

    @property
    def trusted(self) -> bool:
        """Whether the value clears ``LOW_CONFIDENCE``."""
        return self.confidence >= LOW_CONFIDENCE

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["reasons"] = list(self.reasons)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExtractionResult:
        return cls(entity=data["entity"], value=data.get("value"),
                   confidence=data.get("confidence", 0.0),
                   source_chunk=data.get("source_chunk", ""),
                   extraction_method=data.get("extraction_method", ""),
                   reasons=tuple(data.get("reasons", ())))


@dataclass(frozen=True)
class XbrlFact:
    """One inline-XBRL fact: the concept, its context's period and dimensions, the unit, and
    the value with ``scale`` and ``sign`` applied (None when nil or unreadable)."""

    concept: str               # "us-gaap:Revenues"
    value: float | int | str | None
    context: str               # contextRef
    period_start: str | None   # ISO date, None for an instant
    period_end: str | None     # ISO date (the instant for instant contexts)
    unit: str | None           # "USD", "USD/shares", "shares"
    decimals: str | None = None
    scale: int = 0
    dimensions: dict[str, str] = field(default_factory=dict)
    numeric: bool = True
    fact_id: str | None = None
    displayed: str = ""        # the text as shown in the document

    @property
    def instant(self) -> bool:
        return self.period_start is None

    def to_dict(self) -> dict[str, Any]:
        return {"concept": self.concept, "value": self.value, "context": self.context,
                "period_start": self.period_start, "period_end": self.period_end,
                "unit": self.unit, "decimals": self.decimals, "scale": self.scale,
                "dimensions": dict(self.dimensions), "numeric": self.numeric,
                "fact_id": self.fact_id, "displayed": self.displayed}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> XbrlFact:
        return cls(**{**data, "dimensions": dict(data.get("dimensions", {}))})


@dataclass(frozen=True)
class ValidationFinding:
    """One cross-check of tagged values against a table: what was compared and whether it
    held (``expected`` is what the check computed, ``actual`` what the document states)."""

    check: str                 # "tag_matches_cell", "components_sum", "fact_matches_table"
    passed: bool
    subject: str               # the row label or concept
    period: str | None         # the column ("2025")
    expected: float | None
    actual: float | None
    table: int | None = None   # the table's index in the filing
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


for _record in (DocumentChunk, ExtractionResult, XbrlFact, ValidationFinding):
    register_json_type(_record)  # a step may return these as they are; stored as to_dict()
