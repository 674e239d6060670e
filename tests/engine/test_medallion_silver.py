"""The medallion silver layer: staged transforms with rollback (R3), restatements resolved by
the canonical view and its ROW_NUMBER dedup (R7), the partial covering index it uses (R10),
tag mapping (R8), quarantine of malformed rows and the legacy adapter (R6)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from engine import RunStatus, Step, WorkflowRunner, generate_sec_dataset
from sample_workflows.medallion.bronze import BronzeLayerLoader
from sample_workflows.medallion.silver import PipelineStage, SilverPipeline, SilverSettings
from sample_workflows.medallion.silver_adapter import (
    DependencyContainer,
    SilverLayerTransformerAdapter,
)
from sample_workflows.medallion.tags import ResolvedTag, TagMappingService
from sample_workflows.medallion.workflow import silver_failed, wf

COMPANIES = 60


@pytest.fixture(autouse=True)
def run_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPINE_DB", str(tmp_path / "spine.db"))


@pytest.fixture(scope="module")
def dataset_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sec")
    generate_sec_dataset(folder, companies=COMPANIES, seed=7)
    return folder


def bronze_db(dataset_dir: Path, db: Path) -> Path:
    loader = BronzeLayerLoader(db)
    for zip_path in sorted(dataset_dir.glob("*.zip")):
        loader.load_quarter(zip_path, zip_path.stem)
    return db


@pytest.fixture(scope="module")
def silver_db(dataset_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = bronze_db(dataset_dir, tmp_path_factory.mktemp("silver") / "m.sqlite")
    stats = SilverLayerTransformerAdapter(db).transform_bronze_to_silver()
    assert stats["status"] == "success"
    return db


def query(db: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, args).fetchall()


def canonical(db: Path, company: int, concept: str, end: str, period_type: str) -> float:
    rows = query(db, "SELECT value_usd FROM v0_facts_canonical WHERE company_id = ? AND "
                     "standard_tag_norm = ? AND fact_period_end_date = ? AND period_type = ?",
                 company, concept, end, period_type)
    assert len(rows) == 1, rows
    return float(rows[0][0])


class FailingTags:
    """R8's service that breaks after ``after`` tags, as a bad deploy of it would."""

    def __init__(self, conn: sqlite3.Connection, after: int) -> None:
        self._real = TagMappingService(conn)
        self._left = after

    def resolve(self, xbrl_tag: str) -> ResolvedTag:
        self._left -= 1
        if self._left < 0:
            raise RuntimeError("tag mapping service went away")
        return self._real.resolve(xbrl_tag)


# --------------------------------------------------------------------------- restatements
def test_an_amended_10k_restates_the_canonical_figures(silver_db: Path) -> None:
    amended = query(silver_db, "SELECT company_id, adsh FROM silver_filings "
                               "WHERE form_type = '10-K/A'")
    assert amended, "the sample has 10-K/A filings"
    for company, adsh in amended:
        original = query(silver_db, "SELECT adsh, filing_version_rank FROM silver_filings "
                                    "WHERE company_id = ? AND form_type = '10-K' AND "
                                    "period_end_date = '2022-12-31'", company)
        assert [rank for _, rank in original] == [2]
        raw = dict(query(silver_db, "SELECT adsh, value FROM bronze_sec_num WHERE adsh IN "
                                    "(?, ?) AND tag = 'NetIncomeLoss' AND ddate = '20221231' "
                                    "AND qtrs = '4' AND coreg = ''", adsh, original[0][0]))
        assert raw[adsh] != raw[original[0][0]]  # the amendment changed the figure
        assert canonical(silver_db, company, "net_income", "2022-12-31", "annual") == float(
            raw[adsh])


