"""The reference data a medallion pipeline imports beside the filings (spec R1's
``import_tickers``): the ticker map, in the layout of SEC's ``company_tickers_exchange.json``,
and a corporate-actions feed of stock splits as a market-data vendor ships it (one
tab-separated row per action, the ratio as new shares per old share)."""

from __future__ import annotations

import json
from collections.abc import Iterable

from ._sec_model import Company

TICKERS_NAME = "company_tickers.json"
ACTIONS_NAME = "corporate_actions.tsv"
ACTION_COLUMNS = ("cik", "ticker", "ex_date", "action", "ratio", "description")


def ticker_row(company: Company) -> list[object] | None:
    """The company's ``[cik, name, ticker, exchange]`` entry, or None when it is not listed."""
    if not company.ticker:
        return None
    return [company.cik, company.name, company.ticker, company.exchange]


def action_rows(company: Company) -> list[tuple[str, ...]]:
    """The company's corporate actions as feed rows (a split, if it had one)."""
    if company.split_ratio <= 1 or company.split_date is None:
        return []
    ratio = company.split_ratio
    return [(str(company.cik), company.ticker, company.split_date.isoformat(), "SPLIT",
             str(ratio), f"{ratio}-for-1 stock split")]


def tickers_json(rows: Iterable[list[object]]) -> bytes:
    """SEC's ticker file: field names once, then one list per listed company."""
    data = {"fields": ["cik", "name", "ticker", "exchange"], "data": list(rows)}
    return (json.dumps(data, indent=1) + "\n").encode("utf-8")


def actions_tsv(rows: Iterable[tuple[str, ...]]) -> bytes:
    lines = ["\t".join(ACTION_COLUMNS), *("\t".join(row) for row in rows)]
    return ("\n".join(lines) + "\n").encode("utf-8")
