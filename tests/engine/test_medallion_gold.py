"""The medallion gold layer (R4: tearsheet metrics per company and period, upserted) and its
Bloomberg-style fixtures (R9). Expected values are worked out here, by hand, from the
canonical statement views the metrics are computed from."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from medallion_runs import rows, run_medallion

from engine import LocalArtifactStore, WorkflowRunner
from sample_workflows.medallion.fixtures import CompanyFixture
from sample_workflows.medallion.workflow import wf


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("gold")
    result = run_medallion(folder, fixture_count=3)
    return {"db": folder / "m.sqlite", "result": result, "folder": folder}


def inputs(db: Path, company: int, end: str, period_type: str) -> sqlite3.Row:
    found = rows(db, "SELECT * FROM v_income_statement i JOIN v_balance_sheet_instant b "
                     "USING (company_id, period_end_date) WHERE company_id = ? AND "
                     "period_end_date = ? AND period_type = ?", company, end, period_type)
    assert len(found) == 1
    return found[0]


def metrics(db: Path, company: int, end: str, period_type: str) -> sqlite3.Row:
    return rows(db, "SELECT * FROM gold_financial_metrics WHERE company_id = ? AND "
                    "period_end_date = ? AND period_type = ?", company, end, period_type)[0]


def test_ratios_match_the_statements_by_hand(run: dict[str, Any]) -> None:
    db = run["db"]
    company = rows(db, "SELECT MIN(company_id) AS c FROM gold_financial_metrics")[0]["c"]
    for end, ptype in (("2023-12-31", "annual"), ("2024-06-30", "quarterly")):
        i, m = inputs(db, company, end, ptype), metrics(db, company, end, ptype)
        rev = i["total_revenue"]
        assert m["gross_margin"] == pytest.approx((rev - i["cost_of_revenue"]) / rev)
        assert m["operating_margin"] == pytest.approx(i["operating_income"] / rev)
        assert m["net_margin"] == pytest.approx(i["net_income"] / rev)
        assert m["return_on_equity"] == pytest.approx(i["net_income"]
                                                      / i["stockholders_equity"])
        assert m["current_ratio"] == pytest.approx(i["current_assets"]
                                                   / i["current_liabilities"])
        assert m["cash_ratio"] == pytest.approx(i["cash"] / i["current_liabilities"])
        assert m["working_capital"] == pytest.approx(i["current_assets"]
                                                     - i["current_liabilities"])
        assert m["debt_to_assets"] == pytest.approx(i["total_liabilities"] / i["total_assets"])
        assert m["interest_coverage"] == pytest.approx(i["operating_income"]
                                                       / i["interest_expense"])
        nopat = i["operating_income"] * (1 - 0.21)
        invested = i["long_term_debt"] + i["stockholders_equity"] - i["cash"]
        assert m["roic"] == pytest.approx(nopat / invested)


def test_altman_z_uses_the_original_weights_and_the_public_float(run: dict[str, Any]) -> None:
    db = run["db"]
    company = rows(db, "SELECT MIN(company_id) AS c FROM gold_financial_metrics")[0]["c"]
    i = inputs(db, company, "2023-12-31", "annual")
    public_float = rows(db, "SELECT public_float FROM v_cover_page WHERE company_id = ? "
                            "AND as_of_date = '2023-06-30'", company)[0][0]
    ta = i["total_assets"]
    z = (1.2 * (i["current_assets"] - i["current_liabilities"]) / ta
         + 1.4 * i["retained_earnings"] / ta + 3.3 * i["operating_income"] / ta
         + 0.6 * public_float / i["total_liabilities"] + 1.0 * i["total_revenue"] / ta)
    m = metrics(db, company, "2023-12-31", "annual")
    assert m["altman_z"] == pytest.approx(z)
    assert m["altman_zone"] == ("SAFE" if z > 2.99 else "GREY" if z > 1.81 else "DISTRESS")
    # quarters have no public float: Altman Z is left empty, not made up
    assert metrics(db, company, "2023-06-30", "quarterly")["altman_z"] is None


def test_piotroski_and_growth_need_the_previous_period(run: dict[str, Any]) -> None:
    db = run["db"]
    annual = rows(db, "SELECT company_id, period_end_date, piotroski_f, revenue_growth, "
                      "total_revenue FROM gold_financial_metrics WHERE period_type = 'annual' "
                      "ORDER BY company_id, period_end_date")
    first = [r for r in annual if r["period_end_date"] == "2022-12-31"]
    second = {r["company_id"]: r for r in annual if r["period_end_date"] == "2023-12-31"}
    assert all(r["piotroski_f"] is None and r["revenue_growth"] is None for r in first)
    scores = [r["piotroski_f"] for r in second.values() if r["piotroski_f"] is not None]
    assert scores and all(0 <= s <= 9 and float(s).is_integer() for s in scores)
    for r in first:
        later = second[r["company_id"]]
        assert later["revenue_growth"] == pytest.approx(
            later["total_revenue"] / r["total_revenue"] - 1)


def test_a_company_without_inventory_has_quick_ratio_equal_to_current(
        run: dict[str, Any]) -> None:
    db = run["db"]
    found = rows(db, "SELECT g.current_ratio, g.quick_ratio FROM gold_financial_metrics g "
                     "JOIN v_balance_sheet_instant b USING (company_id, period_end_date) "
                     "WHERE b.inventory IS NULL AND g.current_ratio IS NOT NULL")
    assert found
    assert all(r["quick_ratio"] == pytest.approx(r["current_ratio"]) for r in found)


def test_gold_upserts_in_place(run: dict[str, Any]) -> None:
    db = run["db"]
    before = rows(db, "SELECT COUNT(*) AS n FROM gold_financial_metrics")[0]["n"]
    assert before == 60 * 8  # 2 fiscal years + 6 quarters each
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE gold_financial_metrics SET gross_margin = -42")
    again = WorkflowRunner().execute(wf.workflow, {"data_dir": str(run["folder"] / "sec"),
                                          "db_path": str(db), "fixture_count": 0})
    assert again.outputs["gold"]["inserted"] == 0
    assert again.outputs["gold"]["updated"] == before
    assert rows(db, "SELECT COUNT(*) AS n FROM gold_financial_metrics "
                    "WHERE gross_margin = -42")[0]["n"] == 0


# --------------------------------------------------------------------------- fixtures
def test_fixtures_are_written_as_json_and_artifacts(run: dict[str, Any]) -> None:
    out = run["result"].outputs["fixtures"]["fixtures"]
    assert len(out) == 3
    store = LocalArtifactStore(run["folder"] / "artifacts")
    for item in out:
        on_disk = json.loads(Path(item["path"]).read_text())
        assert store.get_json(item["artifact"]["key"]) == on_disk
        fixture = CompanyFixture.load_fixture(item["path"])
        assert fixture.company_info.cik == item["cik"]
        assert fixture.to_dict() == on_disk
        assert {p.period_type for p in fixture.periods} == {"annual", "quarterly"}
        assert set(fixture.statements) == {"income", "balance", "cash_flow"}


def test_an_amended_company_fixture_carries_the_restated_figures(run: dict[str, Any]) -> None:
    amended = [f for f in run["result"].outputs["fixtures"]["fixtures"] if f["amended"]]
    assert amended, "fixtures always include one company that restated"
    fixture = CompanyFixture.load_fixture(amended[0]["path"])
    assert fixture.metadata.superseded_filings
    lines = [line for statement in fixture.statements.values() for line in statement]
    # the restated period's figures come from the amendment, none from what it superseded
    assert any(line.form.endswith("/A") for line in lines)
    assert not {line.adsh for line in lines} & set(fixture.metadata.superseded_filings)