def test_one_fact_per_concept_and_period_preferring_the_first_revenue_tag(
        silver_db: Path) -> None:
    dual = query(silver_db, "SELECT DISTINCT company_id FROM silver_financial_facts WHERE "
                            "tag = 'RevenueFromContractWithCustomerExcludingAssessedTax' AND "
                            "company_id IN (SELECT company_id FROM silver_financial_facts "
                            "WHERE tag = 'Revenues')")
    assert dual, "the sample has a company reporting two revenue tags"
    company = dual[0][0]
    revenues = query(silver_db, "SELECT value_usd FROM silver_financial_facts WHERE "
                                "company_id = ? AND tag = 'Revenues' AND qtrs = 4 AND "
                                "fact_period_end_date = '2023-12-31' AND segments_context = '' "
                                "AND is_comparative_period = 0", company)
    assert canonical(silver_db, company, "total_revenue", "2023-12-31", "annual") == \
        revenues[0][0]
    duplicates = query(silver_db, "SELECT company_id, standard_tag_norm, fact_period_end_date, "
                                  "period_type, COUNT(*) FROM v0_facts_canonical "
                                  "GROUP BY 1, 2, 3, 4 HAVING COUNT(*) > 1")
    assert duplicates == []


def test_comparative_segment_and_coregistrant_facts_stay_out_of_the_view(
        silver_db: Path) -> None:
    # FY2021 exists only as comparatives inside the FY2022 10-Ks
    assert query(silver_db, "SELECT COUNT(*) FROM silver_financial_facts WHERE "
                            "fact_period_end_date = '2021-12-31' AND qtrs = 4")[0][0] > 0
    assert query(silver_db, "SELECT COUNT(*) FROM v0_facts_canonical WHERE "
                            "fact_period_end_date = '2021-12-31' AND period_type = 'annual'"
                 ) == [(0,)]
    segments = query(silver_db, "SELECT company_id, member, value_usd FROM silver_segments")
    assert segments and {m for _, m, _ in segments} <= {"Products", "Services", "Licensing"}
    company = segments[0][0]
    parts = sum(v for c, _, v in segments if c == company and v is not None)
    total = canonical(silver_db, company, "total_revenue", "2022-12-31", "annual") + \
        canonical(silver_db, company, "total_revenue", "2023-12-31", "annual")
    assert parts == pytest.approx(total, abs=4)  # segments add up to the consolidated figure


def test_period_types_follow_duration(silver_db: Path) -> None:
    types = dict(query(silver_db, "SELECT period_type, COUNT(*) FROM v0_facts_canonical "
                                  "GROUP BY 1"))
    assert set(types) == {"instant", "quarterly", "annual", "other"}  # other: YTD figures
    assert query(silver_db, "SELECT MIN(period_duration_days), MAX(period_duration_days) "
                            "FROM silver_financial_facts WHERE qtrs = 1") == [(90, 92)]


def test_the_canonical_view_reads_through_the_partial_covering_index(silver_db: Path) -> None:
    company = query(silver_db, "SELECT MIN(company_id) FROM silver_companies")[0][0]
    plan = " | ".join(r[3] for r in query(
        silver_db, "EXPLAIN QUERY PLAN SELECT * FROM v0_facts_canonical WHERE company_id = ?",
        company))
    assert "USING COVERING INDEX idx_sff_canonical_optimized" in plan


def test_an_index_whose_where_differs_from_the_view_is_never_used(tmp_path: Path,
                                                                   silver_db: Path) -> None:
    """R10's lesson: the partial index must repeat the view's WHERE term for term."""
    db = tmp_path / "copy.sqlite"
    with sqlite3.connect(silver_db) as src, sqlite3.connect(db) as dst:
        src.backup(dst)
        dst.execute("DROP INDEX idx_sff_canonical_optimized")
        dst.execute("CREATE INDEX idx_wrong ON silver_financial_facts (company_id) "
                    "WHERE segments_context = ''")
    plan = " | ".join(r[3] for r in query(
        db, "EXPLAIN QUERY PLAN SELECT * FROM v0_facts_canonical WHERE company_id = 1"))
    assert "idx_wrong" not in plan


