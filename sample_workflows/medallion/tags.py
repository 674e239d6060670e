"""Spec R8: XBRL tag normalisation through a mapping table and a just-in-time cache.

Companies use different tags for one concept (``Revenues``,
``RevenueFromContractWithCustomerExcludingAssessedTax`` and ``SalesRevenueNet`` all mean total
revenue). ``silver_tag_mapping`` maps each known tag to a standard concept and a priority (the
canonical view prefers the lower one when a filing reports two tags for one concept);
``TagMappingService.resolve`` asks the table once per tag and caches the answer. A tag the
table does not know (a company's custom extension) maps to itself, so nothing is dropped.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

_Key = TypeVar("_Key", bound=Hashable)
_Value = TypeVar("_Value")

#: XBRL tag -> (standard concept, priority among tags of that concept)
TAG_MAPPING: dict[str, tuple[str, int]] = {
    "Revenues": ("total_revenue", 1),
    "RevenueFromContractWithCustomerExcludingAssessedTax": ("total_revenue", 2),
    "SalesRevenueNet": ("total_revenue", 3),
    "CostOfRevenue": ("cost_of_revenue", 1),
    "CostOfGoodsAndServicesSold": ("cost_of_revenue", 2),
    "GrossProfit": ("gross_profit", 1),
    "SellingGeneralAndAdministrativeExpense": ("sga", 1),
    "OperatingIncomeLoss": ("operating_income", 1),
    "InterestExpense": ("interest_expense", 1),
    "IncomeTaxExpenseBenefit": ("income_tax", 1),
    "NetIncomeLoss": ("net_income", 1),
    "EarningsPerShareDiluted": ("eps_diluted", 1),
    "WeightedAverageNumberOfDilutedSharesOutstanding": ("diluted_shares", 1),
    "NetCashProvidedByUsedInOperatingActivities": ("operating_cash_flow", 1),
    "DepreciationDepletionAndAmortization": ("depreciation_amortization", 1),
    "Assets": ("total_assets", 1),
    "AssetsCurrent": ("current_assets", 1),
    "CashAndCashEquivalentsAtCarryingValue": ("cash", 1),
    "AccountsReceivableNetCurrent": ("receivables", 1),
    "InventoryNet": ("inventory", 1),
    "PropertyPlantAndEquipmentNet": ("ppe", 1),
    "MarketableSecuritiesNoncurrent": ("securities", 1),
    "Liabilities": ("total_liabilities", 1),
    "LiabilitiesCurrent": ("current_liabilities", 1),
    "LongTermDebt": ("long_term_debt", 1),
    "StockholdersEquity": ("stockholders_equity", 1),
    "RetainedEarningsAccumulatedDeficit": ("retained_earnings", 1),
    "LiabilitiesAndStockholdersEquity": ("liabilities_and_equity", 1),
    "EntityPublicFloat": ("public_float", 1),
    "EntityCommonStockSharesOutstanding": ("shares_outstanding", 1),
}
#: the priority of a tag the mapping table does not know
UNMAPPED_PRIORITY = 99

MAPPING_DDL = """
CREATE TABLE IF NOT EXISTS silver_tag_mapping (
    xbrl_tag TEXT PRIMARY KEY,
    standard_tag_norm TEXT NOT NULL,
    priority INTEGER NOT NULL
)"""


@dataclass(frozen=True, slots=True)
class ResolvedTag:
    """What an XBRL tag means: its standard concept and how preferred this tag is for it."""

    standard_tag_norm: str
    priority: int
    mapped: bool


class MetricsCache(Generic[_Key, _Value]):
    """The spec's JIT cache for any expensive lookup: resolve a key once, then serve it."""

    def __init__(self, resolver_fn: Callable[[_Key], _Value]) -> None:
        self._cache: dict[_Key, _Value] = {}
        self._resolver = resolver_fn
        self.hits = 0
        self.misses = 0

    def get(self, key: _Key) -> _Value:
        try:
            value = self._cache[key]
        except KeyError:
            self.misses += 1
            value = self._cache[key] = self._resolver(key)
            return value
        self.hits += 1
        return value

    def __len__(self) -> int:
        return len(self._cache)


class TagMappingService:
    """Resolve XBRL tags through ``silver_tag_mapping`` (seeded from ``TAG_MAPPING``)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        conn.execute(MAPPING_DDL)
        conn.executemany("INSERT OR IGNORE INTO silver_tag_mapping VALUES (?, ?, ?)",
                         [(tag, norm, prio) for tag, (norm, prio) in TAG_MAPPING.items()])
        self._cache: MetricsCache[str, ResolvedTag] = MetricsCache(self._lookup)

    def resolve(self, xbrl_tag: str) -> ResolvedTag:
        """The tag's standard concept: cache hit O(1), miss one query, then cached."""
        return self._cache.get(xbrl_tag)

    @property
    def stats(self) -> dict[str, int]:
        return {"tags": len(self._cache), "hits": self._cache.hits,
                "misses": self._cache.misses}

    def _lookup(self, xbrl_tag: str) -> ResolvedTag:
        row = self._conn.execute(
            "SELECT standard_tag_norm, priority FROM silver_tag_mapping WHERE xbrl_tag = ?",
            (xbrl_tag,)).fetchone()
        if row is None:
            return ResolvedTag(snake_case(xbrl_tag), UNMAPPED_PRIORITY, False)
        return ResolvedTag(str(row[0]), int(row[1]), True)


def snake_case(tag: str) -> str:
    """``AdjustedEbitda`` -> ``adjusted_ebitda``: how an unmapped tag names itself."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", tag).lower()
