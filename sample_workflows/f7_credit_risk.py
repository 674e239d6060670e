"""Credit risk scoring: Altman Z-score, Piotroski F-score and an implied default probability (spec F7).

Altman Z = 1.2·WC/TA + 1.4·RE/TA + 3.3·EBIT/TA + 0.6·MCap/TL + 1.0·Revenue/TA; zones are
SAFE above 2.99, GREY above 1.81, else DISTRESS. Piotroski F counts nine yes/no signals.
PD starts from a Z bucket (0.1% / 5% / 15% / 40%) and drops 5% (relative) per F point.

Spec comment vs code: the spec prints ``Z=2.47 (GREY zone)``, ``F=7 (STRONG)`` and
``PD=2.3%, BBB``; the code computes Z = 0.0564 + 0.1582 + 0.1665 + 0.9865 + 0.4163 = 1.7838
(DISTRESS, since it is below 1.81) from the GE inputs, F = 9 (every signal holds, e.g.
ROA 5.81% > 4.8%, leverage 0.739 < 0.76, current ratio 1.20 > 1.15, gross margin 33.2% >
31%, asset turnover 0.416 > 0.4), and PD = 15% × (1 - 9 × 0.05) = 8.25%, rated BB/B.
The load line "$68B revenue, $163B assets" matches the inputs.
"""

from __future__ import annotations

from engine import ManagedWorkflow


def load_financial_statements(ticker: str = "GE") -> dict:
    """Load financial data needed for credit risk models."""
    return {
        "ticker": ticker,
        # Income statement
        "revenue": 67_954_000_000,
        "ebit": 8_236_000_000,
        "net_income": 9_483_000_000,
        "gross_profit": 22_578_000_000,
        # Balance sheet
        "total_assets": 163_245_000_000,
        "current_assets": 45_872_000_000,
        "current_liabilities": 38_204_000_000,
        "total_liabilities": 120_634_000_000,
        "retained_earnings": 18_450_000_000,
        "working_capital": 7_668_000_000,
        "market_cap": 198_340_000_000,
        "shares_outstanding": 1_087_000_000,
        # Cash flow
        "operating_cash_flow": 12_340_000_000,
        "capital_expenditures": 3_120_000_000,
        # Prior period (for Piotroski)
        "prev_roa": 0.048,
        "prev_current_ratio": 1.15,
        "prev_gross_margin": 0.31,
        "prev_leverage": 0.76,
        "prev_shares_outstanding": 1_092_000_000,
    }


def calculate_altman_z(
    ticker: str = "",
    working_capital: float = 0,
    retained_earnings: float = 0,
    ebit: float = 0,
    market_cap: float = 0,
    total_liabilities: float = 0,
    revenue: float = 0,
    total_assets: float = 0,
) -> dict:
    """Altman Z-Score: bankruptcy prediction model.

    Z = 1.2*X1 + 1.4*X2 + 3.3*X3 + 0.6*X4 + 1.0*X5
    Where:
      X1 = Working Capital / Total Assets
      X2 = Retained Earnings / Total Assets
      X3 = EBIT / Total Assets
      X4 = Market Cap / Total Liabilities
      X5 = Revenue / Total Assets

    Zones: >2.99 = Safe, 1.81-2.99 = Grey, <1.81 = Distress
    """
    if total_assets == 0:
        return {"z_score": 0, "zone": "UNKNOWN"}

    x1 = working_capital / total_assets
    x2 = retained_earnings / total_assets
    x3 = ebit / total_assets
    x4 = market_cap / total_liabilities if total_liabilities else 0
    x5 = revenue / total_assets

    z = 1.2 * x1 + 1.4 * x2 + 3.3 * x3 + 0.6 * x4 + 1.0 * x5

    zone = "SAFE" if z > 2.99 else "GREY" if z > 1.81 else "DISTRESS"

    return {
        "ticker": ticker,
        "altman_z": round(z, 4),
        "zone": zone,
        "components": {
            "X1_wc_ta": round(x1, 4),
            "X2_re_ta": round(x2, 4),
            "X3_ebit_ta": round(x3, 4),
            "X4_mcap_tl": round(x4, 4),
            "X5_rev_ta": round(x5, 4),
        },
    }


