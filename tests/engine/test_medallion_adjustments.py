"""The medallion sample's reference data and R1's ``import_tickers`` and ``adjustments`` steps:
the generator's ticker map and split feed, their import (malformed rows turned away), EPS and
share counts split-adjusted in gold, and Beneish's M. Expected values are worked out here by
hand from the generated feed and the canonical statement views."""

from __future__ import annotations

import json
import sqlite3
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from medallion_runs import rows, run_medallion

from engine import RunStatus, WorkflowRunner, generate_sec_dataset
from sample_workflows.medallion.reference import import_reference
from sample_workflows.medallion.schema import connect, ensure_schema
from sample_workflows.medallion.workflow import wf

COMPANIES = 60


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("adjust")
    result = run_medallion(folder, companies=COMPANIES)
    return {"db": folder / "m.sqlite", "sec": folder / "sec", "result": result,
            "folder": folder}


def splits(sec: Path) -> list[dict[str, str]]:
    lines = (sec / "corporate_actions.tsv").read_text().splitlines()
    header = lines[0].split("\t")
    return [dict(zip(header, line.split("\t"), strict=True)) for line in lines[1:]]


# --------------------------------------------------------------------------- generator
def test_reference_files_are_deterministic_and_listed_in_the_manifest(
        tmp_path: Path, run: dict[str, Any]) -> None:
    again = generate_sec_dataset(tmp_path / "again", companies=COMPANIES, seed=7)
    for kind, path in again.reference.items():
        assert path.read_bytes() == (run["sec"] / path.name).read_bytes(), kind
    manifest = json.loads((run["sec"] / "manifest.json").read_text())
    assert manifest["reference"] == {"tickers": "company_tickers.json",
                                     "corporate_actions": "corporate_actions.tsv"}
    tickers = json.loads((run["sec"] / "company_tickers.json").read_text())
    assert tickers["fields"] == ["cik", "name", "ticker", "exchange"]
    assert manifest["tickers"] == len(tickers["data"]) == COMPANIES - 1  # one is unlisted
    assert len({t[2] for t in tickers["data"]}) == len(tickers["data"])  # unique tickers
    assert manifest["splits"] == len(splits(run["sec"])) == 2


def test_each_generated_split_is_where_the_share_count_jumps(run: dict[str, Any]) -> None:
    for split in splits(run["sec"]):
        cik, ratio = int(split["cik"]), int(split["ratio"])
        assert split["action"] == "SPLIT" and ratio in (2, 3, 4)
        ex_date = split["ex_date"]
        # diluted shares reported for the quarter before and the quarter of the split
        reported = dict(rows(run["db"], "SELECT period_end_date, diluted_shares FROM "
                                        "v_income_statement WHERE company_id = ? AND "
                                        "period_type = 'quarterly'", cik))
        assert "2024-03-31" < ex_date <= "2024-06-30"
        assert reported["2024-06-30"] / reported["2024-03-31"] == pytest.approx(ratio)


# --------------------------------------------------------------------------- import
def test_import_tickers_loads_the_reference_data_once(run: dict[str, Any]) -> None:
    out = run["result"].outputs["import_tickers"]
    assert (out["tickers_read"], out["tickers_new"]) == (COMPANIES - 1, COMPANIES - 1)
    assert (out["actions_read"], out["actions_new"], out["rejected"]) == (2, 2, 0)
    stored = rows(run["db"], "SELECT cik, ex_date, method, factor FROM ref_corporate_actions "
                             "ORDER BY cik")
    assert [tuple(r) for r in stored] == sorted(
        (int(s["cik"]), s["ex_date"], "SPLIT", float(s["ratio"])) for s in splits(run["sec"]))
    conn = connect(run["db"])
    try:
        again = import_reference(conn, run["sec"])
    finally:
        conn.close()
    assert (again.tickers_new, again.actions_new, again.rejected) == (0, 0, [])


