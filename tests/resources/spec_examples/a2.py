from datetime import date, datetime, UTC
from engine import AdjustmentChain, AdjustmentFactor, AdjustmentMethod
from engine import CorrectionRecord, CorrectionReason
from engine import TemporalEnvelope
from engine import ManagedWorkflow

def build_adjustment_chain(ticker: str = "AAPL") -> dict:
    """Build composite adjustment chain for corporate actions."""
    chain = AdjustmentChain(factors=[
        AdjustmentFactor(
            effective_date=date(2020, 8, 31),
            factor=4.0,
            method=AdjustmentMethod.SPLIT,
            description="AAPL 4-for-1 stock split",
        ),
        AdjustmentFactor(
            effective_date=date(2014, 6, 9),
            factor=7.0,
            method=AdjustmentMethod.SPLIT,
            description="AAPL 7-for-1 stock split",
        ),
    ])
    return {
        "ticker": ticker,
        "composite_factor": chain.composite_factor,  # 28.0
        "factor_count": len(chain.factors),
    }

def adjust_historical_prices(
    ticker: str = "",
    composite_factor: float = 1.0,
) -> dict:
    """Apply adjustment to historical prices."""
    raw_prices = [700.0, 650.0, 600.0]  # Pre-split prices
    adjusted = [p / composite_factor for p in raw_prices]
    return {
        "ticker": ticker,
        "raw_prices": raw_prices,
        "adjusted_prices": [round(p, 2) for p in adjusted],
        "adjustment_applied": composite_factor,
    }

def record_correction(ticker: str = "", adjusted_prices: list = None) -> dict:
    """Record any corrections found during reconciliation."""
    correction = CorrectionRecord.create(
        entity_key=ticker,
        field_name="close_price_adjusted",
        original_value=25.10,
        corrected_value=25.00,
        reason=CorrectionReason.ROUNDING,
        corrected_by="split_pipeline",
        source_ref="corporate_actions_feed",
    )
    return {
        "correction_id": correction.id,
        "delta": correction.delta,
        "pct_change": correction.pct_change,
    }

wf = (
    ManagedWorkflow("finance.split_adjustment")
    .step("build_chain", build_adjustment_chain, config={"ticker": "AAPL"})
    .step("adjust_prices", adjust_historical_prices)
    .step("audit_corrections", record_correction)
    .build()
)
result = wf.run()
wf.show()
