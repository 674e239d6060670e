"""SEC EDGAR medallion pipeline (spec R1-R10): bronze → silver → gold over SEC-style data.

``prepare`` finds the quarterly data sets (``data_dir``; without one it generates a small,
deterministic sample of ``companies`` companies into the samples scratch folder, as
``spine-engine sample-data sec`` does) and cleans up stale bronze loads; ``import_tickers``
loads the ticker map and the corporate-actions feed beside the data sets. ``bronze`` loads
each quarter as its own partition, two at a time (R2, R5); every silver stage is a step of
its own, each one transaction, so a failure rolls back that stage only and the on-failure
handler shows what stayed (R3; ``--param rollback=load`` removes the whole silver load
instead); ``adjustments`` puts EPS and share counts on today's basis through each company's
``AdjustmentChain`` of splits (R1's step 2.5); ``gold`` computes the tearsheet with numba kernels and upserts it (R4), and
``fixtures`` writes Bloomberg-style JSON fixtures as artifacts (R9).

Parallel bronze (R5) is ``.step("bronze", load_quarter, parallel=True,
partition_key="quarter", max_workers=2)``: a fan-out over ``prepare``'s partitions.
``load_quarter`` takes only plain values and opens its own connection, so with
``spine-engine run sec.medallion --executor processes`` each quarter loads in a worker
process; parsing and hashing then run side by side while SQLite serialises the inserts.
Running again on the same data inserts zero bronze rows and silver finds nothing new; gold
updates its rows in place.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from engine import (
    DLQManager,
    LocalArtifactStore,
    ManagedWorkflow,
    StepRun,
    WorkflowContext,
    generate_sec_dataset,
)
from sample_workflows._common import run_and_show, scratch_path
from sample_workflows.medallion import gold
from sample_workflows.medallion.adjustments import adjust_per_share
from sample_workflows.medallion.bronze import BronzeLayerLoader
from sample_workflows.medallion.fixtures import build_fixture, pick_companies
from sample_workflows.medallion.reference import ACTIONS_FILE, TICKERS_FILE, import_reference
from sample_workflows.medallion.schema import connect, ensure_schema
from sample_workflows.medallion.silver import PipelineStage, SilverPipeline
from sample_workflows.medallion.silver_adapter import DependencyContainer

#: companies in the sample generated when no ``data_dir`` is given
DEFAULT_COMPANIES = 40
DEFAULT_SEED = 7


# ---------------------------------------------------------------------------- prepare
def prepare(data_dir: str = "", db_path: str = "", companies: int = DEFAULT_COMPANIES,
            seed: int = DEFAULT_SEED, stale_after_hours: float = 1.0) -> dict[str, Any]:
    """Resolve the data set (generating the default one) and the database; clean stale loads."""
    if data_dir:
        folder = Path(data_dir).expanduser()
        if not folder.is_dir():
            raise FileNotFoundError(f"data_dir {folder} is not a folder; create one with "
                                    f"`spine-engine sample-data sec -o {folder}`")
    else:
        folder = scratch_path(f"sec-medallion/c{int(companies)}-s{int(seed)}")
        if not all((folder / name).exists()
                   for name in ("manifest.json", TICKERS_FILE, ACTIONS_FILE)):
            generate_sec_dataset(folder, companies=int(companies), seed=int(seed))
    zips = sorted(folder.glob("*.zip"))
    if not zips:
        raise FileNotFoundError(f"no quarterly data sets (*.zip) in {folder}; generate them "
                                f"with `spine-engine sample-data sec -o {folder}`")
    database = Path(db_path).expanduser() if db_path else folder / "medallion.sqlite"
    conn = connect(database)
    try:
        ensure_schema(conn)
    finally:
        conn.close()
    stale = BronzeLayerLoader(database).cleanup_stale_loads(max_age_hours=stale_after_hours)
    partitions = [{"quarter": z.stem, "zip_path": str(z), "db_path": str(database)}
                  for z in zips]
    return {"data_dir": str(folder), "db_path": str(database), "partitions": partitions,
            "partition_count": len(partitions), "stale_loads_failed": stale}


# ---------------------------------------------------------------------------- reference
def import_tickers(data_dir: str, db_path: str, partitions: list[dict[str, Any]]
                   ) -> dict[str, Any]:
    """R1's ticker import: the ticker map and corporate actions beside the data sets, upserted
    (a data set without them, such as EDGAR's own, loads with per-share figures as reported).
    Hands ``prepare``'s partitions on, as the parallel bronze step fans out over them."""
    conn = connect(db_path)
    try:
        result = import_reference(conn, Path(data_dir)).to_dict()
    finally:
        conn.close()
    if result["missing_files"]:
        result["note"] = (f"no {' or '.join(result['missing_files'])} in {data_dir}: per-share "
                          "figures stay as reported; `spine-engine sample-data sec` writes both")
    return {**result, "partitions": partitions}


# ---------------------------------------------------------------------------- bronze
def load_quarter(zip_path: str, quarter: str, db_path: str) -> dict[str, Any]:
    """Bronze-load one quarter (one partition); rows already there are skipped by hash."""
    return BronzeLayerLoader(db_path, dlq=DLQManager()).load_quarter(zip_path, quarter).to_dict()


# ---------------------------------------------------------------------------- silver
def _pipeline(db_path: str) -> SilverPipeline:
    return SilverPipeline(DependencyContainer(db_path, dlq=DLQManager()).build())


def _stage(db_path: str, stage: PipelineStage, silver_load_id: int) -> dict[str, Any]:
    pipeline = _pipeline(db_path)
    try:
        return pipeline.run_stage(stage, int(silver_load_id)).to_dict()
    finally:
        pipeline.conn.close()


def silver_init(db_path: str, ctx: WorkflowContext) -> dict[str, Any]:
    """INITIALIZE: fan in the bronze results and pick the bronze loads silver has not seen."""
    loads = ctx.get_output("bronze", "results", []) or []
    pipeline = _pipeline(db_path)
    try:
        pending = pipeline.initialize().detail["pending_bronze_loads"]
    finally:
        pipeline.conn.close()
    return {"bronze_rows_inserted": sum(r["rows_inserted"] for r in loads),
            "bronze_rows_rejected": sum(r["rows_rejected"] for r in loads),
            "pending_bronze_loads": pending}


def silver_track(db_path: str, pending_bronze_loads: list[int]) -> dict[str, Any]:
    """LOAD_TRACKING: open a silver load session for the pending bronze loads."""
    pipeline = _pipeline(db_path)
    try:
        return {"silver_load_id": pipeline.create_load(pending_bronze_loads)
                .detail["silver_load_id"]}
    finally:
        pipeline.conn.close()


def silver_companies(db_path: str, silver_load_id: int) -> dict[str, Any]:
    """TRANSFORM_COMPANIES: bronze_sec_sub → silver_companies."""
    return _stage(db_path, PipelineStage.TRANSFORM_COMPANIES, silver_load_id)


def silver_filings(db_path: str, silver_load_id: int) -> dict[str, Any]:
    """TRANSFORM_FILINGS: bronze_sec_sub → silver_filings, versions ranked (restatements)."""
    return _stage(db_path, PipelineStage.TRANSFORM_FILINGS, silver_load_id)


def silver_facts(db_path: str, silver_load_id: int) -> dict[str, Any]:
    """TRANSFORM_FACTS: bronze_sec_num → silver_financial_facts in streaming batches."""
    return _stage(db_path, PipelineStage.TRANSFORM_FACTS, silver_load_id)


def silver_segments(db_path: str, silver_load_id: int) -> dict[str, Any]:
    """TRANSFORM_SEGMENTS: segment breakdowns into silver_segments."""
    return _stage(db_path, PipelineStage.TRANSFORM_SEGMENTS, silver_load_id)


def silver_splits(db_path: str, silver_load_id: int) -> dict[str, Any]:
    """TRANSFORM_STOCK_SPLITS: detect splits from jumps in shares outstanding."""
    return _stage(db_path, PipelineStage.TRANSFORM_STOCK_SPLITS, silver_load_id)


def silver_periods(db_path: str, silver_load_id: int) -> dict[str, Any]:
    """POPULATE_PERIODS: build silver_dim_period."""
    return _stage(db_path, PipelineStage.POPULATE_PERIODS, silver_load_id)


def silver_validate(db_path: str, silver_load_id: int) -> dict[str, Any]:
    """VALIDATE: balance sheet checks on the canonical figures."""
    return _stage(db_path, PipelineStage.VALIDATE, silver_load_id)


def silver_finalize(db_path: str, silver_load_id: int) -> dict[str, Any]:
    """FINALIZE: mark the load COMPLETED and refresh planner statistics (R10)."""
    return _stage(db_path, PipelineStage.FINALIZE, silver_load_id)


def skip_validation_requested(skip_validation: bool = False) -> bool:
    """R3's dynamic stage skipping: ``--param skip_validation=true`` omits VALIDATE."""
    return bool(skip_validation)


def silver_failed(ctx: WorkflowContext, failed_step: StepRun) -> dict[str, Any]:
    """A silver stage failed: its own writes were rolled back with its transaction; with
    ``rollback=load`` the rest of this silver load goes too. Reports what is left."""
    db_path = ctx.get("db_path")
    load_id = ctx.get("silver_load_id")
    if not db_path or not load_id:
        return {"failed_step": failed_step.name, "rolled_back": "nothing to roll back"}
    pipeline = _pipeline(str(db_path))
    try:
        removed = (pipeline.rollback_load(int(load_id))
                   if ctx.get("rollback", "stage") == "load" else {})
        kept = {t: pipeline.conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
                for t in ("bronze_sec_num", "silver_filings", "silver_financial_facts")}
    finally:
        pipeline.conn.close()
    return {"failed_step": failed_step.name, "error": failed_step.error,
            "silver_load_id": int(load_id),
            "rolled_back": "load" if removed else "stage", "removed": removed, "kept": kept}


# ---------------------------------------------------------------------------- adjustments
def adjustments(db_path: str) -> dict[str, Any]:
    """Split-adjust the canonical EPS and diluted shares (``silver_per_share_adjustments``)."""
    conn = connect(db_path)
    try:
        return adjust_per_share(conn)
    finally:
        conn.close()


# ---------------------------------------------------------------------------- gold
def gold_metrics(db_path: str) -> dict[str, Any]:
    """The tearsheet per company and period, computed by engine.finance and upserted."""
    conn = connect(db_path)
    try:
        metrics = gold.tearsheet(gold.load_inputs(conn))
        return {**gold.upsert_metrics(conn, metrics), **gold.summarise(metrics)}
    finally:
        conn.close()


def company_fixtures(db_path: str, ctx: WorkflowContext, fixture_count: int = 3,
                     fixture_ciks: str = "", artifacts_dir: str = "") -> dict[str, Any]:
    """Bloomberg-style JSON fixtures of the largest companies (or ``fixture_ciks``, comma
    separated), written beside the database and stored as artifacts."""
    folder = Path(db_path).parent
    store = LocalArtifactStore(artifacts_dir or folder / "artifacts")
    wanted = [int(c) for c in str(fixture_ciks).replace(" ", "").split(",") if c]
    conn = connect(db_path)
    try:
        ciks = pick_companies(conn, int(fixture_count), wanted)
        fixtures = [build_fixture(conn, cik) for cik in ciks]
    finally:
        conn.close()
    out = []
    for fixture in fixtures:
        data = fixture.to_dict()
        cik = fixture.company_info.cik
        path = folder / "fixtures" / f"{cik}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(gold_json(data), encoding="utf-8")
        ref = store.put_json(f"sec-medallion/fixtures/{cik}.json", data, run_id=ctx.run_id,
                             step="fixtures")
        out.append({"cik": cik, "name": fixture.company_info.name, "path": str(path),
                    "amended": fixture.metadata.amended,
                    "facts": sum(len(v) for v in fixture.statements.values()),
                    "artifact": ref.to_dict()})
    return {"fixtures": out, "fixture_count": len(out)}


def gold_json(data: dict[str, Any]) -> str:
    """Fixture JSON as written to disk: indented, keys in order."""
    return json.dumps(data, indent=2, ensure_ascii=False)


def summary(ctx: WorkflowContext) -> dict[str, Any]:
    """One line per layer: what this run added or updated."""
    bronze = ctx.get_output("silver_init", "bronze_rows_inserted", 0)
    facts = ctx.get_output("silver_facts", "facts_written", 0)
    quarantined = ctx.get_output("silver_facts", "facts_failed", 0)
    gold_rows = ctx.get_output("gold", "rows_upserted", 0)
    return {"bronze_rows_inserted": bronze, "silver_facts_written": facts,
            "silver_facts_quarantined": quarantined, "gold_rows_upserted": gold_rows,
            "fixtures_written": ctx.get_output("fixtures", "fixture_count", 0),
            "tickers_imported": ctx.get_output("import_tickers", "tickers_read", 0),
            "per_share_figures_adjusted": ctx.get_output("adjustments", "figures_adjusted", 0),
            "report": f"bronze +{bronze} rows, silver +{facts} facts ({quarantined} "
                      f"quarantined), gold {gold_rows} rows upserted"}


wf = (
    ManagedWorkflow(
        "sec.medallion", domain="finance",
        description="SEC EDGAR medallion pipeline: parallel bronze ingestion, staged silver "
                    "transforms with rollback, numba gold tearsheets and JSON fixtures (R1-R10)",
        tags=["realworld", "medallion", "sec", "etl", "finance"])
    .step("prepare", prepare)
    .step("import_tickers", import_tickers)
    .step("bronze", load_quarter, parallel=True, partition_key="quarter", max_workers=2)
    .step("silver_init", silver_init, on_failure=silver_failed)
    .step("silver_track", silver_track, on_failure=silver_failed)
    .step("silver_companies", silver_companies, on_failure=silver_failed)
    .step("silver_filings", silver_filings, on_failure=silver_failed)
    .step("silver_facts", silver_facts, on_failure=silver_failed)
    .step("silver_segments", silver_segments, on_failure=silver_failed)
    .step("silver_splits", silver_splits, on_failure=silver_failed)
    .step("silver_periods", silver_periods, on_failure=silver_failed)
    .step("silver_validate", silver_validate, skip_if=skip_validation_requested,
          on_failure=silver_failed)
    .step("silver_finalize", silver_finalize, on_failure=silver_failed)
    .step("adjustments", adjustments)
    .step("gold", gold_metrics)
    .step("fixtures", company_fixtures)
    .step("summary", summary)
    .build()
)

if __name__ == "__main__":
    run_and_show(wf.workflow)