def test_malformed_reference_rows_are_rejected_with_line_and_reason(tmp_path: Path) -> None:
    (tmp_path / "company_tickers.json").write_text(json.dumps({
        "fields": ["cik", "name", "ticker", "exchange"],
        "data": [[1001, "Good Co.", "good", "NYSE"], ["x", "Bad Co.", "BAD", "NYSE"],
                 [1003, "No Ticker Co.", "", "NYSE"]]}))
    (tmp_path / "corporate_actions.tsv").write_text(
        "cik\tticker\tex_date\taction\tratio\tdescription\n"
        "1001\tGOOD\t2024-06-03\tSPLIT\t3\t3-for-1 stock split\n"
        "1001\tGOOD\t2024-07-01\tSPLIT\t1\tnot a split\n"
        "1001\tGOOD\t2024-13-01\tSPLIT\t2\tno such month\n"
        "1001\tGOOD\t2024-08-01\tMERGER\t2\tunknown action\n"
        "1001\tGOOD\t2024-09-01\tSPLIT\n")
    conn = connect(tmp_path / "m.sqlite")
    try:
        ensure_schema(conn)
        result = import_reference(conn, tmp_path)
        tickers = conn.execute("SELECT cik, ticker FROM ref_company_tickers").fetchall()
        actions = conn.execute("SELECT ex_date, factor FROM ref_corporate_actions").fetchall()
    finally:
        conn.close()
    assert tickers == [(1001, "GOOD")]
    assert actions == [("2024-06-03", 3.0)]
    reasons = "\n".join(result.rejected)
    assert len(result.rejected) == 6
    assert "company_tickers.json: entry 2" in reasons
    assert "company_tickers.json: entry 3: needs a positive cik and a ticker" in reasons
    assert "corporate_actions.tsv:3: SPLIT on 2024-07-01: factor 1.0 must be > 1" in reasons
    assert "corporate_actions.tsv:4:" in reasons and "corporate_actions.tsv:5:" in reasons
    assert "corporate_actions.tsv:6: 4 fields where the header has 6" in reasons


