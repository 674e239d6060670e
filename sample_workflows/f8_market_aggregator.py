"""Multi-exchange aggregator: three parallel quote fetches fan in to arbitrage detection (spec F8).

A ticker quoted on two or more venues is an opportunity when its spread
``(max - min) / min`` exceeds 0.5 bp. With the sample quotes that is AAPL (245.48 CBOE vs
245.52 NASDAQ, 1.63 bp) and MSFT (420.28 NASDAQ vs 420.35 CBOE, 1.67 bp); JPM, AMZN and
VIX trade on one venue only. Tickers are scanned in sorted order (the spec iterates a set,
so its report order changed from run to run). The spec shows no result comment for F8.
"""

from __future__ import annotations

from engine import (
    ExecutionMode,
    Step,
    StepResult,
    Workflow,
    WorkflowContext,
    WorkflowExecutionPolicy,
)
from sample_workflows._common import run_and_show


def fetch_nyse(ctx: WorkflowContext, config: dict) -> StepResult:
    """Fetch prices from NYSE."""
    return StepResult.ok(output={
        "exchange": "NYSE",
        "prices": {"AAPL": 245.50, "MSFT": 420.30, "JPM": 198.75},
        "timestamp": "2026-02-16T16:00:00Z",
        "latency_ms": 12,
    })


def fetch_nasdaq(ctx: WorkflowContext, config: dict) -> StepResult:
    """Fetch prices from NASDAQ."""
    return StepResult.ok(output={
        "exchange": "NASDAQ",
        "prices": {"AAPL": 245.52, "MSFT": 420.28, "AMZN": 195.60},
        "timestamp": "2026-02-16T16:00:00Z",
        "latency_ms": 8,
    })


def fetch_cboe(ctx: WorkflowContext, config: dict) -> StepResult:
    """Fetch prices from CBOE."""
    return StepResult.ok(output={
        "exchange": "CBOE",
        "prices": {"AAPL": 245.48, "MSFT": 420.35, "VIX": 18.42},
        "timestamp": "2026-02-16T16:00:00Z",
        "latency_ms": 15,
    })


def merge_and_detect_arb(ctx: WorkflowContext, config: dict) -> StepResult:
    """Merge prices across exchanges and detect arbitrage opportunities."""
    nyse = ctx.get_output("fetch_nyse", "prices", {})
    nasdaq = ctx.get_output("fetch_nasdaq", "prices", {})
    cboe = ctx.get_output("fetch_cboe", "prices", {})

    # Find tickers quoted on multiple exchanges
    all_tickers = set(nyse) | set(nasdaq) | set(cboe)
    arb_opportunities = []

    for ticker in sorted(all_tickers):
        quotes = {}
        if ticker in nyse:
            quotes["NYSE"] = nyse[ticker]
        if ticker in nasdaq:
            quotes["NASDAQ"] = nasdaq[ticker]
        if ticker in cboe:
            quotes["CBOE"] = cboe[ticker]

        if len(quotes) >= 2:
            prices = list(quotes.values())
            spread = max(prices) - min(prices)
            spread_bps = (spread / min(prices)) * 10000

            if spread_bps > 0.5:  # > 0.5 bps = potential arb
                arb_opportunities.append({
                    "ticker": ticker,
                    "quotes": quotes,
                    "spread": round(spread, 4),
                    "spread_bps": round(spread_bps, 2),
                    "buy_at": min(quotes, key=quotes.get),
                    "sell_at": max(quotes, key=quotes.get),
                })

    return StepResult.ok(output={
        "tickers_seen": len(all_tickers),
        "multi_listed": sum(1 for t in all_tickers
                           if sum(t in d for d in [nyse, nasdaq, cboe]) >= 2),
        "arb_opportunities": arb_opportunities,
        "arb_count": len(arb_opportunities),
    })


def generate_market_report(ctx: WorkflowContext, config: dict) -> StepResult:
    """Generate consolidated market report."""
    arbs = ctx.get_output("merge", "arb_opportunities", [])
    tickers = ctx.get_output("merge", "tickers_seen", 0)

    report_lines = [f"Market Report — {tickers} tickers across 3 exchanges"]
    for arb in arbs:
        report_lines.append(
            f"  ARB: {arb['ticker']} — buy {arb['buy_at']} @ {arb['quotes'][arb['buy_at']]}, "
            f"sell {arb['sell_at']} @ {arb['quotes'][arb['sell_at']]} "
            f"({arb['spread_bps']} bps)"
        )
    if not arbs:
        report_lines.append("  No arbitrage opportunities detected.")

    return StepResult.ok(output={
        "report": "\n".join(report_lines),
        "arb_count": len(arbs),
    })


wf = Workflow(
    name="market.multi_exchange_aggregator",
    domain="market_data",
    steps=[
        # Fan-out: fetch from all exchanges in parallel
        Step.lambda_("fetch_nyse", fetch_nyse),
        Step.lambda_("fetch_nasdaq", fetch_nasdaq, depends_on=[]),
        Step.lambda_("fetch_cboe", fetch_cboe, depends_on=[]),
        # Fan-in: merge after all fetches complete
        Step.lambda_("merge", merge_and_detect_arb,
                     depends_on=["fetch_nyse", "fetch_nasdaq", "fetch_cboe"]),
        Step.lambda_("report", generate_market_report, depends_on=["merge"]),
    ],
    execution_policy=WorkflowExecutionPolicy(mode=ExecutionMode.PARALLEL),
    tags=["financial", "market_data", "multi_exchange", "arbitrage", "parallel"],
    description="Fetch quotes from three exchanges in parallel and flag cross-venue spreads",
)


if __name__ == "__main__":
    run_and_show(wf)
