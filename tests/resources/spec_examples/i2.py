from engine import Workflow, Step, StepResult
from engine import ExecutionMode, WorkflowExecutionPolicy

def load_portfolio(ctx, config) -> StepResult:
    """Load portfolio positions."""
    positions = [
        {"ticker": "AAPL", "shares": 1000, "cost_basis": 150.0},
        {"ticker": "MSFT", "shares": 500, "cost_basis": 280.0},
        {"ticker": "AMZN", "shares": 200, "cost_basis": 120.0},
        {"ticker": "GOOGL", "shares": 300, "cost_basis": 140.0},
    ]
    return StepResult.ok(output={"positions": positions, "count": len(positions)})

def analyze_position(ctx, config) -> StepResult:
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
    })

def aggregate_portfolio(ctx, config) -> StepResult:
    """Collapse individual results into portfolio summary."""
    # In a real workflow, map results would be collected automatically
    return StepResult.ok(output={
        "total_positions": 4,
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
)
