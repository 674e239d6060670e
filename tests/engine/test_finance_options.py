"""Black-Scholes-Merton prices and Greeks against Hull's published worked examples, put-call
parity and finite differences as properties, the edge cases, and the kernels' safety under
threads and fork.

Source of the figures: John C. Hull, "Options, Futures, and Other Derivatives", 8th ed.
(Pearson, 2012): Example 15.6 (a stock option), Example 17.1 (an index option with a dividend
yield), and chapter 19's running example (S0 = 49, K = 50, r = 5 %, sigma = 20 %, T = 20 weeks)
for delta, gamma, vega, theta and rho.
"""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.finance import GREEKS, black_scholes, greeks


def test_hull_example_15_6_call_and_put() -> None:
    # S0=42, K=40, r=10 %, sigma=20 %, T=6 months: c = 4.76, p = 0.81
    assert black_scholes(42, 40, 0.5, 0.10, 0.0, 0.20) == pytest.approx(4.76, abs=0.005)
    assert black_scholes(42, 40, 0.5, 0.10, 0.0, 0.20, "put") == pytest.approx(0.81, abs=0.005)


def test_hull_example_17_1_index_option_with_dividend_yield() -> None:
    # S0=930, K=900, r=8 %, q=3 %, sigma=20 %, T=2 months: c = 51.83
    price = black_scholes(930, 900, 2 / 12, 0.08, 0.03, 0.20, "call")
    assert price == pytest.approx(51.83, abs=0.005)


def test_hull_chapter_19_greeks_of_the_running_example() -> None:
    g = greeks(49, 50, 20 / 52, 0.05, 0.0, 0.20, "call")
    assert g["price"] == pytest.approx(2.40, abs=0.005)  # the $240,000 for 100,000 calls
    assert g["delta"] == pytest.approx(0.522, abs=0.0005)
    assert g["gamma"] == pytest.approx(0.066, abs=0.0005)
    assert g["vega"] == pytest.approx(12.1, abs=0.05)  # per 1.0 of volatility
    assert g["theta"] == pytest.approx(-4.31, abs=0.005)  # per year
    assert g["theta"] / 365 == pytest.approx(-0.0118, abs=0.00005)  # per calendar day
    assert g["rho"] == pytest.approx(8.91, abs=0.005)  # per 1.0 of rate
    assert list(g) == list(GREEKS)


def test_the_kernels_normal_cdf_matches_erfc_to_machine_precision() -> None:
    """Hart's rational (West, Wilmott 2005) in place of erfc: absolute error below 1e-15."""
    from engine.finance.options import _cdf

    for x in np.linspace(-40.0, 40.0, 4001):
        exact = 0.5 * math.erfc(-x / math.sqrt(2.0))
        assert abs(_cdf(x, math.exp(-0.5 * x * x)) - exact) < 1e-15, x


def test_scalars_give_floats_and_batches_match_scalar_calls() -> None:
    assert type(black_scholes(42, 40, 0.5, 0.1, 0.0, 0.2)) is float
    strikes = np.array([35.0, 40.0, 45.0])
    kinds = np.array(["call", "PUT", "c"])
    batch = black_scholes(42, strikes, 0.5, 0.1, 0.0, 0.2, kinds)
    one_by_one = [black_scholes(42, k, 0.5, 0.1, 0.0, 0.2, kind)
                  for k, kind in zip(strikes, kinds, strict=True)]
    np.testing.assert_allclose(batch, one_by_one, rtol=1e-14)


def test_series_in_series_out_with_the_same_index() -> None:
    spot = pd.Series([40.0, 42.0, 44.0], index=["x", "y", "z"])
    kinds = pd.Series(["call", "put", "call"], index=spot.index)
    price = black_scholes(spot, 40, 0.5, 0.1, 0.0, 0.2, kinds)
    assert isinstance(price, pd.Series) and list(price.index) == ["x", "y", "z"]
    assert price["y"] == pytest.approx(black_scholes(42, 40, 0.5, 0.1, 0.0, 0.2, "put"))
    g = greeks(spot, 40, 0.5, 0.1, 0.0, 0.2)
    assert isinstance(g["delta"], pd.Series) and list(g["delta"].index) == ["x", "y", "z"]