def test_a_bulk_load_rebuilds_the_index_and_gives_the_same_view(tmp_path: Path,
                                                                dataset_dir: Path,
                                                                silver_db: Path) -> None:
    db = bronze_db(dataset_dir, tmp_path / "bulk.sqlite")
    container = DependencyContainer(db, SilverSettings(bulk_index_rows=0, batch_size=1000))
    result = SilverPipeline(container.build()).transform()
    facts = next(r for r in result.stage_results if r.stage == "transform_facts")
    assert facts.detail["bulk_index_build"] is True
    assert query(db, "SELECT name FROM sqlite_master WHERE name = "
                     "'idx_sff_canonical_optimized'") == [("idx_sff_canonical_optimized",)]
    view = "SELECT company_id, standard_tag_norm, fact_period_end_date, period_type, " \
           "value_usd FROM v0_facts_canonical ORDER BY 1, 2, 3, 4"
    assert query(db, view) == query(silver_db, view)


# --------------------------------------------------------------------------- quality
def test_malformed_rows_are_quarantined_with_their_reason(silver_db: Path) -> None:
    reasons = [r[0] for r in query(silver_db, "SELECT reason FROM silver_quarantine")]
    assert len(reasons) == 32
    assert sum("is not a number" in r for r in reasons) == 16
    assert sum("not a real YYYYMMDD day" in r for r in reasons) == 8
    assert sum("orphan" in r for r in reasons) == 8


def test_stock_splits_are_detected_from_shares_outstanding(silver_db: Path) -> None:
    splits = query(silver_db, "SELECT company_id, effective_after, detected_on, ratio "
                              "FROM silver_stock_splits")
    assert splits
    for company, before, after, ratio in splits:
        shares = dict(query(silver_db, "SELECT fact_period_end_date, value_usd FROM "
                                       "silver_financial_facts WHERE company_id = ? AND "
                                       "standard_tag_norm = 'shares_outstanding'", company))
        assert shares[after] / shares[before] == pytest.approx(ratio, rel=0.05)
        assert ratio in (2, 3, 4)


def test_validation_flags_a_balance_sheet_that_does_not_balance(
        tmp_path: Path, silver_db: Path) -> None:
    db = tmp_path / "copy.sqlite"
    with sqlite3.connect(silver_db) as src, sqlite3.connect(db) as dst:
        src.backup(dst)
        company = dst.execute("SELECT MIN(company_id) FROM silver_companies").fetchone()[0]
        dst.execute("UPDATE silver_financial_facts SET value_usd = value_usd * 1.1 WHERE "
                    "company_id = ? AND standard_tag_norm = 'liabilities_and_equity' AND "
                    "fact_period_end_date = '2023-12-31'", (company,))
        load = dst.execute("INSERT INTO silver_loads (status, bronze_load_ids, started_at) "
                           "VALUES ('IN_PROGRESS', '[]', 'now')").lastrowid
    pipeline = SilverPipeline(DependencyContainer(db).build())
    pipeline.run_stage(PipelineStage.VALIDATE, int(load or 0))
    flagged = query(db, "SELECT check_name, period_end_date FROM silver_validation "
                        "WHERE company_id = ?", company)
    assert ("assets_equal_liabilities_and_equity", "2023-12-31") in flagged


def test_tag_mapping_resolves_once_and_keeps_unknown_tags(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "t.sqlite")
    tags = TagMappingService(conn)
    assert tags.resolve("SalesRevenueNet") == ResolvedTag("total_revenue", 3, True)
    assert tags.resolve("Revenues") == ResolvedTag("total_revenue", 1, True)
    assert tags.resolve("AdjustedEbitda") == ResolvedTag("adjusted_ebitda", 99, False)
    tags.resolve("Revenues")
    assert tags.stats == {"tags": 3, "hits": 1, "misses": 3}


