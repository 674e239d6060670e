"""Adjustment chains, correction records, quality checks and assets: the maths and the checks."""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime

import pytest

from engine import (
    AdjustmentChain,
    AdjustmentFactor,
    AdjustmentMethod,
    AssetKey,
    AssetMaterialization,
    CorrectionReason,
    CorrectionRecord,
    QualityCategory,
    QualityCheck,
    QualityResult,
    QualityStatus,
)
from engine.serialization import to_json

AAPL = AdjustmentChain(factors=[
    AdjustmentFactor(date(2020, 8, 31), 4.0, AdjustmentMethod.SPLIT, "4-for-1"),
    AdjustmentFactor(date(2005, 2, 28), 2.0),
    AdjustmentFactor(date(2014, 6, 9), 7.0, AdjustmentMethod.SPLIT, "7-for-1"),
])


# --------------------------------------------------------------------------- adjustments
def test_composite_factor_over_several_splits_in_any_order() -> None:
    assert AAPL.composite_factor == 2 * 7 * 4
    assert [f.effective_date.year for f in AAPL.factors] == [2005, 2014, 2020]
    assert AdjustmentChain().composite_factor == 1.0


def test_factor_for_a_date_applies_only_later_actions_and_not_the_ex_date_itself() -> None:
    assert AAPL.factor_for(date(2005, 2, 27)) == 56.0
    assert AAPL.factor_for(date(2005, 2, 28)) == 28.0  # trades on the new basis that day
    assert AAPL.factor_for(date(2014, 6, 6)) == 28.0
    assert AAPL.factor_for(date(2020, 8, 28)) == 4.0
    assert AAPL.factor_for(datetime(2020, 8, 31, 15, tzinfo=UTC)) == 1.0
    assert AAPL.adjust_price(700.0, date(2012, 9, 21)) == pytest.approx(25.0)


def test_adjusted_series_keeps_order_and_joins_continuously_across_a_split() -> None:
    series = [(date(2020, 8, 28), 499.23), (date(2020, 8, 31), 129.04),
              (date(2014, 6, 6), 645.57), (date(2014, 6, 9), 93.70)]
    adjusted = AAPL.adjust_series(series)
    assert [d for d, _ in adjusted] == [d for d, _ in series]
    assert [p for _, p in adjusted] == pytest.approx(
        [499.23 / 4, 129.04, 645.57 / 28, 93.70 / 4])
    # the day before a 7-for-1 and the ex-date are within 2% once adjusted
    assert adjusted[2][1] == pytest.approx(adjusted[3][1], rel=0.02)


def test_shares_change_only_with_share_changing_actions() -> None:
    chain = AdjustmentChain(factors=[
        AdjustmentFactor(date(2024, 6, 10), 10.0),
        AdjustmentFactor.cash_dividend(date(2024, 3, 5), dividend=0.04, prior_close=852.37),
        AdjustmentFactor(date(2023, 1, 3), 1.1, AdjustmentMethod.STOCK_DIVIDEND),
    ])
    dividend = 852.37 / (852.37 - 0.04)
    assert chain.factor_for(date(2023, 1, 1)) == pytest.approx(10 * dividend * 1.1)
    assert chain.share_factor_for(date(2023, 1, 1)) == pytest.approx(11.0)
    assert chain.adjust_shares(1000, date(2024, 3, 6)) == pytest.approx(10_000)
    assert chain.composite_share_factor == pytest.approx(11.0)
    assert chain.between(date(2023, 1, 3), date(2024, 6, 10)).composite_factor == \
        pytest.approx(10 * dividend)


