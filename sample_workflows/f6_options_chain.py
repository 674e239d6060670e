"""Options chain valuation: market data → strike/expiry chain → Black-Scholes prices → Greeks (spec F6).

The chain has 7 strikes (spot × 0.85 … 1.15) × 4 expiries (30/60/90/180 days) = 28 options,
each with a smile-adjusted vol ``iv * (1 + 0.1 * (1 - spot/strike))``, priced with
Black-Scholes-Merton (continuous dividend yield). ``portfolio_delta`` is the spec's
simplification: +0.5 per in-the-money call (moneyness > 1), -0.15 otherwise, so
12 × 0.5 - 16 × 0.15 = 3.6. The spec shows no result comment for F6.
"""

from __future__ import annotations

import math

from engine import ManagedWorkflow


def fetch_market_data(ticker: str = "AAPL") -> dict:
    """Fetch spot price, risk-free rate, and implied volatility."""
    return {
        "ticker": ticker,
        "spot": 245.50,
        "risk_free_rate": 0.043,     # 4.3% (Fed funds)
        "dividend_yield": 0.0044,    # 0.44%
        "implied_vol": 0.22,         # 22% annualized
    }


def build_options_chain(
    ticker: str = "",
    spot: float = 0,
    implied_vol: float = 0.2,
) -> dict:
    """Generate chain of strikes around the money."""
    strikes = [
        round(spot * mult, 2)
        for mult in [0.85, 0.90, 0.95, 1.00, 1.05, 1.10, 1.15]
    ]
    expirations_days = [30, 60, 90, 180]

    chain = []
    for strike in strikes:
        for dte in expirations_days:
            moneyness = spot / strike
            # Vol smile: OTM puts have higher vol
            skew = implied_vol * (1 + 0.1 * (1 - moneyness))
            chain.append({
                "strike": strike, "dte": dte,
                "vol": round(skew, 4), "moneyness": round(moneyness, 4),
            })
    return {"ticker": ticker, "chain": chain, "count": len(chain)}


def price_options(
    ticker: str = "",
    chain: list | None = None,
    spot: float = 0,
    risk_free_rate: float = 0,
    dividend_yield: float = 0,
) -> dict:
    """Black-Scholes pricing for each option in the chain."""
    from math import exp, log, sqrt

    def norm_cdf(x: float) -> float:
        """Approximation of cumulative normal distribution."""
        return 0.5 * (1 + math.erf(x / sqrt(2)))

    def black_scholes(S: float, K: float, T: float, r: float, q: float, sigma: float,
                      option_type: str = "call") -> float:
        if T <= 0 or sigma <= 0:
            return max(S - K, 0) if option_type == "call" else max(K - S, 0)
        d1 = (log(S / K) + (r - q + 0.5 * sigma**2) * T) / (sigma * sqrt(T))
        d2 = d1 - sigma * sqrt(T)
        if option_type == "call":
            return S * exp(-q * T) * norm_cdf(d1) - K * exp(-r * T) * norm_cdf(d2)
        else:
            return K * exp(-r * T) * norm_cdf(-d2) - S * exp(-q * T) * norm_cdf(-d1)

    priced = []
    for opt in (chain or []):
        T = opt["dte"] / 365.0
        call_px = black_scholes(spot, opt["strike"], T, risk_free_rate,
                                dividend_yield, opt["vol"], "call")
        put_px = black_scholes(spot, opt["strike"], T, risk_free_rate,
                               dividend_yield, opt["vol"], "put")
        priced.append({
            **opt,
            "call_price": round(call_px, 4),
            "put_price": round(put_px, 4),
        })

    return {"ticker": ticker, "priced_options": priced, "count": len(priced)}


def calculate_greeks(
    ticker: str = "",
    priced_options: list | None = None,
    spot: float = 0,
) -> dict:
    """Calculate portfolio-level Greeks summary."""
    total_delta = sum(
        0.5 * (1 if o["moneyness"] > 1 else -0.3)  # Simplified
        for o in (priced_options or [])
    )
    return {
        "ticker": ticker,
        "portfolio_delta": round(total_delta, 2),
        "options_priced": len(priced_options or []),
        "atm_call_30d": next(
            (o["call_price"] for o in (priced_options or [])
             if abs(o["moneyness"] - 1.0) < 0.01 and o["dte"] == 30),
            None,
        ),
    }


wf = (
    ManagedWorkflow("finance.options_chain", domain="derivatives",
                    description="Price an options chain with Black-Scholes and sum its delta",
                    tags=["financial", "options", "black-scholes", "managed"])
    .step("market", fetch_market_data, config={"ticker": "AAPL"})
    .step("chain", build_options_chain)
    .step("price", price_options)
    .step("greeks", calculate_greeks)
    .build()
)

if __name__ == "__main__":
    result = wf.run()
    wf.show()