def test_f6_chain_prices_match_the_specs_own_formula() -> None:
    """Every option of F6's chain priced by us equals the spec's inline ``black_scholes``."""

    def spec_black_scholes(S: float, K: float, T: float, r: float, q: float, sigma: float,
                           option_type: str = "call") -> float:
        def norm_cdf(x: float) -> float:
            return 0.5 * (1 + math.erf(x / math.sqrt(2)))

        if T <= 0 or sigma <= 0:
            return max(S - K, 0) if option_type == "call" else max(K - S, 0)
        d1 = (math.log(S / K) + (r - q + 0.5 * sigma**2) * T) / (sigma * math.sqrt(T))
        d2 = d1 - sigma * math.sqrt(T)
        if option_type == "call":
            return S * math.exp(-q * T) * norm_cdf(d1) - K * math.exp(-r * T) * norm_cdf(d2)
        return K * math.exp(-r * T) * norm_cdf(-d2) - S * math.exp(-q * T) * norm_cdf(-d1)

    spot, rate, dividend, vol = 245.50, 0.043, 0.0044, 0.22
    for mult in [0.85, 0.90, 0.95, 1.00, 1.05, 1.10, 1.15]:
        strike = round(spot * mult, 2)
        sigma = vol * (1 + 0.1 * (1 - spot / strike))
        for dte in [30, 60, 90, 180]:
            for kind in ("call", "put"):
                ours = black_scholes(spot, strike, dte / 365, rate, dividend, sigma, kind)
                spec = spec_black_scholes(spot, strike, dte / 365, rate, dividend, sigma, kind)
                assert ours == pytest.approx(spec, rel=1e-9, abs=1e-9)


def finite(low: float, high: float) -> st.SearchStrategy[float]:
    """Finite floats in ``[low, high]``."""
    return st.floats(low, high, allow_nan=False, allow_infinity=False)


market = dict(
    S=finite(1.0, 1000.0), K=finite(1.0, 1000.0),
    T=finite(0.01, 5.0), r=finite(-0.02, 0.15),
    q=finite(0.0, 0.10), sigma=finite(0.01, 2.0),
)


@settings(max_examples=300, deadline=None)
@given(**market)
def test_put_call_parity(S: float, K: float, T: float, r: float, q: float, sigma: float) -> None:
    """c - p = S·e^(-qT) - K·e^(-rT) (Hull, ch. 17: parity with a dividend yield), and its
    derivatives: Δc - Δp = e^(-qT), equal gamma and vega, ρc - ρp = K·T·e^(-rT)."""
    call = greeks(S, K, T, r, q, sigma, "call")
    put = greeks(S, K, T, r, q, sigma, "put")
    scale = max(S, K)
    forward = S * math.exp(-q * T) - K * math.exp(-r * T)
    assert call["price"] - put["price"] == pytest.approx(forward, abs=1e-9 * scale)
    assert call["delta"] - put["delta"] == pytest.approx(math.exp(-q * T), abs=1e-12)
    assert call["gamma"] == pytest.approx(put["gamma"], rel=1e-12, abs=1e-300)
    assert call["vega"] == pytest.approx(put["vega"], rel=1e-12, abs=1e-300)
    assert call["rho"] - put["rho"] == pytest.approx(K * T * math.exp(-r * T), rel=1e-9)
    assert black_scholes(S, K, T, r, q, sigma, "call") == pytest.approx(call["price"], rel=1e-14)


@settings(max_examples=100, deadline=None)
@given(S=finite(20.0, 200.0), K=finite(20.0, 200.0),
       T=finite(0.1, 3.0), r=finite(0.0, 0.1),
       q=finite(0.0, 0.05), sigma=finite(0.1, 0.8),
       kind=st.sampled_from(["call", "put"]))