def test_factor_validation_says_what_to_use_instead() -> None:
    with pytest.raises(ValueError, match="use REVERSE_SPLIT"):
        AdjustmentFactor(date(2020, 1, 1), 0.1, AdjustmentMethod.SPLIT)
    with pytest.raises(ValueError, match="must be < 1"):
        AdjustmentFactor(date(2020, 1, 1), 10, AdjustmentMethod.REVERSE_SPLIT)
    for bad in (0, -2, math.nan, math.inf, True):
        with pytest.raises(ValueError, match="positive finite number"):
            AdjustmentFactor(date(2020, 1, 1), bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="listed twice"):
        AdjustmentChain(factors=[AdjustmentFactor(date(2020, 1, 1), 2.0)] * 2)
    with pytest.raises(TypeError, match="must be AdjustmentFactor"):
        AdjustmentChain(factors=[4.0])  # type: ignore[list-item]
    reverse = AdjustmentChain(factors=[AdjustmentFactor("2023-05-01", 0.1,  # type: ignore[arg-type]
                                                        AdjustmentMethod.REVERSE_SPLIT)])
    assert reverse.adjust_price(0.50, date(2023, 4, 28)) == pytest.approx(5.0)


def test_chain_round_trips_through_json() -> None:
    data = json.loads(to_json(AAPL))
    assert data["composite_factor"] == 56.0
    assert AdjustmentChain.from_dict(data) == AAPL


# --------------------------------------------------------------------------- corrections
def test_correction_maths() -> None:
    c = CorrectionRecord.create(entity_key="AAPL", field_name="close_price_adjusted",
                                original_value=25.10, corrected_value=25.00,
                                reason=CorrectionReason.ROUNDING, corrected_by="split_pipeline",
                                source_ref="corporate_actions_feed")
    assert c.delta == pytest.approx(-0.10)
    assert c.pct_change == pytest.approx(-0.10 / 25.10)
    up = CorrectionRecord.create("X", "eps", -2.0, -1.0, "RESTATEMENT", "me")
    assert (up.delta, up.pct_change) == (1.0, 0.5)  # relative to |original|
    assert up.reason is CorrectionReason.RESTATEMENT


def test_correction_of_zero_or_non_numbers_has_no_pct_change() -> None:
    zero = CorrectionRecord.create("X", "eps", 0, 1.5, CorrectionReason.LATE_DATA, "me")
    assert (zero.delta, zero.pct_change) == (1.5, None)
    text = CorrectionRecord.create("X", "name", "APPLE", "Apple", CorrectionReason.OTHER, "me")
    assert (text.delta, text.pct_change) == (None, None)
    flag = CorrectionRecord.create("X", "active", False, True, CorrectionReason.OTHER, "me")
    assert flag.delta is None
    missing = CorrectionRecord.create("X", "v", None, 3.0, CorrectionReason.LATE_DATA, "me")
    assert missing.delta is None and json.loads(to_json(missing))["pct_change"] is None


def test_correction_id_is_derived_from_its_content() -> None:
    when = datetime(2026, 1, 2, tzinfo=UTC)
    a = CorrectionRecord.create("AAPL", "eps", 1.50, 1.52, "VENDOR_CORRECTION", "x",
                                corrected_at=when)
    b = CorrectionRecord.create("AAPL", "eps", 1.50, 1.52, "VENDOR_CORRECTION", "y",
                                corrected_at=when)
    c = CorrectionRecord.create("AAPL", "eps", 1.50, 1.53, "VENDOR_CORRECTION", "x",
                                corrected_at=when)
    assert a.id == b.id != c.id and a.id.startswith("corr_")
    assert CorrectionRecord.from_dict(json.loads(to_json(a))) == a
    with pytest.raises(ValueError):
        CorrectionRecord.create("AAPL", "eps", 1, 2, "TYPO", "x")
    with pytest.raises(ValueError, match="needs an entity_key"):
        CorrectionRecord.create("", "eps", 1, 2, "OTHER", "x")


