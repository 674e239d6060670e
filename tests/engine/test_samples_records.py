"""The record samples (I1, I3, A2, A3, M2, M5) compute what their bundled data says.

Expected values are worked out here from the data files under ``sample_workflows/data``.
"""

from __future__ import annotations

import csv
import importlib
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from engine import (
    ManagedWorkflow,
    RunStatus,
    RunStore,
    Step,
    StepResult,
    TrackedWorkflowRunner,
    Workflow,
    WorkflowResult,
    WorkflowRunner,
)
from sample_workflows import SAMPLES_DIR

DATA = SAMPLES_DIR / "data"


@pytest.fixture(autouse=True)
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Sample writes (SQLite tables, the dashboard page, the run store) stay in tmp_path."""
    folder = tmp_path / "scratch"
    monkeypatch.setenv("SPINE_SAMPLES_SCRATCH", str(folder))
    monkeypatch.setenv("SPINE_DB", str(tmp_path / "spine.db"))
    return folder


def sample(name: str) -> ModuleType:
    return importlib.import_module(f"sample_workflows.{name}")


def rows(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def ok(workflow: Workflow | ManagedWorkflow, **params: Any) -> WorkflowResult:
    result = WorkflowRunner().execute(workflow, params or None)  # type: ignore[arg-type]
    assert result.status is RunStatus.COMPLETED, (result.error, result.error_step)
    return result


# --------------------------------------------------------------------------- I1
def i1_variant(cik: str) -> Workflow:
    i1 = sample("i1_sec_10k_etl")
    return Workflow("i1.variant", [
        Step.lambda_("fetch_10k", i1.fetch_10k, config={"cik": cik}),
        Step.lambda_("quality_gate", i1.quality_gate),
        Step.pipeline("normalize", "sec.normalize_filing"),
        Step.pipeline("store", "sec.store_filing"),
    ])


def test_i1_wraps_the_10k_in_an_envelope_gates_normalizes_and_stores_it(tmp_path: Path) -> None:
    i1 = sample("i1_sec_10k_etl")
    [index] = [r for r in rows("sec_filings.csv") if r["cik"] == "320193" and
               r["form_type"] == "10-K"]
    [facts] = [r for r in rows("sec_10k_financials.csv")
               if r["accession_number"] == index["accession_number"]]
    db = tmp_path / "filings.db"
    before = datetime.now(UTC)
    result = ok(i1.wf, db_path=str(db))

    envelope = result.outputs["fetch_10k"]["envelope"]
    assert envelope["event_time"] == datetime.fromisoformat(index["filing_date"]).replace(
        tzinfo=UTC)
    assert envelope["publish_time"] == datetime.fromisoformat(facts["published_at"])
    assert envelope["ingest_time"] >= before
    assert envelope["payload"]["revenue"] == float(facts["revenue"]) == 391e9
    gate = result.outputs["quality_gate"]
    assert (gate["quality"], gate["fields_checked"]) == ("passed", 2)
    assert {c["status"] for c in gate["checks"]} == {"PASS"}

    filing = result.outputs["normalize"]["filing"]
    assert filing["accession_number"] == "0000320193-25-000079"
    assert filing["company"] == "APPLE INC."
    assert filing["net_margin"] == round(float(facts["net_income"]) / float(facts["revenue"]), 6)
    lag = datetime.fromisoformat(facts["published_at"]) - envelope["event_time"]
    assert filing["publish_lag_hours"] == lag.total_seconds() / 3600 == 48
    assert result.outputs["store"]["financials_rows"] == 1
    ok(i1.wf, db_path=str(db))  # upsert: a re-run adds no row
    with sqlite3.connect(db) as conn:
        stored = conn.execute("SELECT accession_number, revenue, event_time, publish_time "
                              "FROM sec_10k_financials").fetchall()
        assert conn.execute("SELECT COUNT(*) FROM sec_filings").fetchone() == (1,)
    assert stored == [("0000320193-25-000079", 391e9, "2025-10-31T00:00:00+00:00",
                       "2025-11-02T00:00:00+00:00")]


def test_i1_quality_gate_stops_a_filing_without_net_income(tmp_path: Path) -> None:
    result = WorkflowRunner().execute(i1_variant("0001318605"), {"db_path": str(tmp_path / "x")})
    assert result.status is RunStatus.FAILED and result.error_step == "quality_gate"
    assert result.steps["quality_gate"].error == "Missing net_income"
    assert result.steps["quality_gate"].error_category == "DATA_QUALITY"
    assert result.steps["store"].status is RunStatus.SKIPPED


def test_i1_a_malformed_index_row_fails_the_fetch() -> None:
    result = WorkflowRunner().execute(i1_variant("0001652044"))  # Alphabet: accession "N/A"
    assert result.status is RunStatus.FAILED and result.error_step == "fetch_10k"
    assert "bad accession number 'N/A'" in (result.steps["fetch_10k"].error or "")


# --------------------------------------------------------------------------- I3
def test_i3_backfill_processes_each_date_once(tmp_path: Path) -> None:
    i3 = sample("i3_idempotent_backfill")
    feed = [r for r in rows("daily_feed_2025-01.csv") if r["source"] == "sec"]
    dates = [f"2025-01-{d:02d}" for d in range(1, 31)]
    valid = {d: sum(1 for r in feed if r["date"] == d and r["amount"]) for d in dates}
    ingest_db, store = tmp_path / "ingest.db", tmp_path / "runs.db"

    report = i3.backfill(days=30, db_path=str(ingest_db), db=str(store))
    assert (report["completed"], report["skipped_reruns"]) == (30, 30)
    assert report["processed_rows"] == sum(valid.values()) == 126
    with sqlite3.connect(ingest_db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM daily_ingest").fetchone() == (126,)
    runs = RunStore(store).list_runs("backfill.daily_ingest", limit=100)
    assert sorted(r.status.value for r in runs) == ["completed"] * 30 + ["skipped"] * 30

    again = i3.backfill(days=30, db_path=str(ingest_db), db=str(store))
    assert (again["completed"], again["skipped_first_runs"], again["processed_rows"]) == (0, 30, 0)


def test_i3_process_reports_the_share_of_records_kept(tmp_path: Path) -> None:
    i3 = sample("i3_idempotent_backfill")
    day = [r for r in rows("daily_feed_2025-01.csv")
           if r["date"] == "2025-01-05" and r["source"] == "sec"]
    fetched = i3.fetch_daily_data("2025-01-05")
    assert fetched["records"] == len(day)
    out = i3.process_daily(fetched["records"], "2025-01-05", fetched["rows"],
                           db_path=str(tmp_path / "x.db"))
    kept = sum(1 for r in day if r["amount"])
    assert out["processed"] == kept and out["rejected"] == len(day) - kept
    assert out["quality_score"] == round(kept / len(day), 4) < 1
    assert i3.process_daily(0, "2025-03-01", [], db_path=str(tmp_path / "x.db"))[
        "quality_score"] is None
    with pytest.raises(ValueError):
        i3.fetch_daily_data("01/17/2025")


# --------------------------------------------------------------------------- A2
def split_divisor(ticker: str, day: str, since: str) -> float:
    factor = 1.0
    for s in rows("split_history.csv"):
        if s["ticker"] == ticker and since < s["effective_date"] and day < s["effective_date"]:
            factor *= float(s["factor"])
    return factor


def a2_variant(ticker: str) -> ManagedWorkflow:
    a2 = sample("a2_split_adjustment")
    return (ManagedWorkflow("a2.variant")
            .step("build_chain", a2.build_adjustment_chain, config={"ticker": ticker})
            .step("adjust_prices", a2.adjust_historical_prices)
            .step("audit_corrections", a2.record_correction))


@pytest.mark.parametrize("ticker", ["AAPL", "NVDA", "TSLA"])
def test_a2_adjusts_by_the_splits_after_each_price(ticker: str) -> None:
    result = ok(a2_variant(ticker))
    prices = sorted((r["date"], float(r["close"])) for r in rows("raw_prices.csv")
                    if r["ticker"] == ticker)
    first = prices[0][0]
    chain = [s for s in rows("split_history.csv")
             if s["ticker"] == ticker and first < s["effective_date"]]
    assert result.outputs["build_chain"]["factor_count"] == len(chain)
    assert result.outputs["build_chain"]["composite_factor"] == np.prod(
        [float(s["factor"]) for s in chain])
    assert [a["publish_time"] < a["event_time"] for a in result.outputs["build_chain"]["actions"]] \
        == [True] * len(chain)  # announced before the ex-date
    adjusted = result.outputs["adjust_prices"]
    assert adjusted["adjusted_prices"] == [round(p / split_divisor(ticker, d, first), 2)
                                           for d, p in prices]

    vendor = {r["date"]: float(r["adjusted_close"]) for r in rows("vendor_adjusted_prices.csv")
              if r["ticker"] == ticker}
    expected = [(d, vendor[d], ours) for d, ours in zip(adjusted["dates"],
                                                         adjusted["adjusted_prices"],
                                                         strict=True)
                if abs(vendor[d] - ours) > 0.01]
    audit = result.outputs["audit_corrections"]
    assert audit["correction_count"] == len(expected)
    assert [(c["entity_key"], c["original_value"], c["corrected_value"])
            for c in audit["corrections"]] == [(f"{ticker}:{d}", v, o) for d, v, o in expected]


def test_a2_aapl_has_the_spec_chain_and_its_rounding_correction() -> None:
    result = ok(sample("a2_split_adjustment").wf)
    assert result.outputs["build_chain"]["composite_factor"] == 28.0
    assert result.outputs["adjust_prices"]["adjusted_prices"][:3] == [25.0, 23.21, 21.43]
    audit = result.outputs["audit_corrections"]
    [correction] = audit["corrections"]
    assert correction["reason"] == "ROUNDING"
    assert audit["delta"] == pytest.approx(25.00 - 25.10)
    assert audit["pct_change"] == pytest.approx((25.00 - 25.10) / 25.10)


def test_a2_tsla_vendor_that_missed_a_split_is_a_vendor_correction() -> None:
    [correction] = ok(a2_variant("TSLA")).outputs["audit_corrections"]["corrections"]
    assert correction["entity_key"] == "TSLA:2020-08-28"
    assert correction["corrected_value"] == round(2213.40 / 15, 2)
    assert correction["reason"] == "VENDOR_CORRECTION"


# --------------------------------------------------------------------------- A3
def test_a3_tracker_follows_the_bundled_amendment() -> None:
    a3 = sample("a3_bitemporal_filings")
    original, amended = [r for r in rows("filing_versions.csv") if r["cik"] == "0000320193"]
    tracker = a3.build_temporal_filing_tracker()
    assert tracker["revenue_delta"] == float(amended["revenue"]) - float(original["revenue"])
    assert tracker["revenue_delta"] == 3e9
    assert (tracker["original_version"], tracker["amended_version"]) == (1, 2)
    assert tracker["has_been_superseded"] is True
    assert tracker["envelope"]["publish_time"] == amended["published_at"]


def test_a3_point_in_time_answers_follow_the_ingestion_times() -> None:
    a3 = sample("a3_bitemporal_filings")
    versions = rows("filing_versions.csv")
    result = ok(a3.wf)
    assert result.outputs["load"]["version_count"] == len(versions)
    assert result.outputs["history"]["amended_companies"] == ["0000320193", "0001045810"]

    def believed(when: str) -> dict[str, int | None]:
        cutoff = datetime.fromisoformat(when).replace(tzinfo=UTC)
        out: dict[str, int | None] = {}
        for cik in sorted({v["cik"] for v in versions}):
            known = [v for v in versions if v["cik"] == cik
                     and datetime.fromisoformat(v["ingested_at"]) <= cutoff]
            out[cik] = len(known) or None
        return out

    for when in ("2025-11-20", "2025-12-10T06:00:00", "2026-01-01"):
        as_of = ok(a3.wf, known_at=when).outputs["as_of"]["as_of"]
        assert {cik: v and v["version"] for cik, v in as_of.items()} == believed(when)
    current = result.outputs["as_of"]["current"]
    assert current["0001045810"]["eps"] == 0.77 and current["0001045810"]["version"] == 3
    assert result.outputs["as_of"]["changed_since"] == ["0000320193", "0001045810"]


# --------------------------------------------------------------------------- M2
def m2_variant(ticker: str, quarter: str) -> ManagedWorkflow:
    m2 = sample("m2_full_audit_trail")
    return (ManagedWorkflow("m2.variant")
            .step("fetch", m2.fetch_earnings, config={"ticker": ticker, "quarter": quarter})
            .step("adjust", m2.apply_adjustments)
            .step("reconcile", m2.reconcile_sources)
            .step("record_asset", m2.record_asset))


@pytest.mark.parametrize(("ticker", "quarter"),
                         [("AAPL", "Q3-2025"), ("AAPL", "Q3-2020"), ("NVDA", "Q1-2025")])
def test_m2_adjusts_eps_by_later_splits_and_reconciles_with_the_vendor(
        ticker: str, quarter: str) -> None:
    [release] = [r for r in rows("earnings_releases.csv")
                 if (r["ticker"], r["quarter"]) == (ticker, quarter)]
    [vendor] = [float(r["eps_diluted"]) for r in rows("vendor_eps.csv")
                if (r["ticker"], r["quarter"]) == (ticker, quarter)]
    divisor = np.prod([float(s["factor"]) for s in rows("split_history.csv")
                       if s["ticker"] == ticker and s["effective_date"] > release["period_end"]])
    eps = float(release["eps_reported"]) / divisor
    result = ok(m2_variant(ticker, quarter))
    envelope = result.outputs["fetch"]["envelope"]
    assert envelope["publish_time"] == datetime.fromisoformat(release["published_at"])
    assert result.outputs["adjust"]["eps_adjusted"] == pytest.approx(eps)
    delta = eps - vendor if abs(eps - vendor) > 0.01 else 0.0
    assert result.outputs["reconcile"]["correction_delta"] == pytest.approx(delta)
    asset = result.outputs["record_asset"]
    assert asset["asset_key"] == f"sec/earnings/{ticker}"
    assert asset["materialization"]["partition"] == f"{ticker}:{quarter}"
    assert asset["materialization"]["metadata"]["corrected"] is bool(delta != 0.0)


def test_m2_default_run_records_the_aapl_vendor_correction() -> None:
    result = ok(sample("m2_full_audit_trail").wf)
    correction = result.outputs["reconcile"]["correction"]
    assert (correction["original_value"], correction["corrected_value"]) == (1.50, 1.52)
    assert correction["reason"] == "VENDOR_CORRECTION"
    assert correction["pct_change"] == pytest.approx(0.02 / 1.50)


# --------------------------------------------------------------------------- M5
def failing() -> StepResult:
    return StepResult.fail("upstream timed out", category="TRANSIENT")


def seed_store(db: Path) -> list[Any]:
    """Real runs in ``db``: hello.world twice (completed) and broken.feed once (failed)."""
    runner = TrackedWorkflowRunner(str(db))
    hello = sample("b1_hello_world").wf.workflow
    broken = Workflow("broken.feed", [Step.from_function("pull", failing)], domain="feeds")
    return [runner.execute(hello), runner.execute(hello), runner.execute(broken)]


def test_m5_dashboard_measures_the_run_store(tmp_path: Path, scratch: Path) -> None:
    m5 = sample("m5_production_dashboard")
    db = tmp_path / "spine.db"  # $SPINE_DB: where the dashboard looks by default
    seeded = seed_store(db)
    assert [r.status for r in seeded] == [RunStatus.COMPLETED] * 2 + [RunStatus.FAILED]
    durations = [r.duration_seconds for r in RunStore(db).list_runs(status="completed")]

    result = ok(m5.dashboard)
    metrics = result.outputs["metrics"]
    assert metrics["total_runs_today"] == 3 and metrics["finished_runs"] == 3
    assert metrics["success_rate"] == pytest.approx(2 / 3)
    assert metrics["error_breakdown"] == {"TRANSIENT": 1}
    assert metrics["avg_duration_sec"] == pytest.approx(np.mean(durations))
    assert metrics["p99_duration_sec"] == pytest.approx(np.percentile(durations, 99))

    freshness = result.outputs["freshness"]
    assert (freshness["fresh_assets"], freshness["stale_assets"]) == (1, 1)
    assert freshness["freshness_pct"] == 50.0
    assert freshness["stale_details"] == [{"domain": "broken", "asset": "broken.feed",
                                           "lag_hours": None, "last_status": "failed"}]
    assert result.outputs["sla"]["violations"] == ["success_rate", "freshness_pct"]
    render = result.outputs["render"]
    assert render["dashboard_status"] == "🔴 SLA Violation"
    assert render["summary"] == "3 runs | 66.7% success | 1 stale"
    page = Path(render["html_path"]).read_text(encoding="utf-8")
    assert Path(render["html_path"]).parent == scratch
    assert "broken.feed" in page and "TRANSIENT: 1" in page


def test_m5_domain_filters_and_a_healthy_store(tmp_path: Path) -> None:
    m5 = sample("m5_production_dashboard")
    db = tmp_path / "other.db"
    runner = TrackedWorkflowRunner(str(db))
    for _ in range(3):
        runner.execute(sample("b1_hello_world").wf.workflow)
    result = ok(m5.dashboard, db_path=str(db), domain="hello")
    assert result.outputs["metrics"]["total_runs_today"] == 3
    assert result.outputs["metrics"]["success_rate"] == 1.0
    assert result.outputs["sla"]["sla_met"] is True
    assert result.outputs["render"]["dashboard_status"] == "🟢 Healthy"
    assert ok(m5.dashboard, db_path=str(db), domain="risk").outputs["metrics"][
        "total_runs_today"] == 0


def test_m5_freshness_ages_with_the_last_success(tmp_path: Path) -> None:
    m5 = sample("m5_production_dashboard")
    db = tmp_path / "aged.db"
    [hello] = [TrackedWorkflowRunner(str(db)).execute(sample("b1_hello_world").wf.workflow)]
    assert hello.status is RunStatus.COMPLETED
    fresh = m5.check_data_freshness(db_path=str(db), max_lag_hours=1)
    assert (fresh["fresh_assets"], fresh["stale_assets"]) == (1, 0)
    stale = m5.check_data_freshness(db_path=str(db), max_lag_hours=0)
    assert stale["stale_details"][0]["asset"] == "hello.world"
    assert stale["stale_details"][0]["lag_hours"] >= 0
    assert m5.check_data_freshness(["sec"], db_path=str(db))["fresh_assets"] == 0
    assert m5.percentile([1.0, 2.0, 3.0, 4.0], 50) == float(np.percentile([1, 2, 3, 4], 50))
    assert m5.percentile([1.0, 2.0, 3.0, 4.0], 99) == pytest.approx(np.percentile([1, 2, 3, 4], 99))
