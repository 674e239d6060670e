"""Every bundled sample runs and computes what its own code and data say it should.

Expected values are worked out here from the samples' inputs and formulas (never copied
from the spec's result comments, several of which disagree with the spec's own code).
"""

from __future__ import annotations

import csv
import importlib
import math
import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from statistics import NormalDist
from types import ModuleType
from typing import Any

import pytest

import engine
from engine import (
    ExecutionMode,
    FeatureFlags,
    ManagedWorkflow,
    RunStatus,
    Workflow,
    WorkflowResult,
    WorkflowRunner,
    registry,
)
from sample_workflows import SAMPLES_DIR

SAMPLE_MODULES = {
    "b1_hello_world": ["hello.world"],
    "b2_csv_loader": ["csv.loader"],
    "b3_consensus_merge": ["consensus.merge"],
    "b4_daily_report": ["daily.pnl_report"],
    "b5_feature_flags": ["flagged.pipeline"],
    "i2_portfolio_fanout": ["portfolio.daily_analysis"],
    "i4_yaml_workflow": [],
    "i5_circuit_protected_ingest": ["protected.edgar_ingest"],
    "a1_local_process_job": ["jobs.local_process"],
    "a5_hot_reload_jobs": ["jobs.hot_reload_dev"],
    "m3_adapter_failover": ["jobs.adapter_failover"],
    "f3_container_pipeline": ["market.daily_pipeline"],
    "sec_pipelines": [],
    "m1_self_healing_dlq": ["selfheal.ingest", "selfheal.reprocess"],
    "m4_debug_pipeline": ["debug.pipeline"],
    "a4_portable_etl": ["portable.etl"],
    "f1_env_pipeline": ["infra.env_driven_pipeline"],
    "f2_vault_credentials": ["infra.vault_credentials"],
    "f4_portable_financial_etl": ["portable.financial_etl"],
    "f5_sec_query": ["sec.query_live_db"],
    "f6_options_chain": ["finance.options_chain"],
    "f7_credit_risk": ["risk.credit_scoring"],
    "f8_market_aggregator": ["market.multi_exchange_aggregator"],
    "f9_eod_reconciliation": ["ops.eod_reconciliation"],
    "f10_filing_monitor": ["compliance.filing_monitor"],
    "medallion.workflow": ["sec.medallion"],
    "financial_calculations": ["finance.calculations"],
    "filing_extraction": ["sec.filing_processor"],
    "r5_parallel_ingest": ["finance.parallel_ingest"],
    "i1_sec_10k_etl": ["sec.10k_etl"],
    "i3_idempotent_backfill": ["backfill.daily_ingest"],
    "a2_split_adjustment": ["finance.split_adjustment"],
    "a3_bitemporal_filings": ["filings.bitemporal_tracker"],
    "m2_full_audit_trail": ["finance.full_audit_trail"],
    "m5_production_dashboard": ["ops.production_dashboard"],
    "incremental_etl": ["data.incremental_etl"],
}
YAML_WORKFLOWS = {"i4_sec_filings.yaml": "etl.sec_filings",
                  "calculations_pipeline.yaml": "finance.calculations_yaml"}
DATA = SAMPLES_DIR / "data"


def has_yaml_loader() -> bool:
    """Discovery loads YAML through ``engine.spec``."""
    try:
        importlib.import_module("engine.spec")
    except ImportError:
        return False
    return True


def has_workflow_spec() -> bool:
    """The I4 sample scripts against the public ``engine.WorkflowSpec``."""
    return hasattr(engine, "WorkflowSpec")


needs_yaml = pytest.mark.skipif(not has_workflow_spec(),
                                reason="engine does not export WorkflowSpec yet")