def test_a_data_set_without_reference_files_runs_with_figures_as_reported(
        tmp_path: Path, run: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPINE_DB", str(tmp_path / "spine.db"))
    bare = tmp_path / "bare"
    bare.mkdir()
    for zip_path in run["sec"].glob("*.zip"):
        (bare / zip_path.name).write_bytes(zip_path.read_bytes())
    result = WorkflowRunner().execute(wf.workflow, {"data_dir": str(bare), "fixture_count": 0,
                                                    "db_path": str(tmp_path / "m.sqlite")})
    assert result.status is RunStatus.COMPLETED, result.error
    note = result.outputs["import_tickers"]["note"]
    assert "no company_tickers.json or corporate_actions.tsv" in note
    assert result.outputs["adjustments"]["figures_adjusted"] == 0
    factors = rows(tmp_path / "m.sqlite", "SELECT DISTINCT split_factor, ticker IS NULL "
                                          "FROM gold_financial_metrics")
    assert [tuple(r) for r in factors] == [(1.0, 1)]


# --------------------------------------------------------------------------- adjustments
def test_gold_per_share_figures_are_split_adjusted_by_hand(run: dict[str, Any]) -> None:
    db = run["db"]
    checked = 0
    for split in splits(run["sec"]):
        cik, ratio, ex_date = int(split["cik"]), float(split["ratio"]), split["ex_date"]
        reported = rows(db, "SELECT period_end_date, period_type, eps_diluted, diluted_shares "
                            "FROM v_income_statement WHERE company_id = ?", cik)
        assert len(reported) == 8
        for r in reported:
            filed = rows(db, "SELECT MAX(filing_date) FROM v0_facts_canonical WHERE "
                             "company_id = ? AND standard_tag_norm = 'eps_diluted' AND "
                             "fact_period_end_date = ? AND period_type = ?", cik,
                         r["period_end_date"], r["period_type"])[0][0]
            before = date.fromisoformat(filed) < date.fromisoformat(ex_date)
            expected_eps = r["eps_diluted"] / ratio if before else r["eps_diluted"]
            expected_shares = r["diluted_shares"] * ratio if before else r["diluted_shares"]
            gold = rows(db, "SELECT eps_diluted, diluted_shares, split_factor, "
                            "book_value_per_share FROM gold_financial_metrics WHERE "
                            "company_id = ? AND period_end_date = ? AND period_type = ?",
                        cik, r["period_end_date"], r["period_type"])[0]
            assert gold["eps_diluted"] == pytest.approx(expected_eps)
            assert gold["diluted_shares"] == pytest.approx(expected_shares)
            assert gold["split_factor"] == (ratio if before else 1.0)
            equity = rows(db, "SELECT stockholders_equity FROM v_balance_sheet_instant WHERE "
                              "company_id = ? AND period_end_date = ?", cik,
                          r["period_end_date"])[0][0]
            assert gold["book_value_per_share"] == pytest.approx(equity / expected_shares)
            checked += before
    assert checked == 2 * 6  # FY2022, FY2023 and four quarters before each split
    out = run["result"].outputs["adjustments"]
    assert out["splits_confirmed"] == 2 and out["splits_unconfirmed"] == []
    assert out["figures_adjusted"] == 2 * 6 * 2  # EPS and diluted shares


def test_adjusted_eps_has_no_jump_at_the_split(run: dict[str, Any]) -> None:
    for split in splits(run["sec"]):
        ratio = float(split["ratio"])
        series = {r[0]: (r[1], r[2]) for r in rows(
            run["db"], "SELECT g.period_end_date, g.diluted_shares, i.diluted_shares FROM "
                       "gold_financial_metrics g JOIN v_income_statement i USING "
                       "(company_id, period_end_date, period_type) WHERE g.company_id = ? "
                       "AND g.period_type = 'quarterly'", int(split["cik"]))}
        adjusted_q1, reported_q1 = series["2024-03-31"]
        adjusted_q2, reported_q2 = series["2024-06-30"]
        assert reported_q2 / reported_q1 == pytest.approx(ratio)
        assert adjusted_q2 / adjusted_q1 == pytest.approx(1.0)


def test_companies_without_actions_keep_reported_figures(run: dict[str, Any]) -> None:
    found = rows(run["db"], "SELECT g.eps_diluted, i.eps_diluted, g.split_factor FROM "
                            "gold_financial_metrics g JOIN v_income_statement i USING "
                            "(company_id, period_end_date, period_type) WHERE g.company_id "
                            "NOT IN (SELECT cik FROM ref_corporate_actions)")
    assert len(found) == (COMPANIES - 2) * 8
    assert all(g == r and factor == 1.0 for g, r, factor in found)


# --------------------------------------------------------------------------- Beneish
def test_beneish_m_matches_the_1999_formula_by_hand(run: dict[str, Any]) -> None:
    db = run["db"]
    company = rows(db, "SELECT MIN(company_id) FROM gold_financial_metrics WHERE "
                       "beneish_m IS NOT NULL")[0][0]
    sql = ("SELECT * FROM v_income_statement i JOIN v_balance_sheet_instant b USING "
           "(company_id, period_end_date) WHERE company_id = ? AND period_end_date = ? "
           "AND period_type = 'annual'")
    t, p = rows(db, sql, company, "2023-12-31")[0], rows(db, sql, company, "2022-12-31")[0]

    def sec(row: sqlite3.Row) -> float:
        return row["securities"] or 0.0

    dsri = (t["receivables"] / t["total_revenue"]) / (p["receivables"] / p["total_revenue"])
    gm_t = (t["total_revenue"] - t["cost_of_revenue"]) / t["total_revenue"]
    gm_p = (p["total_revenue"] - p["cost_of_revenue"]) / p["total_revenue"]
    aqi = ((1 - (t["current_assets"] + t["ppe"] + sec(t)) / t["total_assets"])
           / (1 - (p["current_assets"] + p["ppe"] + sec(p)) / p["total_assets"]))
    sgi = t["total_revenue"] / p["total_revenue"]
    dep_t, dep_p = t["depreciation_amortization"], p["depreciation_amortization"]
    depi = (dep_p / (dep_p + p["ppe"])) / (dep_t / (dep_t + t["ppe"]))
    sgai = (t["sga"] / t["total_revenue"]) / (p["sga"] / p["total_revenue"])
    tata = (t["net_income"] - t["operating_cash_flow"]) / t["total_assets"]
    lvgi = (((t["current_liabilities"] + t["long_term_debt"]) / t["total_assets"])
            / ((p["current_liabilities"] + p["long_term_debt"]) / p["total_assets"]))
    m = (-4.84 + 0.920 * dsri + 0.528 * gm_p / gm_t + 0.404 * aqi + 0.892 * sgi
         + 0.115 * depi - 0.172 * sgai + 4.679 * tata - 0.327 * lvgi)
    gold = rows(db, "SELECT beneish_m FROM gold_financial_metrics WHERE company_id = ? AND "
                    "period_end_date = '2023-12-31' AND period_type = 'annual'", company)
    assert gold[0][0] == pytest.approx(m)


def test_beneish_m_needs_two_consecutive_annual_filings(run: dict[str, Any]) -> None:
    found = rows(run["db"], "SELECT period_end_date, period_type, COUNT(*) AS n, "
                            "COUNT(beneish_m) AS scored FROM gold_financial_metrics "
                            "GROUP BY 1, 2")
    for r in found:
        if (r["period_end_date"], r["period_type"]) == ("2023-12-31", "annual"):
            assert r["scored"] == r["n"] == COMPANIES
        else:  # FY2022's prior year exists only as comparatives; quarters are not scored
            assert r["scored"] == 0
