"""Altman Z, Piotroski F and Beneish M against published formulas and worked examples, computed
by hand here, and their NaN policy on bad rows.

Sources: Altman, "Financial Ratios, Discriminant Analysis and the Prediction of Corporate
Bankruptcy", Journal of Finance 23(4), 1968 (weights and zones); Piotroski, "Value Investing:
The Use of Historical Financial Statement Information to Separate Winners from Losers",
Journal of Accounting Research 38, 2000 (the nine signals); Beneish, "The Detection of
Earnings Manipulation", Financial Analysts Journal 55(5), 1999 (coefficients, -1.78).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.finance import (
    BENEISH_THRESHOLD,
    PIOTROSKI_SIGNALS,
    altman_z,
    altman_zone,
    beneish_indices,
    beneish_m,
    piotroski_f,
    piotroski_signals,
)

# F7's GE statements (spec, "F7 — Credit Risk Scoring Workflow")
GE = dict(
    net_income=9_483e6, operating_cash_flow=12_340e6, total_assets=163_245e6,
    current_assets=45_872e6, current_liabilities=38_204e6, total_liabilities=120_634e6,
    gross_profit=22_578e6, revenue=67_954e6, shares_outstanding=1_087e6,
    prev_roa=0.048, prev_current_ratio=1.15, prev_gross_margin=0.31, prev_leverage=0.76,
    prev_shares_outstanding=1_092e6,
)


def test_altman_textbook_exercise_from_ratios() -> None:
    # a standard exercise: WC/TA .34, RE/TA .15, EBIT/TA 0, MVE/TL .80, S/TA 1.6 → Z = 2.70
    z = altman_z(0.34, 0.15, 0.0, 0.80, 1.0, 1.6, 1.0)
    assert round(z, 2) == 2.70
    assert altman_zone(z) == "GREY"


def test_altman_on_f7_ge_statements_by_hand() -> None:
    """F7's code gives this figure; its comment's "Z=2.47 (GREY)" disagrees, and the code wins."""
    x1, x2, x3 = 7_668 / 163_245, 18_450 / 163_245, 8_236 / 163_245
    x4, x5 = 198_340 / 120_634, 67_954 / 163_245
    by_hand = 1.2 * x1 + 1.4 * x2 + 3.3 * x3 + 0.6 * x4 + 1.0 * x5
    z = altman_z(7_668e6, 18_450e6, 8_236e6, 198_340e6, 120_634e6, 67_954e6, 163_245e6)
    assert z == pytest.approx(by_hand, rel=1e-14)
    assert round(z, 4) == 1.7838
    assert altman_zone(z) == "DISTRESS"


def test_altman_zones_follow_f7_cut_offs() -> None:
    zones = altman_zone(np.array([3.5, 2.99, 2.0, 1.81, 0.5, np.nan]))
    assert list(zones) == ["SAFE", "GREY", "GREY", "DISTRESS", "DISTRESS", "UNKNOWN"]
    series = altman_zone(pd.Series([3.5, 1.0], index=["a", "b"]))
    assert series.to_dict() == {"a": "SAFE", "b": "DISTRESS"}


def test_altman_batch_with_bad_rows() -> None:
    z = altman_z([1.0, 1.0, None, 1.0], 1.0, 1.0, 1.0, [1.0, 0.0, 1.0, 1.0], 1.0,
                 [10.0, 10.0, 10.0, 0.0])
    assert z[0] == pytest.approx((1.2 + 1.4 + 3.3 + 1.0) / 10 + 0.6)
    assert np.isnan(z[1:]).all()


def test_altman_series_keep_their_index() -> None:
    index = pd.Index(["AAA", "BBB"], name="ticker")
    z = altman_z(pd.Series([1.0, 2.0], index=index), 0.0, 0.0, 0.0, 1.0, 0.0, 10.0)
    assert isinstance(z, pd.Series) and z.index.equals(index)
    assert z.tolist() == pytest.approx([0.12 + 0.0, 0.24])


def test_piotroski_on_f7_ge_statements() -> None:
    """By hand: ROA 5.81 % > 0 and > 4.8 %; CFO > 0; CFO/TA 7.56 % > ROA; leverage 0.739 < 0.76;
    current ratio 1.2007 > 1.15; shares 1,087M <= 1,092M; gross margin 33.2 % > 31 %; asset
    turnover 0.4163 vs a prior 0.45 → fails: F = 8."""
    signals = piotroski_signals(**GE, prev_asset_turnover=0.45)
    assert list(signals) == list(PIOTROSKI_SIGNALS)
    assert [name for name, passed in signals.items() if passed == 0.0] == ["turnover_improving"]
    assert piotroski_f(**GE, prev_asset_turnover=0.45) == 8.0
    assert piotroski_f(**GE, prev_asset_turnover=0.40) == 9.0


@pytest.mark.parametrize(("change", "failed"), [
    ({"net_income": -1.0, "prev_roa": -0.5}, ["roa_positive"]),
    # CFO <= 0 with ROA > 0 always fails the accruals test too
    ({"operating_cash_flow": -5.0}, ["cfo_positive", "accruals"]),
    ({"prev_roa": 0.5}, ["roa_improving"]),
    ({"operating_cash_flow": 0.5}, ["accruals"]),
    ({"prev_leverage": 0.1}, ["leverage_falling"]),
    ({"prev_current_ratio": 9.0}, ["liquidity_improving"]),
    ({"shares_outstanding": 101.0}, ["no_dilution"]),
    ({"prev_gross_margin": 0.9}, ["margin_improving"]),
    ({"prev_asset_turnover": 9.0}, ["turnover_improving"]),
])
def test_each_piotroski_signal_fails_on_its_own(change: dict[str, float],
                                                failed: list[str]) -> None:
    strong = dict(net_income=1.0, operating_cash_flow=2.0, total_assets=10.0,
                  current_assets=4.0, current_liabilities=2.0, total_liabilities=3.0,
                  gross_profit=4.0, revenue=8.0, shares_outstanding=100.0, prev_roa=0.05,
                  prev_current_ratio=1.5, prev_gross_margin=0.4, prev_leverage=0.4,
                  prev_shares_outstanding=100.0, prev_asset_turnover=0.7)
    assert piotroski_f(**strong) == 9.0
    signals = piotroski_signals(**(strong | change))
    assert [name for name, passed in signals.items() if passed == 0.0] == failed
    assert piotroski_f(**(strong | change)) == 9.0 - len(failed)


def test_piotroski_is_nan_when_a_signal_cannot_be_decided() -> None:
    scores = piotroski_f(**(GE | {"total_assets": [163_245e6, 0.0, np.nan]}),
                         prev_asset_turnover=0.4)
    assert scores[0] == 9.0 and np.isnan(scores[1:]).all()
    signals = piotroski_signals(**(GE | {"total_assets": 0.0}), prev_asset_turnover=0.4)
    assert signals["cfo_positive"] == 1.0 and np.isnan(signals["roa_positive"])


def test_beneish_with_no_change_scores_minus_2_48() -> None:
    # all indices 1 and no accruals: -4.84 + .920 + .528 + .404 + .892 + .115 - .172 - .327
    assert beneish_m(1, 1, 1, 1, 1, 1, 0, 1) == pytest.approx(-2.48, abs=1e-12)
    assert beneish_m(1, 1, 1, 1, 1, 1, 0, 1) < BENEISH_THRESHOLD


def test_beneish_m_by_hand() -> None:
    dsri, gmi, aqi, sgi, depi, sgai, tata, lvgi = 1.465, 1.193, 1.254, 1.607, 1.077, 1.041, \
        0.031, 1.111
    by_hand = (-4.84 + 0.920 * dsri + 0.528 * gmi + 0.404 * aqi + 0.892 * sgi + 0.115 * depi
               - 0.172 * sgai + 4.679 * tata - 0.327 * lvgi)
    m = beneish_m(dsri, gmi, aqi, sgi, depi, sgai, tata, lvgi)
    assert m == pytest.approx(by_hand, rel=1e-14)
    assert m > BENEISH_THRESHOLD


def test_beneish_indices_from_statements_by_hand() -> None:
    prior = dict(prev_receivables=100.0, prev_sales=1000.0, prev_cogs=600.0,
                 prev_current_assets=400.0, prev_ppe=300.0, prev_total_assets=1000.0,
                 prev_depreciation=50.0, prev_sga=100.0, prev_current_liabilities=200.0,
                 prev_long_term_debt=200.0)
    current = dict(receivables=300.0, sales=1500.0, cogs=1000.0, current_assets=500.0,
                   ppe=400.0, total_assets=1200.0, depreciation=40.0, sga=120.0,
                   current_liabilities=300.0, long_term_debt=300.0,
                   income_continuing_ops=150.0, operating_cash_flow=30.0)
    got = beneish_indices(**current, **prior)
    expected = {
        "dsri": (300 / 1500) / (100 / 1000),
        "gmi": (400 / 1000) / (500 / 1500),
        "aqi": (1 - 900 / 1200) / (1 - 700 / 1000),
        "sgi": 1500 / 1000,
        "depi": (50 / 350) / (40 / 440),
        "sgai": (120 / 1500) / (100 / 1000),
        "tata": (150 - 30) / 1200,
        "lvgi": (600 / 1200) / (400 / 1000),
    }
    assert got == pytest.approx(expected, rel=1e-14)
    assert beneish_m(**got) == pytest.approx(beneish_m(*expected.values()), rel=1e-14)
    with_securities = beneish_indices(**current, **prior, securities=60.0, prev_securities=0.0)
    assert with_securities["aqi"] == pytest.approx((1 - 960 / 1200) / (1 - 700 / 1000))


def test_beneish_zero_denominators_give_nan() -> None:
    zeros = dict.fromkeys(
        ["receivables", "sales", "cogs", "current_assets", "ppe", "total_assets",
         "depreciation", "sga", "current_liabilities", "long_term_debt",
         "income_continuing_ops", "operating_cash_flow", "prev_receivables", "prev_sales",
         "prev_cogs", "prev_current_assets", "prev_ppe", "prev_total_assets",
         "prev_depreciation", "prev_sga", "prev_current_liabilities", "prev_long_term_debt"],
        0.0)
    indices = beneish_indices(**zeros)
    assert all(np.isnan(value) for value in indices.values())
    assert np.isnan(beneish_m(**indices))
