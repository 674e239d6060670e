"""``parse_filing``: one pass over a filing's markup into sections (``DocumentChunk``s) with
their tables and inline-XBRL facts, plus an ``ExtractionResult`` saying how far to trust it.

Bad input never raises: an unreadable, empty, binary or non-HTML file, or a filing with no
``Item`` headings, comes back with a low confidence and the reasons why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .models import DocumentChunk, ExtractionResult, XbrlFact
from .sections import Section, blocks_of, section_type, split_sections
from .tables import parse_table
from .xbrl import extract_facts

#: the items a filing of each form must have for its structure to be trusted
REQUIRED_ITEMS = {"10-K": ("1", "1A", "7", "8"), "10-Q": ("1", "2")}

# what each problem costs the document's confidence
_PENALTY_MALFORMED = 0.3
_PENALTY_NO_ITEMS = 0.5
_PENALTY_MISSING_ITEM = 0.1
_PENALTY_NO_FACTS = 0.2
_PENALTY_BAD_FACT = 0.05
_MAX_FACT_PENALTY = 0.3
_PENALTY_NO_FORM = 0.05


@dataclass(frozen=True)
class ParsedFiling:
    """Everything ``parse_filing`` read, and its verdict on the document (``result``)."""

    source: str
    accession: str
    form_type: str | None
    company: str | None
    fiscal_year: str | None
    chunks: tuple[DocumentChunk, ...]
    facts: tuple[XbrlFact, ...]
    text: str
    result: ExtractionResult
    problems: tuple[str, ...] = field(default=())

    @property
    def tables(self) -> list[dict[str, Any]]:
        return [t for chunk in self.chunks for t in chunk.tables]

    def chunk(self, section_type: str) -> DocumentChunk | None:
        """The first section of a type ("mda", "financial_statement"), if the filing has it."""
        return next((c for c in self.chunks if c.section_type == section_type), None)


def parse_filing(source: str | Path | bytes, accession: str = "") -> ParsedFiling:
    """Parse a filing given as a path, as its bytes or as its markup text; ``accession``
    prefixes each chunk's ``source_ref`` (default: the file's name without suffix)."""
    if isinstance(source, str) and source.lstrip().startswith("<"):
        source = source.encode("utf-8")
    name = "<bytes>" if isinstance(source, bytes) else str(source)
    ref = accession or (Path(name).stem if not isinstance(source, bytes) else "document")
    try:
        data = source if isinstance(source, bytes) else Path(source).read_bytes()
    except OSError as err:
        return _rejected(name, ref, f"cannot read {name}: {err.strerror or err}")
    from . import markup  # deliberate lazy load: lxml is imported only when a filing is parsed
    try:
        loaded = markup.load(data)
    except markup.NotADocumentError as err:
        return _rejected(name, ref, str(err))
    return _build(name, ref, loaded.root, list(loaded.problems))


def _rejected(name: str, ref: str, reason: str) -> ParsedFiling:
    result = ExtractionResult(entity="filing", value=None, confidence=0.0, source_chunk=name,
                              extraction_method="html", reasons=(reason,))
    return ParsedFiling(source=name, accession=ref, form_type=None, company=None,
                        fiscal_year=None, chunks=(), facts=(), text="", result=result,
                        problems=(reason,))


def _build(name: str, ref: str, root: Any, problems: list[str]) -> ParsedFiling:
    extraction = extract_facts(root)
    facts = extraction.facts
    by_element = dict(zip(extraction.ids, facts, strict=True))
    dei = {f.concept.rpartition(":")[2]: f.value for f in facts if f.concept.startswith("dei:")}
    form_type = str(dei["DocumentType"]) if dei.get("DocumentType") else None
    body = next((el for el in root if isinstance(el.tag, str) and el.tag.endswith("body")), root)
    sections = split_sections(blocks_of(body))
    chunks, text = _chunks(sections, ref, form_type or "10-K", extraction.ids, by_element)
    placed = {g["fact_id"] for c in chunks for g in c.xbrl_facts}
    hidden = [f for f in facts if f.fact_id not in placed]
    if hidden and chunks:
        cover = chunks[0]
        chunks[0] = DocumentChunk(cover.section_type, cover.content, cover.tables,
                                  [*cover.xbrl_facts, *(f.to_dict() for f in hidden)],
                                  cover.metadata, cover.source_ref)
    fiscal_year = _fiscal_year(dei, facts)
    problems += extraction.problems
    result = _assess(name, ref, form_type, chunks, facts, problems, extraction.problems)
    company = dei.get("EntityRegistrantName")
    return ParsedFiling(source=name, accession=ref, form_type=form_type,
                        company=str(company) if company else None, fiscal_year=fiscal_year,
                        chunks=tuple(chunks), facts=tuple(facts), text=text, result=result,
                        problems=tuple(problems))


def _chunks(sections: list[Section], ref: str, form_type: str, ids: dict[Any, str],
            by_element: dict[Any, XbrlFact]) -> tuple[list[DocumentChunk], str]:
    chunks: list[DocumentChunk] = []
    parts: list[str] = []
    offset = 0
    table_index = 0
    for index, section in enumerate(sections):
        if not section.blocks and section.item is None:
            continue
        start = offset
        texts: list[str] = []
        tables: list[dict[str, Any]] = []
        tagged: list[XbrlFact] = []
        for block in section.blocks:
            if block.table is not None:
                tables.append(parse_table(block.table, table_index, texts, ids))
                table_index += 1
            texts.append(block.text)
            tagged.extend(by_element[el] for el in block.tags if el in by_element)
        content = "\n".join(texts)
        parts.append(content)
        offset += len(content) + 1
        chunks.append(DocumentChunk(
            section_type=section_type(section.item, section.part, form_type),
            content=content, tables=tables, xbrl_facts=[f.to_dict() for f in tagged],
            metadata={"item": section.item, "title": section.title, "part": section.part,
                      "index": index, "start": start, "end": start + len(content),
                      "words": len(content.split())},
            source_ref=f"{ref}#{index}"))
    return chunks, "\n".join(parts)


def _fiscal_year(dei: dict[str, Any], facts: list[XbrlFact]) -> str | None:
    if dei.get("DocumentFiscalYearFocus"):
        return str(dei["DocumentFiscalYearFocus"])[:4]
    if dei.get("DocumentPeriodEndDate"):
        return str(dei["DocumentPeriodEndDate"])[:4]
    ends = [f.period_end for f in facts if f.period_end]
    return max(ends)[:4] if ends else None


def _assess(name: str, ref: str, form_type: str | None, chunks: list[DocumentChunk],
            facts: list[XbrlFact], problems: list[str],
            fact_problems: list[str]) -> ExtractionResult:
    reasons = [p for p in problems if p not in fact_problems]
    confidence = 1.0 - _PENALTY_MALFORMED * len(reasons)
    items = [c.item for c in chunks if c.item is not None]
    if not items:
        confidence -= _PENALTY_NO_ITEMS
        reasons.append("no 'Item N.' section headings: not a 10-K or 10-Q style filing")
    else:
        required = REQUIRED_ITEMS.get((form_type or "10-K").split("/")[0].upper(), ())
        missing = [i for i in required if i not in items]
        if missing:
            confidence -= _PENALTY_MISSING_ITEM * len(missing)
            reasons.append(f"missing section(s) of a {form_type or '10-K'}: "
                           + ", ".join(f"Item {i}" for i in missing))
    if not facts:
        confidence -= _PENALTY_NO_FACTS
        reasons.append("no inline XBRL facts: values can only be read from tables")
    if fact_problems:
        confidence -= min(_MAX_FACT_PENALTY, _PENALTY_BAD_FACT * len(fact_problems))
        reasons.extend(fact_problems)
    if form_type is None:
        confidence -= _PENALTY_NO_FORM
        reasons.append("no dei:DocumentType fact: the form type is unknown")
    value = {"form_type": form_type, "sections": len(chunks), "items": items,
             "facts": len(facts), "tables": sum(len(c.tables) for c in chunks)}
    return ExtractionResult(entity="filing", value=value, confidence=confidence,
                            source_chunk=name, extraction_method="ixbrl" if facts else "html",
                            reasons=tuple(reasons))
