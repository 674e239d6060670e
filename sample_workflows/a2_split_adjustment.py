"""Stock split adjustment: back-adjust a price history through its split chain and audit vendor disagreements (spec A2).

The spec's three steps, computed from bundled data instead of constants:

- ``build_chain``: the ticker's splits from ``data/split_history.csv`` that fall inside its
  price history (``data/raw_prices.csv``); for AAPL since 2012 those are the 7-for-1 of
  2014-06-09 and the 4-for-1 of 2020-08-31, so ``composite_factor`` is 28.0 as in the spec.
  Each split also comes back as a ``TemporalEnvelope`` (event = ex-date, publish = the
  announcement), the order a feed learns about corporate actions.
- ``adjust_prices``: every raw close divided by the factors of the splits *after* its date
  (``AdjustmentChain.factor_for``); the spec's pre-split 700/650/600 become 25.00/23.21/21.43.
- ``audit_corrections``: our adjusted closes against a vendor's (``data/vendor_adjusted_prices.csv``);
  each disagreement over one cent is a ``CorrectionRecord`` (ROUNDING under 1 %, else
  VENDOR_CORRECTION). With the bundled files AAPL has one: the vendor's 25.10 for 2012-09-21,
  corrected to 25.00 (the spec's own example).
"""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime

from engine import (
    AdjustmentChain,
    AdjustmentFactor,
    AdjustmentMethod,
    CorrectionReason,
    CorrectionRecord,
    ManagedWorkflow,
    TemporalEnvelope,
)
from sample_workflows._common import data_file

SPLITS_CSV = data_file("split_history.csv")
PRICES_CSV = data_file("raw_prices.csv")
VENDOR_CSV = data_file("vendor_adjusted_prices.csv")
TOLERANCE = 0.01  # one cent: closes are quoted to the cent
ROUNDING_LIMIT = 0.01  # under 1 % of the price a disagreement is a rounding difference


def _rows(path: object, ticker: str) -> list[dict[str, str]]:
    with open(str(path), newline="", encoding="utf-8") as f:
        return [r for r in csv.DictReader(f) if r["ticker"] == ticker]


def raw_price_history(ticker: str) -> list[tuple[date, float]]:
    """The unadjusted closes of ``ticker``, oldest first."""
    rows = _rows(PRICES_CSV, ticker)
    return sorted((date.fromisoformat(r["date"]), float(r["close"])) for r in rows)


def build_adjustment_chain(ticker: str = "AAPL") -> dict:
    """Build composite adjustment chain for corporate actions."""
    history = raw_price_history(ticker)
    if not history:
        raise ValueError(f"no prices for {ticker!r} in {PRICES_CSV.name}")
    actions = _rows(SPLITS_CSV, ticker)
    full = AdjustmentChain(factors=[
        AdjustmentFactor(
            effective_date=date.fromisoformat(r["effective_date"]),
            factor=float(r["factor"]),
            method=AdjustmentMethod(r["method"]),
            description=r["description"],
        )
        for r in actions
    ])
    chain = full.between(history[0][0], history[-1][0])  # only what the history spans
    now = datetime.now(UTC)
    envelopes = [
        TemporalEnvelope(
            event_time=datetime.fromisoformat(r["effective_date"]).replace(tzinfo=UTC),
            publish_time=datetime.fromisoformat(r["announced"]).replace(tzinfo=UTC),
            ingest_time=now,
            payload={"ticker": ticker, "method": r["method"], "factor": float(r["factor"])},
        ).to_dict()
        for r in actions if date.fromisoformat(r["effective_date"]) in
        {f.effective_date for f in chain.factors}
    ]
    return {
        "ticker": ticker,
        "composite_factor": chain.composite_factor,  # 28.0 for AAPL since 2012
        "factor_count": len(chain.factors),
        "chain": chain.to_dict(),
        "actions": envelopes,
    }


def adjust_historical_prices(
    ticker: str = "",
    composite_factor: float = 1.0,
    chain: dict | None = None,
) -> dict:
    """Apply adjustment to historical prices (each by the splits after its own date)."""
    adjustments = AdjustmentChain.from_dict(chain or {"factors": []})
    history = raw_price_history(ticker)
    adjusted = adjustments.adjust_series(history)
    return {
        "ticker": ticker,
        "dates": [d.isoformat() for d, _ in history],
        "raw_prices": [p for _, p in history],
        "adjusted_prices": [round(p, 2) for _, p in adjusted],
        "factors_applied": [adjustments.factor_for(d) for d, _ in history],
        "adjustment_applied": composite_factor,
    }


def record_correction(ticker: str = "", adjusted_prices: list | None = None,
                      dates: list | None = None) -> dict:
    """Record any corrections found during reconciliation against the vendor's series."""
    vendor = {r["date"]: float(r["adjusted_close"]) for r in _rows(VENDOR_CSV, ticker)}
    corrections = []
    for day, ours in zip(dates or [], adjusted_prices or [], strict=True):
        theirs = vendor.get(day)
        if theirs is None or abs(theirs - ours) <= TOLERANCE:
            continue
        relative = abs(ours - theirs) / abs(theirs)
        corrections.append(CorrectionRecord.create(
            entity_key=f"{ticker}:{day}",
            field_name="close_price_adjusted",
            original_value=theirs,
            corrected_value=ours,
            reason=CorrectionReason.ROUNDING if relative < ROUNDING_LIMIT
            else CorrectionReason.VENDOR_CORRECTION,
            corrected_by="split_pipeline",
            source_ref="corporate_actions_feed",
        ))
    first = corrections[0] if corrections else None
    return {
        "correction_id": first.id if first else None,
        "delta": first.delta if first else 0.0,
        "pct_change": first.pct_change if first else 0.0,
        "correction_count": len(corrections),
        "corrections": [c.to_dict() for c in corrections],
    }


wf = (
    ManagedWorkflow("finance.split_adjustment", domain="finance",
                    description="Back-adjust a price history through its split chain and "
                                "record corrections against a vendor's adjusted closes",
                    tags=["advanced", "finance", "corporate-actions", "audit"])
    .step("build_chain", build_adjustment_chain, config={"ticker": "AAPL"})
    .step("adjust_prices", adjust_historical_prices)
    .step("audit_corrections", record_correction)
    .build()
)

if __name__ == "__main__":
    result = wf.run()
    wf.show()
