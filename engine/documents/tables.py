"""An HTML table as rows of numbers: the label in the first cell, values in the column order
of the header row, ``$``/``)``/``%`` cells merged into their numbers, the scale of the heading
("in millions") applied to amounts but not to per-share rows or percentages, and the inline-XBRL
fact behind each tagged cell."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from .nodes import descendants, local, text_of
from .numbers import as_number, excepts_per_share, parse_cell, scale_of

_YEAR = re.compile(r"\b(?:19|20)\d{2}\b")
_PER_SHARE = re.compile(r"\bper\s+(?:common\s+|ordinary\s+)?share\b", re.IGNORECASE)
_STATEMENTS = (
    ("cash_flow", re.compile(r"cash\s+flows?", re.IGNORECASE)),
    ("balance_sheet", re.compile(r"balance\s+sheets?|financial\s+(?:position|condition)",
                                 re.IGNORECASE)),
    ("equity", re.compile(r"(?:stockholders|shareholders)\W*\s+equity", re.IGNORECASE)),
    ("income_statement", re.compile(r"statements?\s+of\s+(?:consolidated\s+)?"
                                    r"(?:operations|income|earnings|comprehensive)",
                                    re.IGNORECASE)),
)
_CLOSERS = (")", ")%", "%", "%)")


def parse_table(table: Any, index: int, preceding: Sequence[str],
                fact_ids: dict[Any, str]) -> dict[str, Any]:
    """Read ``table``; ``preceding`` are the texts of the blocks just before it (nearest
    last), where filings put the statement's title and its "(in millions)" line."""
    rows = list(table.iter("{*}tr"))
    header_texts: list[list[str]] = []
    body: list[tuple[str, list[tuple[str, str | None]]]] = []
    for tr in rows:
        cells = [c for c in tr if local(c) in ("td", "th")]
        if not cells:
            continue
        label = text_of(cells[0])
        if not label and not body:
            header_texts.append([t for t in (text_of(c) for c in cells[1:]) if t])
            continue
        body.append((label, _tokens(cells[1:], fact_ids)))
    columns = max(header_texts, key=len, default=[])
    scale_text = _scale_text([" ".join(h) for h in header_texts], preceding)
    scale = scale_of(scale_text)
    title = _title(preceding, scale_text)
    parsed_rows, numeric = _rows(body, scale)
    width = max((len(r["values"]) for r in parsed_rows), default=0)
    columns = columns + [f"column {n + 1}" for n in range(len(columns), width)]
    return {
        "index": index,
        "title": title,
        "statement": _statement(title),
        "scale": scale,
        "scale_text": scale_text,
        "per_share_unscaled": excepts_per_share(scale_text),
        "columns": columns,
        "years": [_year(c) for c in columns],
        "rows": parsed_rows,
        "numeric_cells": numeric,
    }


def _tokens(cells: Sequence[Any], fact_ids: dict[Any, str]) -> list[tuple[str, str | None]]:
    """The value cells of a row, with lone ``$``, ``(``, ``)`` and ``%`` cells merged."""
    tokens: list[tuple[str, str | None]] = []
    opening = ""
    for cell in cells:
        text = text_of(cell)
        tagged = next(descendants(cell, "ix", "nonFraction"), None)
        fact_id = fact_ids.get(tagged) if tagged is not None else None
        if text in ("", "$"):
            continue
        if text == "(":
            opening = "("
            continue
        if text in _CLOSERS and tokens:
            previous, previous_id = tokens[-1]
            tokens[-1] = (previous + text, previous_id)
            continue
        tokens.append((opening + text, fact_id))
        opening = ""
    return tokens


def _rows(body: list[tuple[str, list[tuple[str, str | None]]]],
          scale: int) -> tuple[list[dict[str, Any]], int]:
    rows: list[dict[str, Any]] = []
    numeric = 0
    group = ""
    for label, tokens in body:
        cells = [parse_cell(text) for text, _ in tokens]
        has_numbers = any(c.kind in ("amount", "zero", "percent") for c in cells)
        per_share = bool(_PER_SHARE.search(label) or _PER_SHARE.search(group))
        if not has_numbers:
            group = label
            rows.append({"label": label, "kind": "header", "values": [], "display": [],
                         "kinds": [], "facts": [], "per_share": per_share})
            continue
        values: list[float | int | None] = []
        for cell in cells:
            if cell.value is None:
                values.append(None)
            elif cell.kind == "percent" or per_share:
                values.append(as_number(cell.value))
            else:
                values.append(as_number(cell.value * scale))
        numeric += sum(1 for c in cells if c.value is not None)
        rows.append({
            "label": label,
            "kind": "total" if label.lower().startswith("total") else "data",
            "values": values,
            "display": [text for text, _ in tokens],
            "kinds": [c.kind for c in cells],
            "facts": [fact_id for _, fact_id in tokens],
            "per_share": per_share,
        })
    return rows, numeric


def _scale_text(headers: Sequence[str], preceding: Sequence[str]) -> str:
    for text in [*headers, *reversed(preceding[-3:])]:
        if scale_of(text) != 1:
            return text
    return ""


def _title(preceding: Sequence[str], scale_text: str) -> str:
    candidates = [t for t in reversed(preceding[-3:]) if t and t != scale_text and len(t) <= 120
                  and not t.startswith("(")]
    for text in candidates:
        if _statement(text) != "other":
            return text
    return candidates[0] if candidates else ""


def _statement(title: str) -> str:
    for kind, pattern in _STATEMENTS:
        if pattern.search(title):
            return kind
    return "other"


def _year(column: str) -> str | None:
    match = _YEAR.search(column)
    return match.group(0) if match else None
