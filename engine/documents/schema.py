"""The structured schema a filing is mapped to: each field's XBRL concepts (in order of
preference) and the row labels financial statements print for it."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .models import XbrlFact
from .xbrl import period_days


@dataclass(frozen=True)
class FieldSpec:
    """One schema field: where XBRL tags it and how a table labels it."""

    concepts: tuple[str, ...]
    labels: tuple[str, ...]
    per_share: bool = False


SCHEMA: dict[str, FieldSpec] = {
    "revenue": FieldSpec(
        ("us-gaap:Revenues", "us-gaap:RevenueFromContractWithCustomerExcludingAssessedTax",
         "us-gaap:SalesRevenueNet"),
        ("total revenue", "total revenues", "revenue", "revenues", "net sales", "total net sales",
         "net revenue", "net revenues", "total net revenue", "total net revenues")),
    "cost_of_revenue": FieldSpec(
        ("us-gaap:CostOfRevenue", "us-gaap:CostOfGoodsAndServicesSold"),
        ("total cost of revenue", "total cost of revenues", "cost of revenue", "cost of sales",
         "total cost of sales")),
    "gross_profit": FieldSpec(("us-gaap:GrossProfit",), ("gross profit",)),
    "operating_expenses": FieldSpec(("us-gaap:OperatingExpenses",),
                                    ("total operating expenses",)),
    "operating_income": FieldSpec(
        ("us-gaap:OperatingIncomeLoss",),
        ("operating income", "operating income loss", "income from operations",
         "income loss from operations", "loss from operations")),
    "net_income": FieldSpec(
        ("us-gaap:NetIncomeLoss", "us-gaap:ProfitLoss"),
        ("net income", "net income loss", "net loss", "net earnings")),
    "eps_basic": FieldSpec(("us-gaap:EarningsPerShareBasic",),
                           ("basic", "basic earnings per share", "net income per share basic"),
                           per_share=True),
    "eps_diluted": FieldSpec(("us-gaap:EarningsPerShareDiluted",),
                             ("diluted", "diluted earnings per share",
                              "net income per share diluted"), per_share=True),
    "cash": FieldSpec(("us-gaap:CashAndCashEquivalentsAtCarryingValue",),
                      ("cash and cash equivalents",)),
    "current_assets": FieldSpec(("us-gaap:AssetsCurrent",), ("total current assets",)),
    "total_assets": FieldSpec(("us-gaap:Assets",), ("total assets",)),
    "current_liabilities": FieldSpec(("us-gaap:LiabilitiesCurrent",),
                                     ("total current liabilities",)),
    "total_liabilities": FieldSpec(("us-gaap:Liabilities",), ("total liabilities",)),
    "stockholders_equity": FieldSpec(
        ("us-gaap:StockholdersEquity",
         "us-gaap:StockholdersEquityIncludingPortionAttributableToNoncontrollingInterest"),
        ("total stockholders equity", "total shareholders equity", "total equity")),
}


def normalize_label(label: str) -> str:
    """Lower case, apostrophes and punctuation dropped: "Total stockholders’ equity:" →
    "total stockholders equity"."""
    text = label.lower().replace("\u2019", "").replace("'", "")
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


def annual(fact: XbrlFact) -> bool:
    """An instant, or a duration of about a year (a 10-K's columns, not its quarters)."""
    days = period_days(fact)
    return days is None or 350 <= days <= 380


def field_facts(facts: Iterable[XbrlFact], spec: FieldSpec) -> list[XbrlFact]:
    """The field's readable, undimensioned annual facts, of its most preferred concept, one
    per context and unit (inline XBRL may tag the same fact in several places)."""
    usable = [f for f in facts if f.numeric and f.value is not None and not f.dimensions
              and f.period_end and annual(f)]
    for concept in spec.concepts:
        chosen: dict[tuple[str, str | None], XbrlFact] = {}
        for fact in usable:
            if fact.concept == concept:
                chosen.setdefault((fact.context, fact.unit), fact)
        if chosen:
            return list(chosen.values())
    return []


Cell = tuple[Mapping[str, Any], Mapping[str, Any], float]


def cell_index(tables: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], list[Cell]]:
    """(table, row, value) of every table line labelled like a schema field, by (field,
    year), built in one pass so checking many facts stays linear."""
    by_label: dict[tuple[str, bool], list[str]] = {}
    for name, spec in SCHEMA.items():
        for label in spec.labels:
            by_label.setdefault((label, spec.per_share), []).append(name)
    index: dict[tuple[str, str], list[Cell]] = {}
    for table in tables:
        years = table["years"]
        for row in table["rows"]:
            if row["kind"] == "header":
                continue
            names = by_label.get((normalize_label(row["label"]), row["per_share"]))
            if not names:
                continue
            for column, value in enumerate(row["values"]):
                kind = row["kinds"][column] if column < len(row["kinds"]) else ""
                year = years[column] if column < len(years) else None
                if year and value is not None and kind in ("amount", "zero"):
                    for name in names:
                        index.setdefault((name, year), []).append((table, row, float(value)))
    return index


def matching_cells(tables: Iterable[Mapping[str, Any]], spec: FieldSpec,
                   year: str) -> Iterator[Cell]:
    """(table, row, value) for every row labelled like the field with a value in ``year``."""
    name = next(n for n, s in SCHEMA.items() if s == spec)
    yield from cell_index(tables).get((name, year), [])