def calculate_piotroski_f(
    ticker: str = "",
    net_income: float = 0,
    operating_cash_flow: float = 0,
    total_assets: float = 0,
    current_assets: float = 0,
    current_liabilities: float = 0,
    total_liabilities: float = 0,
    gross_profit: float = 0,
    revenue: float = 0,
    shares_outstanding: float = 0,
    prev_roa: float = 0,
    prev_current_ratio: float = 0,
    prev_gross_margin: float = 0,
    prev_leverage: float = 0,
    prev_shares_outstanding: float = 0,
) -> dict:
    """Piotroski F-Score: 9-point financial strength indicator.

    Profitability (4 pts): ROA>0, CFO>0, ΔROA>0, Accruals
    Leverage (3 pts): ΔLeverage<0, ΔCurrent>0, No dilution
    Efficiency (2 pts): ΔGross margin>0, ΔAsset turnover>0

    Score: 0-3 = Weak, 4-6 = Moderate, 7-9 = Strong
    """
    roa = net_income / total_assets if total_assets else 0
    current_ratio = current_assets / current_liabilities if current_liabilities else 0
    leverage = total_liabilities / total_assets if total_assets else 0
    gross_margin = gross_profit / revenue if revenue else 0

    score = 0
    signals = []

    # Profitability
    if roa > 0:
        score += 1
        signals.append("ROA positive ✓")
    if operating_cash_flow > 0:
        score += 1
        signals.append("CFO positive ✓")
    if roa > prev_roa:
        score += 1
        signals.append("ROA improving ✓")
    if operating_cash_flow / total_assets > roa:
        score += 1
        signals.append("Accruals quality ✓")

    # Leverage
    if leverage < prev_leverage:
        score += 1
        signals.append("Deleveraging ✓")
    if current_ratio > prev_current_ratio:
        score += 1
        signals.append("Liquidity improving ✓")
    if shares_outstanding <= prev_shares_outstanding:
        score += 1
        signals.append("No dilution ✓")

    # Efficiency
    if gross_margin > prev_gross_margin:
        score += 1
        signals.append("Margin expanding ✓")
    if (revenue / total_assets) > 0.4:  # Simplified
        score += 1
        signals.append("Asset turnover ✓")

    strength = "STRONG" if score >= 7 else "MODERATE" if score >= 4 else "WEAK"

    return {
        "ticker": ticker,
        "piotroski_f": score,
        "strength": strength,
        "signals": signals,
    }


def estimate_default_probability(
    ticker: str = "",
    altman_z: float = 0,
    piotroski_f: int = 0,
    zone: str = "",
    strength: str = "",
) -> dict:
    """Estimate probability of default from credit risk scores.

    Simple mapping — production models use logistic regression or
    Merton structural models.
    """
    # Z-Score based PD (simplified)
    if altman_z > 3.0:
        pd_z = 0.001  # 0.1%
    elif altman_z > 2.0:
        pd_z = 0.05   # 5%
    elif altman_z > 1.5:
        pd_z = 0.15   # 15%
    else:
        pd_z = 0.40   # 40%

    # Piotroski adjustment
    pd_adj = pd_z * (1.0 - piotroski_f * 0.05)  # Each F-point reduces PD by 5%

    # Rating equivalent
    if pd_adj < 0.005:
        rating = "AAA/AA"
    elif pd_adj < 0.02:
        rating = "A/BBB"
    elif pd_adj < 0.10:
        rating = "BB/B"
    else:
        rating = "CCC/D"

    return {
        "ticker": ticker,
        "pd_estimate": round(pd_adj, 4),
        "implied_rating": rating,
        "z_zone": zone,
        "f_strength": strength,
        "risk_summary": f"{ticker}: PD={pd_adj:.2%}, {rating} ({zone}/{strength})",
    }


wf = (
    ManagedWorkflow("risk.credit_scoring", domain="risk",
                    description="Score GE's credit risk with Altman Z, Piotroski F and a PD estimate",
                    tags=["financial", "credit-risk", "managed"])
    .step("load", load_financial_statements, config={"ticker": "GE"})
    .step("altman", calculate_altman_z)
    .step("piotroski", calculate_piotroski_f)
    .step("pd", estimate_default_probability)
    .build()
)

if __name__ == "__main__":
    result = wf.run()
    wf.show()
