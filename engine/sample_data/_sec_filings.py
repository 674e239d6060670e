"""What each made-up company files and when, as rows of EDGAR's financial statement data
sets: ``sub`` (one row per filing), ``num`` (one per fact), ``tag`` (the taxonomy) and ``pre``
(where a tag sits in a statement), tab-separated, one ZIP per calendar quarter of filing.

Each company files a 10-K in Q1 and 10-Qs in Q2-Q4 of 2023 and 2024. A filing reports the
current period and, as real filings do, comparative figures of the prior year (which the
silver layer marks ``is_comparative_period``). Some companies later file a 10-K/A or 10-Q/A
restating revenue and net income; their original filing carries the misstatement.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from ._sec_model import CITIES, Company, annual_flows, quarter_end, ytd_flows

#: the calendar quarters of filing the sample covers, one data set (ZIP) each
PARTITIONS = tuple(f"{year}q{q}" for year in (2023, 2024) for q in range(1, 5))

SUB_COLUMNS = ("adsh", "cik", "name", "sic", "countryba", "stprba", "cityba", "form",
               "period", "fy", "fp", "filed", "accepted", "prevrpt", "instance")
NUM_COLUMNS = ("adsh", "tag", "version", "ddate", "qtrs", "uom", "segments", "coreg", "value",
               "footnote")
TAG_COLUMNS = ("tag", "version", "custom", "abstract", "datatype", "iord", "crdr", "tlabel",
               "doc")
PRE_COLUMNS = ("adsh", "report", "line", "stmt", "inpth", "rfile", "tag", "version", "plabel",
               "negating")

#: concept -> (tag, unit, statement, label); revenue and cost tags vary by company
FLOW_TAGS = {
    "revenue": ("", "USD", "IS", "Total revenue"),
    "cost": ("", "USD", "IS", "Cost of revenue"),
    "gross_profit": ("GrossProfit", "USD", "IS", "Gross profit"),
    "sga": ("SellingGeneralAndAdministrativeExpense", "USD", "IS",
            "Selling, general and administrative"),
    "operating_income": ("OperatingIncomeLoss", "USD", "IS", "Operating income (loss)"),
    "interest": ("InterestExpense", "USD", "IS", "Interest expense"),
    "tax": ("IncomeTaxExpenseBenefit", "USD", "IS", "Income tax expense"),
    "net_income": ("NetIncomeLoss", "USD", "IS", "Net income (loss)"),
    "eps": ("EarningsPerShareDiluted", "USD/shares", "IS", "Diluted EPS"),
    "diluted_shares": ("WeightedAverageNumberOfDilutedSharesOutstanding", "shares", "IS",
                       "Weighted average diluted shares"),
    "cfo": ("NetCashProvidedByUsedInOperatingActivities", "USD", "CF",
            "Net cash from operating activities"),
    "dna": ("DepreciationDepletionAndAmortization", "USD", "CF", "Depreciation and amortization"),
}
INSTANT_TAGS = {
    "assets": ("Assets", "Total assets"),
    "current_assets": ("AssetsCurrent", "Total current assets"),
    "cash": ("CashAndCashEquivalentsAtCarryingValue", "Cash and cash equivalents"),
    "receivables": ("AccountsReceivableNetCurrent", "Accounts receivable, net"),
    "inventory": ("InventoryNet", "Inventories"),
    "ppe": ("PropertyPlantAndEquipmentNet", "Property, plant and equipment, net"),
    "securities": ("MarketableSecuritiesNoncurrent", "Marketable securities, non-current"),
    "liabilities": ("Liabilities", "Total liabilities"),
    "current_liabilities": ("LiabilitiesCurrent", "Total current liabilities"),
    "long_term_debt": ("LongTermDebt", "Long-term debt"),
    "equity": ("StockholdersEquity", "Total stockholders' equity"),
    "retained_earnings": ("RetainedEarningsAccumulatedDeficit", "Retained earnings"),
    "liabilities_and_equity": ("LiabilitiesAndStockholdersEquity",
                               "Total liabilities and stockholders' equity"),
}
DEI_TAGS = {"EntityPublicFloat": ("USD", "Public float"),
            "EntityCommonStockSharesOutstanding": ("shares", "Shares outstanding")}
OTHER_REVENUE_TAGS = ("Revenues", "RevenueFromContractWithCustomerExcludingAssessedTax",
                      "SalesRevenueNet", "CostOfRevenue", "CostOfGoodsAndServicesSold")
CUSTOM_TAG = "AdjustedEbitda"
_ANNUAL_COMPARATIVES = ("revenue", "operating_income", "net_income", "eps", "cfo")
_QUARTER_COMPARATIVES = ("revenue", "net_income", "eps")
_BALANCE_COMPARATIVES = ("assets", "liabilities", "equity")
_REPORTS = {"IS": 2, "BS": 4, "CF": 6}


@dataclass(frozen=True, slots=True)
class Filing:
    """One submission: who, which form, for which fiscal period, filed when and where."""

    company: Company
    adsh: str
    form: str
    fiscal_year: int
    fiscal_quarter: int  # 0 for a full year
    period: date
    filed: date
    partition: str
    misstated: bool

    @property
    def fp(self) -> str:
        return "FY" if self.fiscal_quarter == 0 else f"Q{self.fiscal_quarter}"

    @property
    def version(self) -> str:
        return f"us-gaap/{self.filed.year - 1}"

    @property
    def dei_version(self) -> str:
        return f"dei/{self.filed.year - 1}"


def filings_of(company: Company) -> list[Filing]:
    """Every filing ``company`` makes, in filing order, amendments included."""
    out: list[Filing] = []
    seq = {2023: 100, 2024: 100}

    def add(form: str, fiscal_year: int, quarter: int, filed: date, partition: str,
            misstated: bool = False) -> None:
        seq[filed.year] += 1
        adsh = f"{company.cik:010d}-{filed.year % 100:02d}-{seq[filed.year]:06d}"
        period = quarter_end(fiscal_year, quarter or 4)
        out.append(Filing(company, adsh, form, fiscal_year, quarter, period, filed, partition,
                          misstated))

    for year in (2023, 2024):
        for q in range(4):
            delay = company.filing_days[(year, q)]
            partition = f"{year}q{q + 1}"
            if q == 0:
                misstated = year == 2023 and "10-K/A" in company.amendments
                add("10-K", year - 1, 0, date(year, 2, 10) + timedelta(days=delay), partition,
                    misstated)
            else:
                misstated = (year, q) == (2023, 1) and "10-Q/A" in company.amendments
                add("10-Q", year, q, quarter_end(year, q) + timedelta(days=25 + delay),
                    partition, misstated)
            if year == 2023 and q == 1 and "10-K/A" in company.amendments \
                    and company.index % 2 == 0:
                add("10-K/A", 2022, 0, date(2023, 6, 5) + timedelta(days=delay), partition)
            if year == 2023 and q == 2:
                if "10-K/A" in company.amendments and company.index % 2 == 1:
                    add("10-K/A", 2022, 0, date(2023, 8, 21) + timedelta(days=delay),
                        partition)
                if "10-Q/A" in company.amendments:
                    add("10-Q/A", 2023, 1, date(2023, 8, 28) + timedelta(days=delay),
                        partition)
    return sorted(out, key=lambda f: (f.filed, f.adsh))


def sub_row(filing: Filing) -> tuple[str, ...]:
    """The filing's ``sub.txt`` row."""
    c = filing.company
    return (filing.adsh, str(c.cik), c.name, str(c.sic), "US", c.state,
            _city(c.state), filing.form, _ymd(filing.period), str(filing.fiscal_year),
            filing.fp, _ymd(filing.filed), f"{filing.filed.isoformat()} 16:05:00.0", "0",
            f"c{c.cik}-{_ymd(filing.period)}_htm.xml")


