"""The made-up companies behind the SEC sample: one seeded financial model per company, so
every filing they make agrees with itself (assets = liabilities + equity, quarters add up to
the year, EPS = net income / shares) except where the sample injects a known problem.

Company ``i``'s model depends only on ``(seed, i)``, never on how many companies are made, so
the first 40 companies of the default dataset are the 40 companies of a small one.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

#: fiscal years modelled: 2021 and 2022 appear only as comparatives of the 2023/2024 filings
YEARS = (2021, 2022, 2023, 2024)
_NAMES_A = ("Apex", "Birch", "Cobalt", "Delta", "Ember", "Falcon", "Granite", "Harbor",
            "Iris", "Juniper", "Keystone", "Lumen", "Meridian", "Northwind", "Orion", "Pinnacle",
            "Quarry", "Redwood", "Summit", "Tidal", "Umbra", "Vertex", "Willow", "Zenith")
_NAMES_B = ("Analytics", "Bancorp", "Biotech", "Capital", "Devices", "Energy", "Foods",
            "Holdings", "Industries", "Logistics", "Materials", "Media", "Networks",
            "Pharma", "Retail", "Robotics", "Semiconductor", "Software", "Systems", "Utilities")
_SUFFIX = ("Inc.", "Corp.", "Co.", "Group Inc.", "Holdings Ltd.")
_SICS = (2834, 3571, 3674, 4911, 5331, 6022, 7372, 7373, 2080, 3711, 1311, 4813)
_STATES = ("CA", "NY", "TX", "WA", "MA", "DE", "IL", "GA", "CO", "NJ")
CITIES = {"CA": "SAN JOSE", "NY": "NEW YORK", "TX": "AUSTIN", "WA": "SEATTLE",
           "MA": "BOSTON", "DE": "WILMINGTON", "IL": "CHICAGO", "GA": "ATLANTA",
           "CO": "DENVER", "NJ": "NEWARK"}
#: the three XBRL tags companies use for total revenue (R8's example), and their odds
REVENUE_TAGS = ("Revenues", "RevenueFromContractWithCustomerExcludingAssessedTax",
                "SalesRevenueNet")
COST_TAGS = ("CostOfRevenue", "CostOfGoodsAndServicesSold")
SEGMENTS = ("Products", "Services", "Licensing")
_EXCHANGES = ("NYSE", "Nasdaq", "NYSE American")


def quarter_end(year: int, quarter: int) -> date:
    """The last day of calendar quarter ``quarter`` (1-4) of ``year``."""
    return date(year, 3 * quarter, 31 if quarter in (1, 4) else 30)


@dataclass
class Company:
    """One filer: identity, reporting habits and its true figures per period."""

    index: int
    cik: int
    name: str
    sic: int
    state: str
    revenue_tag: str
    cost_tag: str
    #: flows per (year, quarter 1-4): concept -> value in USD (EPS in USD/share)
    flows: dict[tuple[int, int], dict[str, float]] = field(default_factory=dict)
    #: balance sheet at each quarter end: concept -> value
    instants: dict[tuple[int, int], dict[str, float | None]] = field(default_factory=dict)
    shares: dict[tuple[int, int], float] = field(default_factory=dict)
    public_float: dict[int, float] = field(default_factory=dict)
    #: kinds of amendment this company files: "10-K/A" (FY2022) and/or "10-Q/A" (Q1 2023)
    amendments: tuple[str, ...] = ()
    #: the error its original (later amended) filings carry: concept -> multiplier
    misstatement: dict[str, float] = field(default_factory=dict)
    #: reports both Revenues and the contract-revenue tag (R7's dedup picks Revenues)
    dual_revenue: bool = False
    segments: tuple[str, ...] = ()
    segment_shares: tuple[float, ...] = ()
    coregistrant: str = ""
    custom_tag: bool = False
    #: stock split ratio effective from Q2 2024 (1 = none), and its ex-date
    split_ratio: int = 1
    split_date: date | None = None
    #: exchange ticker and listing ("" for a filer without listed shares)
    ticker: str = ""
    exchange: str = ""
    #: the balance sheet does not balance in this year's 10-K (validation finds it)
    imbalanced_year: int = 0
    filing_days: dict[tuple[int, int], int] = field(default_factory=dict)


def build_company(seed: int, index: int) -> Company:
    """Company ``index`` of the dataset seeded with ``seed``."""
    rng = random.Random(seed * 1_000_003 + index)
    state = rng.choice(_STATES)
    company = Company(
        index=index,
        cik=1_000_000 + index * 17 + seed % 17,
        name=f"{rng.choice(_NAMES_A)} {rng.choice(_NAMES_B)} {index:04d} {rng.choice(_SUFFIX)}",
        sic=rng.choice(_SICS), state=state,
        revenue_tag=rng.choices(REVENUE_TAGS, weights=(6, 3, 1))[0],
        cost_tag=rng.choice(COST_TAGS),
    )
    amend_10k, amend_10q = rng.random() < 0.04, rng.random() < 0.02
    company.amendments = tuple(kind for kind, yes in (("10-K/A", amend_10k),
                                                       ("10-Q/A", amend_10q)) if yes)
    if company.amendments:
        company.misstatement = {"revenue": 1 + rng.choice((-1, 1)) * rng.uniform(0.02, 0.08),
                                "net_income": 1 + rng.choice((-1, 1)) * rng.uniform(0.05, 0.2)}
    company.dual_revenue = company.revenue_tag == "Revenues" and rng.random() < 0.08
    if rng.random() < 0.25:
        count = rng.choice((2, 3))
        company.segments = SEGMENTS[:count]
        weights = [rng.uniform(0.5, 2.0) for _ in range(count)]
        company.segment_shares = tuple(w / sum(weights) for w in weights)
    company.coregistrant = "Subsidiary Finance LLC" if rng.random() < 0.01 else ""
    company.custom_tag = rng.random() < 0.1
    company.split_ratio = rng.choice((2, 3, 4)) if rng.random() < 0.015 else 1
    company.imbalanced_year = 2023 if rng.random() < 0.01 else 0
    _model_figures(company, rng)
    for year in (2023, 2024):
        for quarter in range(4):
            company.filing_days[(year, quarter)] = rng.randint(0, 25 if quarter else 40)
    _add_reference_data(company, random.Random(f"sec-detail-{seed}-{index}"))
    return company


def _add_reference_data(company: Company, rng: random.Random) -> None:
    """Listing, split ex-date and the balance sheet detail Beneish's M needs (net PP&E,
    non-current securities), drawn from a stream of their own so every figure above stays
    what it was before they existed."""
    if company.split_ratio > 1:
        # after the Q1 2024 10-Q's cover date (at most May 15), inside Q2: the Q2 10-Q's
        # weighted shares are on the new basis for the whole quarter, as GAAP has them
        company.split_date = date(2024, 6, 3) + timedelta(days=rng.randint(0, 20))
    if company.index % 50 != 49:  # a few filers have no listed shares (debt-only issuers)
        company.ticker = company.name[0] + _letters(company.index)
        company.exchange = rng.choices(_EXCHANGES, weights=(5, 4, 1))[0]
    has_securities = rng.random() < 0.5
    for key, sheet in company.instants.items():
        total = float(sheet["assets"] or 0.0)
        sheet["ppe"] = round(total * rng.uniform(0.1, 0.35))
        sheet["securities"] = round(total * rng.uniform(0.01, 0.08)) if has_securities \
            else None
        company.instants[key] = sheet


def _letters(index: int) -> str:
    """``index`` as four letters (AAAA, AAAB, ...): unique for up to 456,976 companies."""
    out = ""
    for _ in range(4):
        index, rest = divmod(index, 26)
        out = chr(ord("A") + rest) + out
    return out


def _model_figures(company: Company, rng: random.Random) -> None:
    """Fill the company's true flows, balance sheets, shares and public float."""
    revenue = 10 ** rng.uniform(6.8, 10.7)
    growth = rng.uniform(-0.1, 0.3)
    gross = rng.uniform(0.15, 0.75)
    loss_maker = rng.random() < 0.1
    sga = gross + rng.uniform(0.02, 0.25) if loss_maker else gross * rng.uniform(0.3, 0.8)
    turnover = rng.uniform(0.4, 1.6)
    leverage = rng.uniform(0.25, 0.95)
    shares = revenue / rng.uniform(5, 80)  # revenue per share of $5-$80
    has_inventory = rng.random() < 0.6
    price_to_book = rng.uniform(0.8, 6.0)
    for year in YEARS:
        annual = revenue * (1 + growth) ** (year - 2021) * rng.uniform(0.95, 1.05)
        weights = [rng.uniform(0.8, 1.2) for _ in range(4)]
        for quarter in range(1, 5):
            rev = annual * weights[quarter - 1] / sum(weights)
            cost = rev * (1 - gross * rng.uniform(0.97, 1.03))
            opex = rev * sga * rng.uniform(0.97, 1.03)
            operating = rev - cost - opex
            assets = annual / turnover
            interest = assets * leverage * 0.4 * rng.uniform(0.01, 0.02)
            pretax = operating - interest
            tax = max(pretax, 0.0) * 0.21
            net = pretax - tax
            split = company.split_ratio if (year, quarter) >= (2024, 2) else 1
            weighted = round(shares * split * (1 + 0.01 * (year - 2021)))
            company.shares[(year, quarter)] = weighted
            company.flows[(year, quarter)] = {
                "revenue": round(rev), "cost": round(cost), "gross_profit": round(rev - cost),
                "sga": round(opex), "operating_income": round(operating),
                "interest": round(interest), "tax": round(tax), "net_income": round(net),
                "eps": round(net / weighted, 2), "diluted_shares": round(weighted),
                "cfo": round(net * rng.uniform(0.9, 1.4) + rev * 0.05),
                "dna": round(rev * rng.uniform(0.02, 0.08)),
            }
            total = assets * rng.uniform(0.97, 1.03)
            liabilities = total * leverage * rng.uniform(0.97, 1.03)
            current = total * rng.uniform(0.25, 0.55)
            equity = total - liabilities
            company.instants[(year, quarter)] = {
                "assets": round(total), "current_assets": round(current),
                "cash": round(current * rng.uniform(0.15, 0.5)),
                "receivables": round(current * rng.uniform(0.15, 0.35)),
                "inventory": round(current * rng.uniform(0.1, 0.3)) if has_inventory else None,
                "liabilities": round(liabilities),
                "current_liabilities": round(liabilities * rng.uniform(0.3, 0.6)),
                "long_term_debt": round(liabilities * rng.uniform(0.2, 0.6)),
                "equity": round(total) - round(liabilities),
                "retained_earnings": round(equity * rng.uniform(-0.3, 0.8)),
                "liabilities_and_equity": round(total),
            }
        company.public_float[year] = round(max(equity, total * 0.1) * price_to_book
                                           * rng.uniform(0.6, 0.95))
    if company.imbalanced_year:
        sheet = company.instants[(company.imbalanced_year, 4)]
        sheet["liabilities_and_equity"] = round(float(sheet["assets"] or 0.0) * 1.03)


def annual_flows(company: Company, year: int) -> dict[str, float]:
    """A fiscal year's flows: quarters summed, EPS over the year's average diluted shares."""
    quarters = [company.flows[(year, q)] for q in range(1, 5)]
    total = {key: float(sum(q[key] for q in quarters)) for key in quarters[0]}
    shares = sum(company.shares[(year, q)] for q in range(1, 5)) / 4
    total["diluted_shares"] = round(shares)
    total["eps"] = round(total["net_income"] / shares, 2)
    return total


def ytd_flows(company: Company, year: int, quarter: int) -> dict[str, float]:
    """Year-to-date flows through ``quarter`` (the cash flow statement's basis in a 10-Q)."""
    quarters = [company.flows[(year, q)] for q in range(1, quarter + 1)]
    return {key: float(sum(q[key] for q in quarters)) for key in quarters[0]}
