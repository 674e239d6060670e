"""A filing's body as a sequence of text and table blocks, cut into sections at its
``Item N.`` headings (the table of contents, being a table, never starts one)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .nodes import (
    SKIPPED_TAGS,
    descendants,
    has_block_inside,
    is_block,
    is_ix_header,
    local,
    text_of,
)

_ITEM = re.compile(r"^item\s+(\d{1,2}[a-d]?)\s*[.:\-\u2013\u2014]?\s*(.*)$", re.IGNORECASE)
_PART = re.compile(r"^part\s+(iv|v|i{1,3})\b\.?\s*$", re.IGNORECASE)
_HEADING_LIMIT = 200

#: Form 10-K items (Regulation S-K) and what each section holds
TEN_K_SECTIONS = {
    "1": "business", "1A": "risk_factors", "1B": "unresolved_staff_comments",
    "1C": "cybersecurity", "2": "properties", "3": "legal_proceedings", "4": "mine_safety",
    "5": "market_for_equity", "6": "reserved", "7": "mda", "7A": "market_risk",
    "8": "financial_statement", "9": "accountant_changes", "9A": "controls_and_procedures",
    "9B": "other_information", "9C": "foreign_inspections", "10": "governance",
    "11": "executive_compensation", "12": "security_ownership", "13": "related_transactions",
    "14": "accountant_fees", "15": "exhibits", "16": "form_summary",
}
#: Form 10-Q items, keyed by (part, item)
TEN_Q_SECTIONS = {
    ("I", "1"): "financial_statement", ("I", "2"): "mda", ("I", "3"): "market_risk",
    ("I", "4"): "controls_and_procedures", ("II", "1"): "legal_proceedings",
    ("II", "1A"): "risk_factors", ("II", "2"): "equity_sales", ("II", "5"): "other_information",
    ("II", "6"): "exhibits",
}


@dataclass
class Block:
    """A paragraph-like run of text, or a table, and the tag elements inside it."""

    text: str
    table: Any = None
    tags: list[Any] = field(default_factory=list)


@dataclass
class Section:
    """The blocks from one ``Item`` heading to the next."""

    item: str | None
    title: str
    part: str | None
    blocks: list[Block] = field(default_factory=list)


def blocks_of(body: Any) -> list[Block]:
    """The body's blocks in document order (the ``ix:header`` and scripts left out)."""
    out: list[Block] = []
    _walk(body, out)
    return out


def _walk(el: Any, out: list[Block]) -> None:
    pieces: list[str] = [el.text or ""]
    tags: list[Any] = []

    def flush() -> None:
        text = " ".join("".join(pieces).split())
        if text:
            out.append(Block(text=text, tags=list(tags)))
        pieces.clear()
        tags.clear()

    for child in el:
        name = local(child)
        if not name or name in SKIPPED_TAGS or is_ix_header(child):
            pieces.append(child.tail or "")
            continue
        if name == "table":
            flush()
            out.append(Block(text=_table_text(child), table=child, tags=_tags(child)))
        elif is_block(child) or has_block_inside(child):
            flush()
            _walk(child, out)
        else:
            pieces.append("".join(child.itertext()))
            tags.extend(_tags(child))
        pieces.append(child.tail or "")
    flush()


def _tags(el: Any) -> list[Any]:
    return list(descendants(el, "ix", "nonFraction", "nonNumeric"))


def _table_text(table: Any) -> str:
    lines = []
    for tr in table.iter("{*}tr"):
        cells = [t for t in (text_of(c) for c in tr if local(c) in ("td", "th")) if t]
        if cells:
            lines.append(" | ".join(cells))
    return "\n".join(lines)


def split_sections(blocks: list[Block]) -> list[Section]:
    """Cut at each ``Item`` heading; what comes before the first one is the cover page."""
    sections = [Section(item=None, title="Cover page", part=None)]
    part: str | None = None
    for block in blocks:
        if block.table is None and len(block.text) <= _HEADING_LIMIT:
            part_match = _PART.match(block.text)
            if part_match:
                part = part_match.group(1).upper()
            item_match = _ITEM.match(block.text)
            if item_match:
                sections.append(Section(item=item_match.group(1).upper(),
                                        title=item_match.group(2).strip(), part=part))
        sections[-1].blocks.append(block)
    return sections


def section_type(item: str | None, part: str | None, form_type: str) -> str:
    """What an item holds, by the form's numbering (10-Q items differ from 10-K items)."""
    if item is None:
        return "cover"
    if form_type.upper().startswith("10-Q"):
        return TEN_Q_SECTIONS.get((part or "I", item), f"item_{item.lower()}")
    return TEN_K_SECTIONS.get(item, f"item_{item.lower()}")