# --------------------------------------------------------------------------- quality
def test_required_checks_pass_fail_and_the_worst_status_decides() -> None:
    checks = [QualityCheck.required("revenue"), QualityCheck.required("net_income")]
    results = QualityCheck.run_all(checks, {"revenue": 391e9, "net_income": None})
    assert [r.status for r in results] == [QualityStatus.PASS, QualityStatus.FAIL]
    assert results[1].message == "Missing net_income"
    assert results[1].category is QualityCategory.COMPLETENESS
    assert not results[1].passed
    assert QualityStatus.worst(r.status for r in results) is QualityStatus.FAIL
    assert QualityStatus.worst([]) is QualityStatus.PASS


def test_warn_severity_and_a_raising_predicate_never_crash_the_batch() -> None:
    advisory = QualityCheck("fresh", QualityCategory.TIMELINESS,
                            lambda r: r["lag_hours"] < 24, "stale", severity=QualityStatus.WARN)
    broken = QualityCheck("ratio", QualityCategory.ACCURACY,
                          lambda r: r["a"] / r["b"] > 0)
    results = QualityCheck.run_all([advisory, broken], {"lag_hours": 30, "a": 1, "b": 0})
    assert results[0].status is QualityStatus.WARN and results[0].passed
    assert results[1].status is QualityStatus.ERROR
    assert "ZeroDivisionError" in results[1].message
    assert QualityStatus.worst(r.status for r in results) is QualityStatus.ERROR
    with pytest.raises(ValueError, match="severity must be WARN or FAIL"):
        QualityCheck("x", QualityCategory.VALIDITY, bool, severity=QualityStatus.PASS)


def test_range_checks_and_predicates_returning_their_own_result() -> None:
    margin = QualityCheck.in_range("net_margin", 0.0, 1.0)
    assert margin.run({"net_margin": 0.25}).status is QualityStatus.PASS
    out = margin.run({"net_margin": 1.5})
    assert (out.status, out.message, out.value) == (
        QualityStatus.FAIL, "net_margin=1.5 outside [0.0, 1.0]", 1.5)
    assert margin.run({"net_margin": "n/a"}).status is QualityStatus.FAIL
    custom = QualityCheck("c", QualityCategory.CONSISTENCY, lambda r: QualityResult(
        "c", QualityCategory.CONSISTENCY, QualityStatus.WARN, "close enough", 0.004))
    data = json.loads(to_json(custom.run({})))
    assert (data["status"], data["message"], data["value"]) == ("WARN", "close enough", 0.004)


# --------------------------------------------------------------------------- assets
def test_asset_key_paths() -> None:
    key = AssetKey("sec", "earnings", "AAPL")
    assert key.parts == ("sec", "earnings", "AAPL")
    assert key.path == str(key.path) == str(key) == "sec/earnings/AAPL"
    assert AssetKey.from_string("sec/earnings/AAPL") == key == AssetKey(["sec", "earnings",
                                                                         "AAPL"])
    assert key.parent == AssetKey("sec", "earnings")
    assert AssetKey("sec").parent is None
    assert key.child("Q3") == AssetKey("sec", "earnings", "AAPL", "Q3")
    assert len({key, AssetKey.from_string(key.path)}) == 1
    for bad in ((), ("a/b",), ("",)):
        with pytest.raises(ValueError):
            AssetKey(*bad)


def test_materialization_is_json_safe_and_refuses_metadata_that_is_not() -> None:
    mat = AssetMaterialization(asset_key=AssetKey("sec", "earnings", "AAPL"),
                               partition="AAPL:Q3-2025", metadata={"records": 1},
                               materialized_at=datetime(2026, 1, 1, tzinfo=UTC))
    data = json.loads(to_json({"m": mat}))["m"]
    assert data == {"asset_key": "sec/earnings/AAPL", "partition": "AAPL:Q3-2025",
                    "metadata": {"records": 1}, "materialized_at": "2026-01-01T00:00:00+00:00"}
    assert AssetMaterialization.from_dict(data) == mat
    assert AssetMaterialization("a/b").asset_key == AssetKey("a", "b")
    with pytest.raises(ValueError, match="metadata.conn is a object"):
        AssetMaterialization("a/b", metadata={"conn": object()})