def num_rows(filing: Filing) -> Iterator[tuple[str, ...]]:
    """The filing's facts as ``num.txt`` rows: current period, comparatives, cover page."""
    c, year, q = filing.company, filing.fiscal_year, filing.fiscal_quarter
    comparatives: tuple[str, ...]
    if q == 0:
        current, qtrs = annual_flows(c, year), 4
        prior = annual_flows(c, year - 1)
        prior_end, comparatives = quarter_end(year - 1, 4), _ANNUAL_COMPARATIVES
    else:
        current, qtrs = dict(c.flows[(year, q)]), 1
        prior = c.flows[(year - 1, q)]
        prior_end, comparatives = quarter_end(year - 1, q), _QUARTER_COMPARATIVES
    if filing.misstated:
        current = _misstate(c, current)
    yield from _flows(filing, current, qtrs, filing.period, skip_cash_flow=q > 0)
    if q > 0:
        ytd = ytd_flows(c, year, q)
        yield from _flows(filing, ytd, q, filing.period,
                          only=("cfo", "dna") if q == 1 else ("cfo", "dna", "revenue",
                                                              "net_income"))
    yield from _flows(filing, prior, qtrs, prior_end, only=comparatives)
    sheet = c.instants[(year, q or 4)]
    yield from _instants(filing, sheet, filing.period, INSTANT_TAGS)
    yield from _instants(filing, c.instants[(year - 1, 4)], quarter_end(year - 1, 4),
                         _BALANCE_COMPARATIVES)
    shares_at = filing.filed - timedelta(days=5)
    yield (filing.adsh, "EntityCommonStockSharesOutstanding", filing.dei_version,
           _ymd(shares_at), "0", "shares", "", "", _number(c.shares[(year, q or 4)]), "")
    if q == 0:
        yield from _annual_extras(filing, current)


