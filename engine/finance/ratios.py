"""Financial statement ratios (spec §8 and R4's tearsheet tiers), element-wise over batches.

Each ratio takes numbers, arrays or pandas Series (broadcast together; a scalar in gives a float
out, a Series in gives a Series with the same index) and never raises on data: a zero
denominator or a missing input gives NaN for that row. Signs are kept as computed — a negative
equity gives a negative ROE, a loss gives a negative P/E — because hiding them would hide
distress; filter on the sign where a screen needs to.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from ._array import FloatArray, Result, Values, batch
from ._jit import launch, parallel

__all__ = [
    "cash_ratio",
    "current_ratio",
    "debt_to_assets",
    "debt_to_ebitda",
    "debt_to_equity",
    "enterprise_value",
    "ev_to_ebitda",
    "gross_margin",
    "interest_coverage",
    "net_margin",
    "operating_margin",
    "price_to_book",
    "price_to_earnings",
    "quick_ratio",
    "return_on_assets",
    "return_on_equity",
    "return_on_invested_capital",
    "working_capital",
]

#: the US federal statutory corporate rate since 2018, ROIC's default tax rate
US_CORPORATE_TAX_RATE = 0.21


@parallel
def _ratio_kernel(numerator: FloatArray, denominator: FloatArray) -> FloatArray:
    """``numerator / denominator`` per element, NaN where the denominator is zero."""
    out = np.empty(numerator.size)
    for i in prange(numerator.size):
        d = denominator[i]
        q = numerator[i] / d  # divide, then select: the branch-free body vectorises
        out[i] = q if d != 0.0 else np.nan
    return out


@parallel
def _spread_ratio_kernel(a: FloatArray, b: FloatArray,
                         denominator: FloatArray) -> FloatArray:
    """``(a - b) / denominator`` per element, NaN where the denominator is zero."""
    out = np.empty(a.size)
    for i in prange(a.size):
        d = denominator[i]
        q = (a[i] - b[i]) / d
        out[i] = q if d != 0.0 else np.nan
    return out


def _ratio(numerator: Values, denominator: Values) -> Result:
    """``numerator / denominator`` row by row, NaN where the denominator is zero."""
    b = batch(numerator, denominator)
    return b.wrap(launch(_ratio_kernel, *b.arrays))


def _spread_ratio(a: Values, b: Values, denominator: Values) -> Result:
    """``(a - b) / denominator`` row by row, NaN where the denominator is zero."""
    inputs = batch(a, b, denominator)
    return inputs.wrap(launch(_spread_ratio_kernel, *inputs.arrays))


# -- profitability ------------------------------------------------------------------------


def gross_margin(revenue: Values, cogs: Values) -> Result:
    """``(revenue - cogs) / revenue``: the share of each sale left after direct costs (R4 order)."""
    return _spread_ratio(revenue, cogs, revenue)


def operating_margin(operating_income: Values, revenue: Values) -> Result:
    """``operating_income / revenue``: what the business earns from operations per sale."""
    return _ratio(operating_income, revenue)


def net_margin(net_income: Values, revenue: Values) -> Result:
    """``net_income / revenue``: what is kept of each sale after every cost, interest and tax."""
    return _ratio(net_income, revenue)


def return_on_equity(net_income: Values, equity: Values) -> Result:
    """``net_income / equity``: the return shareholders' book capital earns (F5's ROE)."""
    return _ratio(net_income, equity)


def return_on_assets(net_income: Values, total_assets: Values) -> Result:
    """``net_income / total_assets``: how well the whole balance sheet is put to work."""
    return _ratio(net_income, total_assets)


def return_on_invested_capital(operating_income: Values, total_debt: Values, equity: Values,
                               cash: Values = 0.0,
                               tax_rate: Values = US_CORPORATE_TAX_RATE) -> Result:
    """``operating_income × (1 - tax_rate) / (total_debt + equity - cash)``: NOPAT over the
    capital lenders and owners put in, net of idle cash (R4's ROIC)."""
    b = batch(operating_income, tax_rate, total_debt, equity, cash)
    ebit, tax, debt, book, idle = b.arrays
    nopat = ebit * (1.0 - tax)
    invested = debt + book - idle
    return b.wrap(launch(_ratio_kernel, nopat, invested))


# -- liquidity ------------------------------------------------------------------------------


def current_ratio(current_assets: Values, current_liabilities: Values) -> Result:
    """``current_assets / current_liabilities``: can the next year's bills be paid."""
    return _ratio(current_assets, current_liabilities)


def quick_ratio(current_assets: Values, current_liabilities: Values, inventory: Values) -> Result:
    """``(current_assets - inventory) / current_liabilities``: the current ratio without the
    stock that may not sell in time (the acid test)."""
    return _spread_ratio(current_assets, inventory, current_liabilities)


def cash_ratio(cash: Values, current_liabilities: Values) -> Result:
    """``cash / current_liabilities``: the bills cash on hand alone covers."""
    return _ratio(cash, current_liabilities)


def working_capital(current_assets: Values, current_liabilities: Values) -> Result:
    """``current_assets - current_liabilities``, in currency (Altman's X1 numerator, R4)."""
    b = batch(current_assets, current_liabilities)
    assets, liabilities = b.arrays
    return b.wrap(assets - liabilities)


# -- leverage -------------------------------------------------------------------------------


def debt_to_equity(debt: Values, equity: Values) -> Result:
    """``debt / equity``: how much of the business lenders fund per unit owners fund; pass total
    debt or total liabilities, whichever your convention uses."""
    return _ratio(debt, equity)


def debt_to_assets(debt: Values, total_assets: Values) -> Result:
    """``debt / total_assets``: the share of assets financed by creditors."""
    return _ratio(debt, total_assets)


def debt_to_ebitda(debt: Values, ebitda: Values) -> Result:
    """``debt / ebitda``: years of operating cash earnings needed to repay debt (R4)."""
    return _ratio(debt, ebitda)


def interest_coverage(ebit: Values, interest_expense: Values) -> Result:
    """``ebit / interest_expense``: how many times operating profit covers interest due."""
    return _ratio(ebit, interest_expense)


# -- valuation ------------------------------------------------------------------------------


def price_to_earnings(price: Values, eps: Values) -> Result:
    """``price / eps``: what the market pays per unit of earnings."""
    return _ratio(price, eps)


def price_to_book(price: Values, book_value_per_share: Values) -> Result:
    """``price / book_value_per_share``: market value over accounting net worth."""
    return _ratio(price, book_value_per_share)


def enterprise_value(market_cap: Values, total_debt: Values, cash: Values) -> Result:
    """``market_cap + total_debt - cash``: what buying the whole business would cost."""
    b = batch(market_cap, total_debt, cash)
    cap, debt, idle = b.arrays
    return b.wrap(cap + debt - idle)


def ev_to_ebitda(enterprise_value: Values, ebitda: Values) -> Result:
    """``enterprise_value / ebitda``: a valuation multiple blind to capital structure."""
    return _ratio(enterprise_value, ebitda)
