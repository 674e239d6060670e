"""Fan-out portfolio analysis: one map step analyses each position, then results are aggregated (spec I2).

``analyze_each`` runs ``analyze`` once per position (up to 4 at a time) with the position
as its config; the map step's output is ``{"results": [...], "count": n}`` in position
order. Prices are the spec's mock (cost basis + 15%), so every position returns 15% and
P&L = 0.15 * cost_basis * shares. Spec comment vs code: the spec's ``aggregate`` returns a
fixed ``total_positions: 4`` because "map results would be collected automatically"; the
engine does collect them, so here ``aggregate`` sums the map results for real (each
analysis also reports the position's cost; aggregate gives total cost,
total P&L, portfolio return, best position).
"""

from __future__ import annotations

from engine import Step, StepResult, Workflow, WorkflowContext
from sample_workflows._common import run_and_show


def load_portfolio(ctx: WorkflowContext, config: dict) -> StepResult:
    """Load portfolio positions."""
    positions = [
        {"ticker": "AAPL", "shares": 1000, "cost_basis": 150.0},
        {"ticker": "MSFT", "shares": 500, "cost_basis": 280.0},
        {"ticker": "AMZN", "shares": 200, "cost_basis": 120.0},
        {"ticker": "GOOGL", "shares": 300, "cost_basis": 140.0},
    ]
    return StepResult.ok(output={"positions": positions, "count": len(positions)})


def analyze_position(ctx: WorkflowContext, config: dict) -> StepResult:
    """Analyze a single position (runs in parallel for each position)."""
    ticker = config.get("ticker", "UNKNOWN")
    shares = config.get("shares", 0)
    cost = config.get("cost_basis", 0)
    current_price = cost * 1.15  # Mock 15% gain
    pnl = (current_price - cost) * shares
    return StepResult.ok(output={
        "ticker": ticker,
        "pnl": pnl,
        "return_pct": ((current_price / cost) - 1) * 100,
        "cost": cost * shares,
    })


def aggregate_portfolio(ctx: WorkflowContext, config: dict) -> StepResult:
    """Collapse individual results into portfolio summary."""
    results = ctx.get_output("analyze_each", "results", [])
    total_cost = sum(r["cost"] for r in results)
    total_pnl = sum(r["pnl"] for r in results)
    best = max(results, key=lambda r: r["pnl"], default=None)
    return StepResult.ok(output={
        "total_positions": len(results),
        "total_cost": total_cost,
        "total_pnl": total_pnl,
        "portfolio_return_pct": total_pnl / total_cost * 100 if total_cost else 0.0,
        "best_position": best["ticker"] if best else None,
        "strategy": "long_only",
        "analysis_complete": True,
    })


wf = Workflow(
    name="portfolio.daily_analysis",
    domain="portfolio",
    steps=[
        Step.lambda_("load", load_portfolio),
        Step.map(
            name="analyze_each",
            items_path="$.outputs.load.positions",
            iterator_steps=[
                Step.lambda_("analyze", analyze_position),
            ],
            max_concurrency=4,
        ),
        Step.lambda_("aggregate", aggregate_portfolio),
    ],
    description="Analyse each portfolio position in parallel and aggregate the P&L",
    tags=["intermediate", "map", "fan-out", "portfolio"],
)

if __name__ == "__main__":
    run_and_show(wf)