def _annual_extras(filing: Filing, current: dict[str, float]) -> Iterator[tuple[str, ...]]:
    """What only a 10-K carries: public float, revenue by segment, the odd extra tag."""
    c, end = filing.company, _ymd(filing.period)
    yield (filing.adsh, "EntityPublicFloat", filing.dei_version,
           f"{filing.fiscal_year}0630", "0", "USD", "", "",
           _number(c.public_float[filing.fiscal_year]), "")
    for segment, share in zip(c.segments, c.segment_shares, strict=True):
        yield (filing.adsh, c.revenue_tag, filing.version, end, "4", "USD",
               f"BusinessSegments={segment};", "", _number(round(current["revenue"] * share)),
               "")
    if c.dual_revenue:
        yield (filing.adsh, "RevenueFromContractWithCustomerExcludingAssessedTax",
               filing.version, end, "4", "USD", "", "",
               _number(round(current["revenue"] * 0.97)), "")
    if c.coregistrant:
        yield (filing.adsh, "NetIncomeLoss", filing.version, end, "4", "USD", "",
               c.coregistrant, _number(round(current["net_income"] * 0.4)), "")
    if c.custom_tag:
        yield (filing.adsh, CUSTOM_TAG, filing.adsh, end, "4", "USD", "", "",
               _number(current["operating_income"] + current["dna"]), "")


def pre_rows(filing: Filing) -> Iterator[tuple[str, ...]]:
    """Where each of a 10-K's statement tags sits (``pre.txt``); 10-Qs are left out to keep
    the sample small."""
    c = filing.company
    lines = dict.fromkeys(_REPORTS, 0)
    for concept, (tag, _unit, stmt, label) in FLOW_TAGS.items():
        lines[stmt] += 1
        yield (filing.adsh, str(_REPORTS[stmt]), str(lines[stmt]), stmt, "0", "H",
               _flow_tag(c, concept, tag), filing.version, label, "0")
    for concept, (tag, label) in INSTANT_TAGS.items():
        if c.instants[(filing.fiscal_year, 4)][concept] is None:  # no inventory, securities
            continue
        lines["BS"] += 1
        yield (filing.adsh, "4", str(lines["BS"]), "BS", "0", "H", tag, filing.version, label,
               "0")


def tag_rows(version_year: int, custom_filings: list[Filing]) -> Iterator[tuple[str, ...]]:
    """The taxonomy rows a quarter's data set carries: the standard tags of that year's
    taxonomy (identical in every quarter of the year) and the filers' custom tags."""
    gaap, dei = f"us-gaap/{version_year}", f"dei/{version_year}"
    seen: set[str] = set()
    for concept, (tag, unit, _stmt, label) in FLOW_TAGS.items():
        tags = (tag,) if tag else (OTHER_REVENUE_TAGS[:3] if concept == "revenue"
                                   else OTHER_REVENUE_TAGS[3:])
        for each in tags:
            if each not in seen:
                seen.add(each)
                yield (each, gaap, "0", "0", _datatype(unit), "D", _crdr(concept),
                       label, f"{label} for the period.")
    for concept, (tag, label) in INSTANT_TAGS.items():
        credit = concept in ("liabilities", "current_liabilities", "long_term_debt", "equity",
                             "retained_earnings", "liabilities_and_equity")
        yield (tag, gaap, "0", "0", "monetary", "I", "C" if credit else "D", label,
               f"{label} at the end of the period.")
    for tag, (unit, label) in DEI_TAGS.items():
        yield (tag, dei, "0", "0", _datatype(unit), "I", "", label, f"{label} (cover page).")
    for filing in custom_filings:
        yield (CUSTOM_TAG, filing.adsh, "1", "0", "monetary", "D", "D",
               "Adjusted EBITDA", "Operating income before depreciation and amortization.")