def test_greeks_are_the_derivatives_of_the_price(S: float, K: float, T: float, r: float,
                                                 q: float, sigma: float, kind: str) -> None:
    """Central differences of the price give delta, gamma, vega, rho, and theta = -dV/dT."""
    g = greeks(S, K, T, r, q, sigma, kind)

    def price(**bump: float) -> float:
        args = dict(S=S, K=K, T=T, r=r, q=q, sigma=sigma) | bump
        return float(black_scholes(option_type=kind, **args))

    h = 1e-4
    assert g["delta"] == pytest.approx((price(S=S + h) - price(S=S - h)) / (2 * h), abs=1e-6)
    hs = 1e-4 * S
    gamma = (price(S=S + hs) - 2 * price() + price(S=S - hs)) / hs**2
    assert g["gamma"] == pytest.approx(gamma, rel=1e-4, abs=1e-6)
    assert g["vega"] == pytest.approx((price(sigma=sigma + h) - price(sigma=sigma - h)) / (2 * h),
                                      abs=1e-5 * S)
    assert g["rho"] == pytest.approx((price(r=r + h) - price(r=r - h)) / (2 * h), abs=1e-5 * S)
    assert g["theta"] == pytest.approx(-(price(T=T + h) - price(T=T - h)) / (2 * h),
                                       abs=1e-5 * S)


def test_expired_options_are_worth_their_intrinsic_value() -> None:
    assert black_scholes(42, 40, 0.0, 0.1, 0.0, 0.2, "call") == 2.0
    assert black_scholes(42, 40, -1.0, 0.1, 0.0, 0.2, "put") == 0.0
    g = greeks(38, 40, 0.0, 0.1, 0.0, 0.2, "put")
    assert (g["price"], g["delta"], g["gamma"], g["vega"], g["theta"], g["rho"]) == (
        2.0, -1.0, 0.0, 0.0, 0.0, 0.0)


def test_zero_volatility_is_the_discounted_forward_intrinsic_value() -> None:
    price = black_scholes(42, 40, 0.5, 0.1, 0.02, 0.0, "call")
    assert price == pytest.approx(42 * math.exp(-0.01) - 40 * math.exp(-0.05))
    assert black_scholes(42, 40, 0.5, 0.1, 0.02, 0.0, "put") == 0.0
    g = greeks(42, 40, 0.5, 0.1, 0.02, 0.0, "call")
    assert g["gamma"] == 0.0 and g["vega"] == 0.0
    assert g["delta"] == pytest.approx(math.exp(-0.01))
    # the limit of the formula as sigma -> 0
    assert price == pytest.approx(black_scholes(42, 40, 0.5, 0.1, 0.02, 1e-6, "call"))


def test_bad_rows_give_nan_and_never_stop_the_batch() -> None:
    spot = [42.0, -1.0, 0.0, np.nan, 42.0, 42.0]
    sigma = [0.2, 0.2, 0.2, 0.2, -0.1, 0.2]
    kinds = ["call", "call", "put", "call", "call", "straddle"]
    price = black_scholes(spot, 40, 0.5, 0.1, 0.0, sigma, kinds)
    assert price[0] == pytest.approx(4.7594, abs=1e-4)
    assert np.isnan(price[1:]).all()
    g = greeks(spot, 40, 0.5, 0.1, 0.0, sigma, kinds)
    assert all(np.isnan(g[name][1:]).all() for name in GREEKS)
    assert np.isnan(black_scholes(None, 40, 0.5, 0.1, 0.0, 0.2))


def test_an_unknown_option_type_for_a_single_option_is_refused() -> None:
    with pytest.raises(ValueError, match="'call' or 'put'"):
        black_scholes(42, 40, 0.5, 0.1, 0.0, 0.2, "straddle")


def test_kernels_are_safe_under_threads_and_in_forked_children() -> None:
    """Concurrent calls from threads (the engine's executor) and a fork after a parallel kernel
    ran (a process pool) neither abort nor hang the interpreter."""
    code = textwrap.dedent("""
        import multiprocessing, threading
        import numpy as np
        from engine.finance import greeks
        spot = np.linspace(50.0, 150.0, 20_000)
        expected = greeks(spot, 100.0, 0.5, 0.05, 0.0, 0.2)["price"]
        bad = []
        def work():
            for _ in range(20):
                if not np.array_equal(greeks(spot, 100.0, 0.5, 0.05, 0.0, 0.2)["price"], expected):
                    bad.append(1)
        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads: t.start()
        for t in threads: t.join()
        def child(_):
            return float(greeks(spot, 100.0, 0.5, 0.05, 0.0, 0.2)["price"].sum())
        with multiprocessing.get_context("fork").Pool(2) as pool:
            sums = pool.map(child, range(2))
        print(len(bad), sums[0] == sums[1] == float(expected.sum()))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=240)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["0", "True"]
