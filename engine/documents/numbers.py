"""Numbers as filings print them: ``$ 1,234``, ``(41)`` for negatives, ``—`` for zero, ``15%``,
and the scale a table states in its heading ("in millions, except per share amounts")."""

from __future__ import annotations

import re
from dataclasses import dataclass

_DASHES = {"—", "–", "-", "‒", "―", "−"}
_NUMBER = re.compile(r"^(?P<open>\()?\s*(?P<minus>[-−])?\s*\$?\s*(?P<digits>\d[\d,]*(?:\.\d+)?|\.\d+)"
                     r"\s*(?P<pct>%)?\s*(?P<close>\))?\s*(?P<pct2>%)?$")
_SCALES = (("thousand", 1_000), ("million", 1_000_000), ("billion", 1_000_000_000))
_SCALE_TEXT = re.compile(r"\bin\s+(thousands|millions|billions)\b", re.IGNORECASE)
_EXCEPT_PER_SHARE = re.compile(r"except\b[^)]*\bper[- ]share", re.IGNORECASE)


@dataclass(frozen=True)
class Cell:
    """A table cell read as a number: ``kind`` is "amount", "percent", "zero" (a dash),
    "blank" or "text"; ``value`` is None unless the cell holds a number."""

    value: float | None
    kind: str


def parse_cell(text: str) -> Cell:
    """Read one cell's text (already joined: ``"(41)"``, ``"$ 3,912"``, ``"15%"``, ``"—"``)."""
    cleaned = " ".join(text.replace("\u00a0", " ").split())
    if cleaned in ("", "$"):
        return Cell(None, "blank")
    if cleaned.strip("$ ") in _DASHES or cleaned.strip("$ ()") in _DASHES:
        return Cell(0.0, "zero")
    match = _NUMBER.match(cleaned)
    if match is None or bool(match["open"]) != bool(match["close"]):
        return Cell(None, "text")
    value = float(match["digits"].replace(",", ""))
    if match["open"] or match["minus"]:
        value = -value
    return Cell(value, "percent" if (match["pct"] or match["pct2"]) else "amount")


def parse_number(text: str) -> float | None:
    """The number a filing prints, or None for blank or non-numeric text: parentheses and a
    leading minus are negative, commas and ``$`` are dropped, a dash alone is zero."""
    return parse_cell(text).value


def scale_of(text: str) -> int:
    """The multiplier a heading states ("in millions" → 1,000,000); 1 when it states none."""
    match = _SCALE_TEXT.search(text)
    if match is None:
        return 1
    word = match.group(1).lower()
    return next(factor for prefix, factor in _SCALES if word.startswith(prefix))


def excepts_per_share(text: str) -> bool:
    """Whether a scale heading exempts per-share amounts ("except per share data")."""
    return bool(_EXCEPT_PER_SHARE.search(text))


def as_number(value: float) -> float | int:
    """An int when the value is whole (JSON keeps large dollar amounts exact), else the float."""
    rounded = round(value)
    return int(rounded) if abs(value - rounded) < 1e-9 * max(1.0, abs(value)) else value
