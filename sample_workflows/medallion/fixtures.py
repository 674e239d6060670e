"""Spec R9: Bloomberg-style company fixtures, frozen dataclasses written as JSON artifacts.

A fixture holds a company's identity, its periods, its statements line by line (income,
balance sheet, cash flow; each line with the filing it came from), its gold metrics, and
temporal metadata: when each figure was filed and which filings amendments superseded. It is
built from the canonical view, so restated figures are the amended ones. ``load_fixture``
reads one back with the standard library only (no pandas needed by consumers).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sample_workflows.medallion.canonical import BALANCE_COLUMNS, INCOME_COLUMNS
from sample_workflows.medallion.schema import GOLD_METRICS

_CASH_FLOW = ("operating_cash_flow", "depreciation_amortization")
STATEMENTS = {
    "income": tuple(c for c in INCOME_COLUMNS if c not in _CASH_FLOW),
    "balance": BALANCE_COLUMNS,
    "cash_flow": _CASH_FLOW,
}


@dataclass(frozen=True, slots=True)
class CompanyInfo:
    cik: int
    name: str
    sic: int | None
    state: str | None


@dataclass(frozen=True, slots=True)
class Period:
    period_end_date: str
    period_type: str
    fiscal_year: int
    fiscal_quarter: int


@dataclass(frozen=True, slots=True)
class StatementLine:
    concept: str
    period_end_date: str
    period_type: str
    value: float
    adsh: str
    form: str
    filed: str


@dataclass(frozen=True, slots=True)
class TemporalMetadata:
    """Point-in-time tracking: what the fixture knows as of when, and what was restated."""

    as_of: str
    filings: tuple[str, ...]
    superseded_filings: tuple[str, ...]
    amended: bool
    silver_load_id: int


@dataclass(frozen=True, slots=True)
class CompanyFixture:
    """An immutable (hashable, frozen) snapshot of one company's financials."""

    company_info: CompanyInfo
    periods: tuple[Period, ...]
    statements: dict[str, tuple[StatementLine, ...]]
    metrics: dict[str, dict[str, float | str | None]]
    metadata: TemporalMetadata

    def to_dict(self) -> dict[str, Any]:
        return {"company_info": asdict(self.company_info),
                "periods": [asdict(p) for p in self.periods],
                "statements": {k: [asdict(line) for line in v]
                               for k, v in self.statements.items()},
                "metrics": self.metrics,
                "metadata": {**asdict(self.metadata),
                             "filings": list(self.metadata.filings),
                             "superseded_filings": list(self.metadata.superseded_filings)}}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CompanyFixture:
        meta = data["metadata"]
        return cls(
            company_info=CompanyInfo(**data["company_info"]),
            periods=tuple(Period(**p) for p in data["periods"]),
            statements={k: tuple(StatementLine(**line) for line in v)
                        for k, v in data["statements"].items()},
            metrics=data["metrics"],
            metadata=TemporalMetadata(as_of=meta["as_of"], filings=tuple(meta["filings"]),
                                      superseded_filings=tuple(meta["superseded_filings"]),
                                      amended=meta["amended"],
                                      silver_load_id=meta["silver_load_id"]))

    @staticmethod
    def load_fixture(json_path: str | Path) -> CompanyFixture:
        """Load from JSON: stdlib only."""
        with open(json_path, encoding="utf-8") as f:
            return CompanyFixture.from_dict(json.load(f))


def build_fixture(conn: sqlite3.Connection, cik: int) -> CompanyFixture:
    """The fixture of company ``cik`` from the canonical view and gold metrics."""
    company = conn.execute("SELECT cik, name, sic, state FROM silver_companies WHERE cik = ?",
                           (cik,)).fetchone()
    if company is None:
        raise LookupError(f"no company with CIK {cik} in silver_companies")
    facts = conn.execute(
        "SELECT standard_tag_norm, fact_period_end_date, period_type, value_usd, adsh, "
        "form_type, filing_date, fiscal_year, fiscal_quarter FROM v0_facts_canonical "
        "WHERE company_id = ? AND period_type IN ('annual', 'quarterly', 'instant') "
        "ORDER BY fact_period_end_date, standard_tag_norm", (cik,)).fetchall()
    concept_of = {c: name for name, concepts in STATEMENTS.items() for c in concepts}
    statements: dict[str, list[StatementLine]] = {name: [] for name in STATEMENTS}
    periods: dict[tuple[str, str], Period] = {}
    for concept, end, ptype, value, adsh, form, filed, fy, fq in facts:
        statement = concept_of.get(concept)
        if statement is None or (statement == "balance") != (ptype == "instant"):
            continue
        statements[statement].append(StatementLine(concept, end, ptype, value, adsh, form,
                                                   filed))
        if ptype != "instant":
            periods.setdefault((end, ptype), Period(end, ptype, fy, fq))
    metric_rows = conn.execute(
        f"SELECT period_end_date, period_type, {', '.join(GOLD_METRICS)}, altman_zone "
        "FROM gold_financial_metrics WHERE company_id = ? ORDER BY period_end_date", (cik,))
    names = ["period_end_date", "period_type", *GOLD_METRICS, "altman_zone"]
    metrics = {f"{r[0]}/{r[1]}": dict(zip(names[2:], r[2:], strict=True)) for r in metric_rows}
    filings = conn.execute("SELECT adsh, filing_version_rank, filing_date FROM silver_filings "
                           "WHERE company_id = ? ORDER BY filing_date", (cik,)).fetchall()
    load = conn.execute("SELECT MAX(silver_load_id) FROM silver_loads "
                        "WHERE status = 'COMPLETED'").fetchone()[0]
    superseded = tuple(a for a, rank, _ in filings if rank > 1)
    return CompanyFixture(
        company_info=CompanyInfo(int(company[0]), company[1], company[2], company[3]),
        periods=tuple(sorted(periods.values(), key=lambda p: (p.period_end_date,
                                                              p.period_type))),
        statements={k: tuple(v) for k, v in statements.items()},
        metrics=metrics,
        metadata=TemporalMetadata(as_of=max((f[2] for f in filings), default=""),
                                  filings=tuple(f[0] for f in filings),
                                  superseded_filings=superseded, amended=bool(superseded),
                                  silver_load_id=int(load or 0)))


def pick_companies(conn: sqlite3.Connection, count: int, ciks: list[int]) -> list[int]:
    """``ciks`` when given, else the ``count`` largest companies by latest annual revenue,
    always including one that restated (if any) so the amendment tracking shows."""
    if ciks:
        return ciks
    largest = [r[0] for r in conn.execute(
        "SELECT company_id FROM gold_financial_metrics WHERE period_type = 'annual' "
        "AND total_revenue IS NOT NULL GROUP BY company_id "
        "ORDER BY MAX(total_revenue) DESC LIMIT ?", (count,))]
    amended = conn.execute("SELECT company_id FROM silver_filings WHERE is_amendment = 1 "
                           "ORDER BY company_id LIMIT 1").fetchone()
    if amended and amended[0] not in largest and count > 0:
        largest = [*largest[:count - 1], amended[0]]
    return largest