# --------------------------------------------------------------------------- rollback
def test_a_failing_stage_rolls_back_alone_and_the_next_run_completes(
        tmp_path: Path, dataset_dir: Path) -> None:
    db = bronze_db(dataset_dir, tmp_path / "m.sqlite")
    broken = DependencyContainer(db, tag_mapping=lambda conn: FailingTags(conn, after=500))
    pipeline = SilverPipeline(broken.build())
    with pytest.raises(RuntimeError, match="tag mapping service went away"):
        pipeline.transform()
    # the facts stage wrote ~500 facts and some quarantine rows before failing: all gone
    assert query(db, "SELECT COUNT(*) FROM silver_financial_facts") == [(0,)]
    assert query(db, "SELECT COUNT(*) FROM silver_quarantine") == [(0,)]
    # the stages before it and bronze are intact
    filings = query(db, "SELECT COUNT(*) FROM silver_filings")[0][0]
    assert filings == COMPANIES * 8 + query(db, "SELECT COUNT(*) FROM silver_filings "
                                                "WHERE is_amendment = 1")[0][0]
    assert query(db, "SELECT COUNT(*) FROM silver_companies") == [(COMPANIES,)]
    bronze = query(db, "SELECT COUNT(*) FROM bronze_sec_num")[0][0]
    assert query(db, "SELECT status, failed_stage FROM silver_loads") == [
        ("FAILED", "transform_facts")]

    stats = SilverLayerTransformerAdapter(db).transform_bronze_to_silver()
    assert stats["status"] == "success"
    assert stats["load_ids"] == list(range(1, 9))  # the failed load consumed nothing
    assert stats["facts_inserted"] == bronze - 32
    assert stats["facts_failed"] == 32
    assert query(db, "SELECT COUNT(*) FROM silver_filings") == [(filings,)]


def test_rollback_load_removes_everything_that_load_wrote(tmp_path: Path,
                                                          dataset_dir: Path) -> None:
    db = bronze_db(dataset_dir, tmp_path / "m.sqlite")
    result = SilverPipeline(DependencyContainer(db).build()).transform()
    pipeline = SilverPipeline(DependencyContainer(db).build())
    removed = pipeline.rollback_load(result.silver_load_id)
    assert removed["silver_financial_facts"] == result.facts_written
    for table in ("silver_financial_facts", "silver_filings", "silver_companies",
                  "silver_segments"):
        assert query(db, f"SELECT COUNT(*) FROM {table}") == [(0,)]
    assert query(db, "SELECT COUNT(*) FROM bronze_sec_num")[0][0] > 0


@pytest.mark.parametrize("rollback", ["stage", "load"])
def test_in_the_workflow_a_failed_stage_reports_what_it_kept(
        tmp_path: Path, dataset_dir: Path, rollback: str) -> None:
    def silver_facts(db_path: str, silver_load_id: int) -> dict[str, Any]:
        container = DependencyContainer(db_path,
                                        tag_mapping=lambda conn: FailingTags(conn, after=200))
        return SilverPipeline(container.build()).run_stage(
            PipelineStage.TRANSFORM_FACTS, silver_load_id).to_dict()

    steps = [Step.from_function("silver_facts", silver_facts, on_failure=silver_failed)
             if s.name == "silver_facts" else s for s in wf.workflow.steps]
    db = tmp_path / "m.sqlite"
    result = WorkflowRunner().execute(wf.workflow.with_steps(steps), {
        "data_dir": str(dataset_dir), "db_path": str(db), "rollback": rollback})
    assert result.status is RunStatus.FAILED
    assert result.error_step == "silver_facts"
    assert result.steps["gold"].status is not RunStatus.COMPLETED
    report = result.outputs["on_failure(silver_facts)"]
    assert report["failed_step"] == "silver_facts"
    assert report["kept"]["silver_financial_facts"] == 0
    assert report["kept"]["bronze_sec_num"] > 0
    if rollback == "stage":
        assert report["kept"]["silver_filings"] > 0
    else:
        assert report["rolled_back"] == "load"
        assert report["kept"]["silver_filings"] == 0