def malformed_num_rows(partition: str, filing: Filing) -> list[tuple[str, ...]]:
    """Rows a real data set occasionally holds and a loader must survive: a value that is not
    a number (two kinds), an impossible date, and a fact of a filing that is not in ``sub``."""
    end = _ymd(filing.period)
    orphan = f"0009999999-{partition[2:4]}-{int(partition[-1]):06d}"
    return [
        (filing.adsh, "OtherNonoperatingIncomeExpense", filing.version, end, "4", "USD", "",
         "", "N/A", ""),
        (filing.adsh, "OtherComprehensiveIncomeLossNetOfTax", filing.version, end, "4", "USD",
         "", "", "12,5x0", ""),
        (filing.adsh, "IncomeLossFromDiscontinuedOperations", filing.version,
         f"{filing.period.year}1345", "4", "USD", "", "", "1000", ""),
        (orphan, "Revenues", filing.version, end, "4", "USD", "", "", "5000000", ""),
    ]


def short_num_line(filing: Filing) -> str:
    """A truncated line (three fields where ten belong), as a broken export leaves it."""
    return f"{filing.adsh}\tNetIncomeLoss\t{filing.version}"


def _misstate(company: Company, flows: dict[str, float]) -> dict[str, float]:
    """The figures as an original, later amended, filing reported them."""
    out = dict(flows)
    out["revenue"] = round(flows["revenue"] * company.misstatement["revenue"])
    out["gross_profit"] = out["revenue"] - flows["cost"]
    out["net_income"] = round(flows["net_income"] * company.misstatement["net_income"])
    out["eps"] = round(out["net_income"] / flows["diluted_shares"], 2)
    return out


def _flows(filing: Filing, values: dict[str, float], qtrs: int, end: date,
           only: tuple[str, ...] = (), skip_cash_flow: bool = False
           ) -> Iterator[tuple[str, ...]]:
    for concept, (tag, unit, stmt, _label) in FLOW_TAGS.items():
        if only and concept not in only:
            continue
        if skip_cash_flow and stmt == "CF":
            continue
        yield (filing.adsh, _flow_tag(filing.company, concept, tag), filing.version, _ymd(end),
               str(qtrs), unit, "", "", _number(values[concept]), "")


def _instants(filing: Filing, sheet: Mapping[str, float | None], end: date,
              concepts: dict[str, tuple[str, str]] | tuple[str, ...]
              ) -> Iterator[tuple[str, ...]]:
    for concept in concepts:
        value = sheet[concept]
        if value is None:
            continue
        yield (filing.adsh, INSTANT_TAGS[concept][0], filing.version, _ymd(end), "0", "USD",
               "", "", _number(value), "")


def _flow_tag(company: Company, concept: str, tag: str) -> str:
    if concept == "revenue":
        return company.revenue_tag
    if concept == "cost":
        return company.cost_tag
    return tag


def _number(value: float) -> str:
    """A value as EDGAR writes it: whole numbers without a decimal point."""
    return str(int(value)) if float(value).is_integer() else f"{value:.4f}".rstrip("0")


def _ymd(day: date) -> str:
    return day.strftime("%Y%m%d")


def _city(state: str) -> str:
    return CITIES[state]


def _datatype(unit: str) -> str:
    return {"USD": "monetary", "USD/shares": "perShare", "shares": "shares"}[unit]


def _crdr(concept: str) -> str:
    return "C" if concept in ("revenue", "gross_profit", "operating_income", "net_income",
                              "cfo") else "D"
