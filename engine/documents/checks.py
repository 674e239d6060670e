"""XBRL validation (spec §11, "verify tagged values match table totals"): every tagged cell
states the fact's value, every "Total ..." row is the sum of the rows it totals, and every
tagged total agrees with the same line in the filing's other tables (the MD&A's summaries).

Sign is compared only where it is the document's own (sums, facts against untagged lines): a
tagged cell shows the magnitude of its fact, since statements print expenses in parentheses
while the concept's value is positive (the presentation linkbase's negated labels).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .models import ValidationFinding, XbrlFact
from .schema import SCHEMA, cell_index, field_facts, normalize_label

_SUMMABLE = ("amount", "zero")


def check_xbrl_totals(tables: Sequence[Mapping[str, Any]],
                      facts: Iterable[XbrlFact]) -> list[ValidationFinding]:
    """All three checks over a filing's tables and facts, in that order."""
    facts = list(facts)
    by_id = {f.fact_id: f for f in facts if f.fact_id}
    findings = check_tagged_cells(tables, by_id)
    findings += check_components(tables)
    findings += check_facts_against_tables(tables, facts)
    return findings


def check_tagged_cells(tables: Sequence[Mapping[str, Any]],
                       facts: Mapping[str, XbrlFact]) -> list[ValidationFinding]:
    """The number a tagged cell shows, times the table's scale, is its fact's value: catches a
    ``scale`` attribute that disagrees with the heading and tags on the wrong cell."""
    findings = []
    for table in tables:
        for row in table["rows"]:
            for column, fact_id in enumerate(row["facts"]):
                fact = facts.get(fact_id) if fact_id else None
                if fact is None or not fact.numeric:
                    continue
                cell = row["values"][column]
                period = _column(table, column)
                if fact.value is None or cell is None:
                    findings.append(ValidationFinding("tag_matches_cell", False, fact.concept, period,
                                            _float(fact.value), _float(cell), table["index"],
                                            f"{fact.fact_id}: unreadable value "
                                            f"{fact.displayed!r} in row {row['label']!r}"))
                    continue
                expected, actual = abs(float(fact.value)), abs(float(cell))
                passed = abs(expected - actual) <= _tolerance(fact, expected)
                findings.append(ValidationFinding("tag_matches_cell", passed, fact.concept, period,
                                        expected, actual, table["index"],
                                        "" if passed else f"{fact.fact_id} in row "
                                        f"{row['label']!r} shows {row['display'][column]!r}"))
    return findings


def check_components(tables: Sequence[Mapping[str, Any]]) -> list[ValidationFinding]:
    """Each "Total X" row equals the sum of the rows since X's heading (or since the previous
    total), per column; nested totals count once, as their own line."""
    findings = []
    for table in tables:
        stack: list[tuple[str, list[Mapping[str, Any]]]] = [("", [])]
        for row in table["rows"]:
            if row["kind"] == "header":
                stack.append((normalize_label(row["label"]), []))
            elif row["kind"] == "data":
                stack[-1][1].append(row)
            else:
                findings += _total(table, row, stack)
    return findings


def _total(table: Mapping[str, Any], row: Mapping[str, Any],
           stack: list[tuple[str, list[Mapping[str, Any]]]]) -> list[ValidationFinding]:
    subject = normalize_label(row["label"]).removeprefix("total").strip()
    depth = next((i for i in range(len(stack) - 1, 0, -1)
                  if _same(stack[i][0], subject)), None)
    if depth is not None:
        components = [r for _, rows in stack[depth:] for r in rows]
        del stack[depth:]
    else:
        components = list(stack[-1][1])
        stack[-1][1].clear()
    stack[-1][1].append(row)
    if not components or row["per_share"]:
        return []
    findings = []
    for column, total in enumerate(row["values"]):
        if total is None or row["kinds"][column] not in _SUMMABLE:
            continue
        parts = [_at(r, column) for r in components]
        if any(p is None for p in parts):
            continue
        expected = sum(p for p in parts if p is not None)
        tolerance = table["scale"] * (len(parts) + 1) / 2
        passed = abs(expected - float(total)) <= tolerance
        findings.append(ValidationFinding("components_sum", passed, row["label"], _column(table, column),
                                expected, float(total), table["index"],
                                "" if passed else f"{len(parts)} rows above add up to "
                                f"{expected:,.0f}, the total row says {float(total):,.0f}"))
    return findings


def check_facts_against_tables(tables: Sequence[Mapping[str, Any]],
                               facts: Iterable[XbrlFact]) -> list[ValidationFinding]:
    """A tagged schema fact (total revenue, net income...) equals every other table line with
    its label in its fiscal year's column (the cell it tags itself is checked above)."""
    findings = []
    facts = list(facts)
    index = cell_index(tables)
    for name, spec in SCHEMA.items():
        for fact in field_facts(facts, spec):
            year = (fact.period_end or "")[:4]
            for table, row, value in index.get((name, year), []):
                if fact.fact_id in row["facts"]:
                    continue
                expected = float(fact.value)  # type: ignore[arg-type]
                passed = abs(expected - value) <= _tolerance(fact, expected, table["scale"])
                findings.append(ValidationFinding("fact_matches_table", passed, f"{name} ({fact.concept})",
                                        year, expected, value, table["index"],
                                        "" if passed else f"row {row['label']!r} of table "
                                        f"{table['index']} ({table['title'] or 'untitled'})"))
    return findings


def _tolerance(fact: XbrlFact, value: float, scale: float = 1.0) -> float:
    """Half the last digit the fact claims (``decimals``), at least half the table's unit."""
    try:
        decimals = int(fact.decimals or "")
    except ValueError:
        return max(abs(value) * 1e-9, scale / 2 if scale > 1 else 0.0)
    return max(0.5 * 10.0 ** (-decimals), scale / 2 if scale > 1 else 0.0)


def _same(heading: str, subject: str) -> bool:
    return bool(heading) and (heading == subject or heading.rstrip("s") == subject.rstrip("s"))


def _at(row: Mapping[str, Any], column: int) -> float | None:
    values = row["values"]
    if column >= len(values):
        return 0.0
    if values[column] is None:
        return 0.0 if row["kinds"][column] == "blank" else None
    return float(values[column]) if row["kinds"][column] in _SUMMABLE else None


def _column(table: Mapping[str, Any], column: int) -> str | None:
    columns = table["columns"]
    return columns[column] if column < len(columns) else None


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def summarize(findings: Sequence[ValidationFinding]) -> dict[str, Any]:
    """Counts per check and the failures, as a step output."""
    by_check: dict[str, dict[str, int]] = {}
    for f in findings:
        counts = by_check.setdefault(f.check, {"passed": 0, "failed": 0})
        counts["passed" if f.passed else "failed"] += 1
    return {
        "checks_passed": sum(1 for f in findings if f.passed),
        "checks_failed": sum(1 for f in findings if not f.passed),
        "by_check": by_check,
        "failures": [f.to_dict() for f in findings if not f.passed],
    }