@pytest.fixture(autouse=True)
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Samples that write (SQLite files, the run store's breakers and dead letters) write
    under the test's tmp folder."""
    folder = tmp_path / "scratch"
    monkeypatch.setenv("SPINE_SAMPLES_SCRATCH", str(folder))
    monkeypatch.setenv("SPINE_DB", str(tmp_path / "spine.db"))
    monkeypatch.delenv("SPINE_SEC_DB", raising=False)
    return folder


@pytest.fixture
def clean_registry() -> Iterator[None]:
    before = set(registry.list_workflows())
    yield
    for name in set(registry.list_workflows()) - before:
        registry.unregister_workflow(name)


def sample(name: str) -> ModuleType:
    return importlib.import_module(f"sample_workflows.{name}")


def run(workflow: Workflow | ManagedWorkflow, **params: Any) -> WorkflowResult:
    return WorkflowRunner().execute(workflow, params or None)  # type: ignore[arg-type]


def ok(workflow: Workflow | ManagedWorkflow, **params: Any) -> WorkflowResult:
    result = run(workflow, **params)
    assert result.status is RunStatus.COMPLETED, (result.error, result.error_step)
    return result


def module_workflows(module: ModuleType) -> list[Workflow]:
    found = []
    for value in vars(module).values():
        if isinstance(value, ManagedWorkflow):
            found.append(value.workflow)
        elif isinstance(value, Workflow):
            found.append(value)
    return found


# --------------------------------------------------------------------------- catalog
@pytest.mark.parametrize("name", sorted(SAMPLE_MODULES))
def test_sample_module_has_a_one_line_description_and_described_tagged_workflows(
        name: str) -> None:
    module = sample(name)
    doc = (module.__doc__ or "").strip()
    assert doc and doc.splitlines()[0].strip(), f"{name} needs a module docstring"
    workflows = module_workflows(module)
    assert sorted(w.name for w in workflows) == sorted(SAMPLE_MODULES[name])
    for wf in workflows:
        assert wf.description, f"{wf.name} needs a description"
        assert wf.tags, f"{wf.name} needs tags"


def test_discovery_finds_every_sample_without_errors(clean_registry: None) -> None:
    from engine.discovery import discover

    expected = {n for names in SAMPLE_MODULES.values() for n in names}
    if has_yaml_loader():
        catalog = discover([SAMPLES_DIR])
        expected |= set(YAML_WORKFLOWS.values())
    else:
        catalog = discover(sorted(SAMPLES_DIR.glob("[!_]*.py")))
    assert catalog.errors == ()
    assert set(catalog.names()) == expected


@pytest.mark.parametrize("name", sorted(n for n in SAMPLE_MODULES if n != "sec_pipelines"))
def test_sample_runs_as_a_script(name: str, scratch: Path, tmp_path: Path) -> None:
    if name == "i4_yaml_workflow" and not has_workflow_spec():
        pytest.skip("engine does not export WorkflowSpec yet")
    env = {**os.environ, "SPINE_SAMPLES_SCRATCH": str(scratch)}
    proc = subprocess.run([sys.executable, "-m", f"sample_workflows.{name}"], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=60)
    assert proc.stderr == ""
    # m4 fails on purpose; every other sample completes
    expected = "failed" if name == "m4_debug_pipeline" else "completed"
    assert expected in proc.stdout.splitlines()[0]
    assert proc.returncode == 0


# --------------------------------------------------------------------------- basic
def test_b1_greets_then_shouts() -> None:
    result = ok(sample("b1_hello_world").wf)
    assert result.outputs["greet"] == {"message": "Hello, spine-core!"}
    assert result.outputs["shout"] == {"shouted": "HELLO, SPINE-CORE!"}


def test_b2_loads_the_bundled_csv_into_sqlite(scratch: Path, tmp_path: Path) -> None:
    lines = (DATA / "companies.csv").read_text(encoding="utf-8").splitlines()
    data_rows = [line for line in lines[1:] if line.strip()]
    without_cik = [line for line in data_rows if line.startswith(",")]
    db = tmp_path / "companies.db"

    result = ok(sample("b2_csv_loader").wf, db_path=str(db))

    assert result.outputs["extract_csv"]["count"] == len(data_rows) == 20
    assert result.outputs["validate_records"]["rejected"] == len(without_cik) == 1
    loaded = len(data_rows) - len(without_cik)
    assert result.outputs["load_to_db"]["inserted"] == loaded
    with sqlite3.connect(db) as conn:
        ciks = {row[0] for row in conn.execute("SELECT cik FROM companies")}
    assert len(ciks) == loaded
    assert "0000320193" in ciks

    again = ok(sample("b2_csv_loader").wf, db_path=str(db))
    assert again.outputs["load_to_db"]["table_rows"] == loaded  # upsert: re-runs add nothing


def test_b2_default_database_goes_to_the_scratch_folder(scratch: Path) -> None:
    result = ok(sample("b2_csv_loader").wf)
    assert Path(result.outputs["load_to_db"]["db_path"]).parent == scratch


def test_b2_quality_gate_stops_a_file_with_too_many_rejects(tmp_path: Path) -> None:
    b2 = sample("b2_csv_loader")
    bad = tmp_path / "bad.csv"
    bad.write_text("cik,ticker\n1,A\n,B\n,C\n4,D\n5,E\n", encoding="utf-8")
    wf = Workflow("b2.bad", [b2.extract_csv.as_step(config={"file_path": str(bad)}),
                             b2.validate_records.as_step(), b2.load_to_db.as_step()])
    result = run(wf, db_path=str(tmp_path / "x.db"))
    assert result.status is RunStatus.FAILED
    assert result.error_step == "validate_records"
    assert "Too many rejects: 2/5" in (result.steps["validate_records"].error or "")
    assert result.steps["load_to_db"].status is RunStatus.SKIPPED


def test_b3_merges_two_parallel_roots() -> None:
    wf = sample("b3_consensus_merge").wf
    assert wf.mode is ExecutionMode.PARALLEL
    assert wf.plan.roots == ["fetch_bloomberg", "fetch_factset"]
    merged = ok(wf).outputs["merge"]
    assert merged["consensus_eps"] == pytest.approx((1.52 + 1.50) / 2)
    assert merged["eps_spread"] == pytest.approx(0.02)
    assert merged["sources_merged"] == 2


def pnl_by_desk(report_date: str) -> tuple[int, dict[str, float]]:
    with (DATA / "daily_pnl.csv").open(newline="", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["date"] == report_date]
    desks: dict[str, float] = {}
    for r in rows:
        move = float(r["close_price"]) - float(r["open_price"])
        desks[r["desk"]] = desks.get(r["desk"], 0.0) + int(r["quantity"]) * move
    return len(rows), desks


def test_b4_is_a_daily_cron_batch_with_a_real_report_pipeline() -> None:
    wf = sample("b4_daily_report").wf
    assert wf.schedule == "0 6 * * *"
    assert wf.domain == "reporting"
    assert wf.step_names() == ["generate_daily", "validate_report", "send_email"]
    assert wf.pipeline_names() == ["reports.generate_daily"]

    result = ok(wf, report_date="2026-02-13")
    rows, desks = pnl_by_desk("2026-02-13")
    report = result.outputs["generate_daily"]
    assert report["rows"] == rows == 7
    assert report["pnl_by_desk"] == pytest.approx(desks)
    assert report["total_pnl"] == pytest.approx(sum(desks.values()))
    assert report["report"].startswith("Daily P&L report for 2026-02-13")
    assert result.outputs["validate_report"] == {"valid": True, "message": "Report has 7 rows"}
    assert result.outputs["send_email"]["sent"] is True


def test_b4_today_means_latest_trading_day_and_empty_days_are_not_sent() -> None:
    wf = sample("b4_daily_report").wf
    with (DATA / "daily_pnl.csv").open(newline="", encoding="utf-8") as f:
        dates = {r["date"] for r in csv.DictReader(f)}
    latest = max(d for d in dates if d <= date.today().isoformat())
    assert ok(wf).outputs["generate_daily"]["report_date"] == latest

    empty = ok(wf, report_date="2026-01-01")
    assert empty.outputs["generate_daily"]["rows"] == 0
    assert empty.outputs["validate_report"]["valid"] is False
    assert empty.outputs["send_email"] == {"sent": False, "reason": "Report validation failed"}


def test_b5_flags_choose_the_steps() -> None:
    b5 = sample("b5_feature_flags")
    if not any(FeatureFlags.env_var(f) in os.environ
               for f in ("use_new_parser", "enable_enrichment")):
        assert b5.wf.step_names() == ["fetch", "parse_v1", "enrich", "store"]
    with FeatureFlags.override("use_new_parser", False), \
            FeatureFlags.override("enable_enrichment", True):
        default = b5.build_pipeline()
    assert default.step_names() == ["fetch", "parse_v1", "enrich", "store"]
    result = ok(default)
    assert result.outputs["parse_v1"] == {"parsed": True, "parser": "v1", "fields": 2}
    assert result.outputs["store"] == {"stored": True}

    with FeatureFlags.override("use_new_parser", True), \
            FeatureFlags.override("enable_enrichment", False):
        flagged = b5.build_pipeline()
    assert flagged.step_names() == ["fetch", "parse_v2", "store"]
    assert ok(flagged).outputs["parse_v2"]["parser"] == "v2_experimental"


# --------------------------------------------------------------------------- intermediate
def test_i2_map_yields_per_position_results_in_order_and_aggregates_them() -> None:
    result = ok(sample("i2_portfolio_fanout").wf)
    positions = result.outputs["load"]["positions"]
    mapped = result.outputs["analyze_each"]
    assert mapped["count"] == len(positions) == 4
    assert [r["ticker"] for r in mapped["results"]] == ["AAPL", "MSFT", "AMZN", "GOOGL"]
    for position, analysis in zip(positions, mapped["results"], strict=True):
        assert analysis["pnl"] == pytest.approx(0.15 * position["cost_basis"] * position["shares"])
        assert analysis["return_pct"] == pytest.approx(15.0)
    summary = result.outputs["aggregate"]
    # 0.15 * (150*1000 + 280*500 + 120*200 + 140*300) = 0.15 * 356,000
    assert summary["total_positions"] == 4
    assert summary["total_cost"] == pytest.approx(356_000)
    assert summary["total_pnl"] == pytest.approx(53_400)
    assert summary["portfolio_return_pct"] == pytest.approx(15.0)
    assert summary["best_position"] == "AAPL"  # 22,500 vs 21,000 / 3,600 / 6,300


def test_i4_pipelines_fetch_validate_normalize_store(tmp_path: Path) -> None:
    sec = sample("sec_pipelines")
    text = (DATA / "sec_filings.csv").read_text(encoding="utf-8")
    ten_k_rows = sum(1 for line in text.splitlines() if ",10-K," in line)
    fetched = sec.fetch_filings(form_type="10-K")
    assert fetched["fetched"] == ten_k_rows == 7
    checked = sec.validate_filings(fetched["filings"])
    assert [r["accession_number"] for r in checked.output["rejected"]] == [
        "N/A", "0001326801-25-000017"]
    normalized = sec.normalize_filings(checked.output["valid_filings"])["normalized"]
    assert len(normalized) == 5
    for filing in normalized:
        assert re.fullmatch(r"\d{10}-\d{2}-\d{6}", filing["accession_number"])
        assert re.fullmatch(r"\d{10}", filing["cik"])
        date.fromisoformat(filing["filing_date"])
    by_cik = {f["cik"]: f for f in normalized}
    assert by_cik["0000320193"]["company"] == "APPLE INC."
    assert by_cik["0001318605"]["company"] == "TESLA, INC."
    assert by_cik["0001045810"]["filing_date"] == "2025-02-26"  # was 02/26/2025
    db = tmp_path / "filings.db"
    assert sec.store_filings(normalized, db_path=str(db))["stored"] == 5
    assert sec.store_filings(normalized, db_path=str(db))["table_rows"] == 5


def test_i4_validate_fails_as_data_quality_when_nothing_is_valid() -> None:
    sec = sample("sec_pipelines")
    result = sec.validate_filings([{"accession_number": "x", "cik": "1", "filing_date": ""}])
    assert not result.success
    assert result.category == "DATA_QUALITY"


@needs_yaml
def test_i4_yaml_workflow_runs_and_round_trips(tmp_path: Path) -> None:
    i4 = sample("i4_yaml_workflow")
    workflow = i4.load_workflow()
    assert workflow.name == "etl.sec_filings"
    assert workflow.domain == "sec"
    assert workflow.tags == ["sec", "etl", "daily"]
    assert workflow.mode is ExecutionMode.PARALLEL
    assert workflow.step_names() == ["fetch", "validate", "normalize", "store"]
    result = ok(workflow, db_path=str(tmp_path / "f.db"))
    assert result.outputs["fetch"]["fetched"] == 7
    assert len(result.outputs["validate"]["rejected"]) == 2
    assert result.outputs["store"]["stored"] == 5
    first, second = i4.round_trip()
    assert first.to_dict() == second.to_dict()


# --------------------------------------------------------------------------- mind-blowing
def test_m4_fails_at_validate_with_data_quality() -> None:
    result = run(sample("m4_debug_pipeline").wf)
    assert result.status is RunStatus.FAILED
    assert result.error_step == "validate"
    assert result.outputs["transform"] == {"doubled": [2, 4, 6, 8, 10]}
    failed = result.steps["validate"]
    assert failed.error_category == "DATA_QUALITY"
    assert failed.error == "Values exceed threshold"


# --------------------------------------------------------------------------- financial
def test_f5_queries_the_sqlite_sec_database() -> None:
    result = ok(sample("f5_sec_query").wf)
    connect = result.outputs["connect"]
    with sqlite3.connect(connect["db_path"]) as conn:
        facts = conn.execute("SELECT COUNT(*) FROM silver_financial_facts").fetchone()[0]
    assert connect["total_facts"] == facts

    periods = result.outputs["income"]["periods"]
    assert [p["fy"] for p in periods] == [2025, 2024, 2023]
    # FY2024 revenue was restated from 60.900bn to 60.922bn; the canonical view keeps the latter
    assert periods[1]["revenue"] == 60_922_000_000
    assert periods[0]["gross_margin"] == round(97_729 / 130_497, 4)
    balance = result.outputs["balance"]
    assert balance["equity"] == 81_316_000_000
    assert balance["current_ratio"] == round(80_126 / 19_215, 2)

    sheet = result.outputs["tearsheet"]["tearsheet"]
    assert sheet["roe"] == round(72_880 / 81_316, 4) == 0.8963
    assert sheet["roa"] == round(72_880 / 112_198, 4)
    assert sheet["net_margin"] == round(72_880 / 130_497, 4)
    assert sheet["revenue_growth_yoy"] == round(130_497 / 60_922 - 1, 4)


def test_f5_reports_a_missing_database_clearly(tmp_path: Path) -> None:
    result = run(sample("f5_sec_query").wf, db_path=str(tmp_path / "nope.sqlite"))
    assert result.status is RunStatus.FAILED
    assert result.error_step == "connect"
    assert "does not exist" in (result.steps["connect"].error or "")


def black_scholes(spot: float, strike: float, t: float, r: float, q: float, vol: float,
                  call: bool) -> float:
    n = NormalDist().cdf
    d1 = (math.log(spot / strike) + (r - q + vol * vol / 2) * t) / (vol * math.sqrt(t))
    d2 = d1 - vol * math.sqrt(t)
    if call:
        return spot * math.exp(-q * t) * n(d1) - strike * math.exp(-r * t) * n(d2)
    return strike * math.exp(-r * t) * n(-d2) - spot * math.exp(-q * t) * n(-d1)


def test_f6_prices_the_chain_with_black_scholes() -> None:
    result = ok(sample("f6_options_chain").wf)
    market = result.outputs["market"]
    spot, r, q = market["spot"], market["risk_free_rate"], market["dividend_yield"]
    priced = result.outputs["price"]["priced_options"]
    assert len(priced) == 7 * 4
    for opt in priced:
        t = opt["dte"] / 365
        expected_vol = market["implied_vol"] * (1 + 0.1 * (1 - spot / opt["strike"]))
        assert opt["vol"] == pytest.approx(expected_vol, abs=1e-4)
        assert opt["call_price"] == pytest.approx(
            black_scholes(spot, opt["strike"], t, r, q, opt["vol"], True), abs=1e-3)
        # put-call parity: C - P = S e^-qT - K e^-rT
        parity = spot * math.exp(-q * t) - opt["strike"] * math.exp(-r * t)
        assert opt["call_price"] - opt["put_price"] == pytest.approx(parity, abs=1e-3)
    greeks = result.outputs["greeks"]
    in_the_money = sum(1 for o in priced if o["moneyness"] > 1)
    assert in_the_money == 12  # strikes at 0.85, 0.90 and 0.95 of spot, four expiries each
    assert greeks["portfolio_delta"] == pytest.approx(
        0.5 * in_the_money - 0.15 * (len(priced) - in_the_money))
    assert greeks["atm_call_30d"] == pytest.approx(
        black_scholes(spot, spot, 30 / 365, r, q, market["implied_vol"], True), abs=1e-3)


def test_f7_scores_follow_the_formulas() -> None:
    result = ok(sample("f7_credit_risk").wf)
    d = result.outputs["load"]
    ta = d["total_assets"]
    z = (1.2 * d["working_capital"] / ta + 1.4 * d["retained_earnings"] / ta
         + 3.3 * d["ebit"] / ta + 0.6 * d["market_cap"] / d["total_liabilities"]
         + 1.0 * d["revenue"] / ta)
    altman = result.outputs["altman"]
    assert altman["altman_z"] == pytest.approx(z, abs=1e-4)
    assert z < 1.81 and altman["zone"] == "DISTRESS"

    roa = d["net_income"] / ta
    signals = [
        roa > 0,
        d["operating_cash_flow"] > 0,
        roa > d["prev_roa"],
        d["operating_cash_flow"] / ta > roa,
        d["total_liabilities"] / ta < d["prev_leverage"],
        d["current_assets"] / d["current_liabilities"] > d["prev_current_ratio"],
        d["shares_outstanding"] <= d["prev_shares_outstanding"],
        d["gross_profit"] / d["revenue"] > d["prev_gross_margin"],
        d["revenue"] / ta > 0.4,
    ]
    f_score = sum(signals)
    piotroski = result.outputs["piotroski"]
    assert piotroski["piotroski_f"] == f_score == 9
    assert piotroski["strength"] == "STRONG"

    bucket = 0.001 if z > 3 else 0.05 if z > 2 else 0.15 if z > 1.5 else 0.40
    pd_adj = bucket * (1 - 0.05 * f_score)
    risk = result.outputs["pd"]
    assert risk["pd_estimate"] == pytest.approx(pd_adj, abs=1e-4)
    assert risk["implied_rating"] == "BB/B"  # 0.02 <= 0.0825 < 0.10
    assert risk["z_zone"] == "DISTRESS"


def test_f8_detects_cross_exchange_spreads() -> None:
    result = ok(sample("f8_market_aggregator").wf)
    books = {o["exchange"]: o["prices"] for name, o in result.outputs.items()
             if name.startswith("fetch_")}
    tickers = set().union(*books.values())
    expected = {}
    for ticker in tickers:
        quotes = {ex: prices[ticker] for ex, prices in books.items() if ticker in prices}
        if len(quotes) < 2:
            continue
        low, high = min(quotes.values()), max(quotes.values())
        if (high - low) / low * 10_000 > 0.5:
            expected[ticker] = (min(quotes, key=quotes.__getitem__),
                                max(quotes, key=quotes.__getitem__))
    merged = result.outputs["merge"]
    assert merged["tickers_seen"] == len(tickers) == 5
    assert merged["multi_listed"] == 2
    found = {a["ticker"]: (a["buy_at"], a["sell_at"]) for a in merged["arb_opportunities"]}
    assert found == expected == {"AAPL": ("CBOE", "NASDAQ"), "MSFT": ("NASDAQ", "CBOE")}
    assert [a["ticker"] for a in merged["arb_opportunities"]] == ["AAPL", "MSFT"]
    assert result.outputs["report"]["arb_count"] == 2


def test_f9_finds_the_amzn_and_meta_breaks() -> None:
    result = ok(sample("f9_eod_reconciliation").wf)
    recon = result.outputs["reconcile"]
    assert recon["total_positions"] == 6
    assert recon["matched"] == 4
    assert recon["break_count"] == 2
    assert recon["breaks"] == [
        {"ticker": "AMZN", "internal": 3000, "broker": 2900, "difference": 100,
         "type": "QUANTITY_MISMATCH", "severity": "HIGH"},
        {"ticker": "META", "internal": 0, "broker": 200, "difference": -200,
         "type": "MISSING_INTERNAL", "severity": "HIGH"},
    ]
    report = result.outputs["report"]
    assert report["status"] == "BREAKS_DETECTED"
    assert report["match_rate"] == "4/6 (66.7%)"
    assert [item.split(":")[0] for item in report["action_items"]] == [
        "INVESTIGATE", "UNKNOWN POSITION"]


def test_f9_reconciles_whatever_the_loaders_return() -> None:
    f9 = sample("f9_eod_reconciliation")

    def broker_agrees() -> dict:
        books = f9.load_internal_positions()["positions"]
        return {"source": "broker", "positions": {t: {"shares": p["shares"]}
                                                  for t, p in books.items()}}

    clean = (ManagedWorkflow("f9.clean")
             .step("internal", f9.load_internal_positions)
             .step("broker", broker_agrees)
             .step("reconcile", f9.reconcile_positions)
             .step("report", f9.generate_recon_report))
    result = ok(clean)
    assert result.outputs["reconcile"]["break_count"] == 0
    assert result.outputs["report"]["status"] == "CLEAN"
    assert result.outputs["report"]["match_rate"] == "5/5 (100.0%)"


def test_f10_deadlines_filings_and_alerts() -> None:
    result = ok(sample("f10_filing_monitor").wf)
    rules = result.outputs["rules"]
    assert rules["companies"] == 7
    today, quarter_end = date(2026, 2, 16), date(2025, 12, 31)
    remaining = {
        ticker: (quarter_end + timedelta(days=rules["deadlines"]["10-Q"][category]) - today).days
        for ticker, category in rules["categories"].items()
    }
    assert remaining["AAPL"] == -7 and remaining["GME"] == -2
    upcoming = result.outputs["deadlines"]
    assert upcoming["count"] == sum(1 for days in remaining.values() if days <= 30) == 7
    assert upcoming["overdue_count"] == sum(1 for days in remaining.values() if days < 0) == 7
    assert {u["ticker"]: u["days_remaining"] for u in upcoming["upcoming"]} == remaining

    crossref = result.outputs["crossref"]
    filed = {d["ticker"] for d in crossref["details"] if d["filed"]}
    assert filed == {"AAPL", "MSFT", "NVDA", "AMZN"}  # the 10-Qs in data/sec_dev.sql
    assert (crossref["filed"], crossref["unfiled"]) == (4, 3)

    alerts = result.outputs["alerts"]
    unfiled_due = {t for t, days in remaining.items() if t not in filed and days <= 5}
    assert {a["ticker"] for a in alerts["alerts"]} == unfiled_due == {"TSLA", "SMCI", "GME"}
    assert alerts["alerts_generated"] == 3
    assert {a["severity"] for a in alerts["alerts"]} == {"CRITICAL"}
    assert alerts["summary"] == "4 filed, 3 pending, 3 alerts"


# --------------------------------------------------------------------------- jobs (spec §12)
def test_a1_job_step_output_feeds_the_next_step_and_sees_only_its_env(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPINE_DB", "/tmp/a1-secret.db")  # the engine's env: never the job's
    a1 = sample("a1_local_process_job")
    result = ok(a1.wf)
    assert result.outputs["transform"] == {"processed": 42, "status": "complete",
                                           "sees_engine_env": False}
    assert result.outputs["summarize"] == {"summary": "42 records complete", "ok": True}
    assert ok(a1.wf, records=7).outputs["transform"]["processed"] == 7


def test_a5_the_job_after_a_reload_sees_the_new_config() -> None:
    a5 = sample("a5_hot_reload_jobs")
    before = a5.hot.reload_count
    result = ok(a5.wf)
    assert result.outputs["before"]["log_level"] == "INFO"
    assert result.outputs["after"]["log_level"] == "DEBUG"
    assert result.outputs["compare"]["changed"] is True
    assert result.outputs["before"]["job"] != result.outputs["after"]["job"]
    assert a5.hot.reload_count - before in (1, 2)  # v2 -> v1 first when a run came before
    assert a5.hot.current_config == a5.V2


def test_m3_fails_over_to_local_processes_without_docker() -> None:
    m3 = sample("m3_adapter_failover")
    result = ok(m3.wf)
    assert result.outputs["capabilities"]["adapters"] == ["docker", "local"]
    assert result.outputs["capabilities"]["supports_gpu"] is False
    if result.outputs["resilient_etl"]["runtime"] == "local":
        assert result.outputs["report"] == {"summary": "1000 records via local",
                                            "fell_back": True}
    assert result.outputs["resilient_etl"]["batch_date"] == "2025-01-15"


def test_f3_jobs_compute_and_store_the_days_returns(tmp_path: Path) -> None:
    f3 = sample("f3_container_pipeline")
    db = tmp_path / "returns.db"
    result = ok(f3.wf, db_path=str(db))
    returns = {t: round((f3.CLOSE[t] / f3.PREVIOUS_CLOSE[t] - 1) * 100, 3) for t in f3.CLOSE}
    assert result.outputs["fetch"]["prices"] == f3.CLOSE
    assert result.outputs["calculate"]["returns_pct"] == returns
    assert result.outputs["calculate"]["avg_return"] == round(sum(returns.values()) / 4, 3)
    assert result.outputs["store"] == {"stored": 4, "table_rows": 4, "db_path": str(db)}
    with sqlite3.connect(db) as conn:
        rows = dict(conn.execute("SELECT ticker, return_pct FROM daily_returns"))
    assert rows == returns
    again = ok(f3.wf, db_path=str(db), trade_date="2026-02-17")
    assert again.outputs["store"]["table_rows"] == 8
    bad = run(f3.wf, trade_date="16/02/2026")
    assert bad.status is RunStatus.FAILED and bad.error_step == "plan"
    assert "fetch" not in bad.outputs  # no job started
