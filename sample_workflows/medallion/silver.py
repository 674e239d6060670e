"""Spec R3: the silver layer, ten formal stages from raw bronze rows to normalised facts.

Each stage runs in its own transaction: a stage that fails rolls back everything it wrote,
the data earlier stages (and earlier loads) committed stays, and the silver load is marked
FAILED with the stage and error. Stages are idempotent (``INSERT OR IGNORE`` on natural keys),
and a failed load does not consume its bronze loads, so the next silver run processes them
again and completes what was left. ``rollback_load`` removes everything one load wrote, for
the spec's "roll back all inserts of this load".

Restatements are resolved by rank, not by deleting: ``filing_version_rank`` orders the
versions of one filing (company, period, 10-K or 10-Q family) newest first, and a fact carries
its filing's rank, so the canonical view of R7 and its partial index (R10) keep the latest
amendment. Malformed rows are quarantined (``silver_quarantine``) and dead-lettered once.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol

from engine import DLQManager
from sample_workflows.medallion.bronze import DLQ_QUEUE
from sample_workflows.medallion.canonical import COVERING_INDEX, COVERING_INDEX_DDL
from sample_workflows.medallion.schema import transaction, utc_now
from sample_workflows.medallion.silver_facts import (
    FACT_COLUMNS,
    FilingInfo,
    Malformed,
    parse_ymd,
    to_fact,
)
from sample_workflows.medallion.tags import ResolvedTag


def _by_hash(fact: tuple[Any, ...]) -> bytes:
    return bytes(fact[0])


class PipelineStage(Enum):
    """The ten stages of the bronze → silver transformation, in order."""

    INITIALIZE = "initialize"
    LOAD_TRACKING = "load_tracking"
    TRANSFORM_COMPANIES = "transform_companies"
    TRANSFORM_FILINGS = "transform_filings"
    TRANSFORM_FACTS = "transform_facts"
    TRANSFORM_SEGMENTS = "transform_segments"
    TRANSFORM_STOCK_SPLITS = "transform_stock_splits"
    POPULATE_PERIODS = "populate_periods"
    VALIDATE = "validate"
    FINALIZE = "finalize"


class TagResolver(Protocol):
    """What the facts stage needs from tag mapping (R8's ``TagMappingService``)."""

    def resolve(self, xbrl_tag: str) -> ResolvedTag: ...


@dataclass
class SilverSettings:
    """Knobs of the silver pipeline."""

    batch_size: int = 500_000
    enable_validation: bool = True
    #: |assets - (liabilities and equity)| above this share of assets fails the balance check
    balance_tolerance: float = 0.005
    #: a facts load bigger than this and than the table rebuilds the covering index after
    #: inserting (one sorted build) instead of maintaining it row by row
    bulk_index_rows: int = 50_000


@dataclass
class SilverDependencies:
    """What the pipeline is built from (assembled by ``DependencyContainer``)."""

    conn: sqlite3.Connection
    tag_mapping: Any
    dlq: DLQManager | None
    settings: SilverSettings


@dataclass
class StageResult:
    """One stage's outcome: rows it wrote, its time and stage-specific figures."""

    stage: str
    success: bool
    rows: int = 0
    seconds: float = 0.0
    detail: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"stage": self.stage, "success": self.success, "rows": self.rows,
                "seconds": round(self.seconds, 3), **self.detail,
                **({"error": self.error} if self.error else {})}


@dataclass
class PipelineResult:
    """Typed result of a whole silver run, with throughput."""

    success: bool
    silver_load_id: int
    bronze_load_ids: list[int]
    stage_results: list[StageResult] = field(default_factory=list)

    def add_stage_result(self, result: StageResult) -> None:
        self.stage_results.append(result)

    def _detail(self, stage: PipelineStage, key: str) -> int:
        for result in self.stage_results:
            if result.stage == stage.value:
                return int(result.detail.get(key, result.rows))
        return 0

    @property
    def companies_processed(self) -> int:
        return self._detail(PipelineStage.TRANSFORM_COMPANIES, "companies")

    @property
    def filings_processed(self) -> int:
        return self._detail(PipelineStage.TRANSFORM_FILINGS, "filings_written")

    @property
    def facts_processed(self) -> int:
        return self._detail(PipelineStage.TRANSFORM_FACTS, "facts_processed")

    @property
    def facts_written(self) -> int:
        return self._detail(PipelineStage.TRANSFORM_FACTS, "facts_written")

    @property
    def facts_skipped(self) -> int:
        return self._detail(PipelineStage.TRANSFORM_FACTS, "facts_skipped")

    @property
    def facts_failed(self) -> int:
        return self._detail(PipelineStage.TRANSFORM_FACTS, "facts_failed")

    @property
    def duration_seconds(self) -> float:
        return sum(r.seconds for r in self.stage_results)

    @property
    def throughput(self) -> float:
        """Facts processed per second."""
        seconds = self.duration_seconds
        return self.facts_processed / seconds if seconds > 0 else 0.0


class SilverPipeline:
    """Bronze → silver for the bronze loads no completed silver load has consumed yet."""

    def __init__(self, dependencies: SilverDependencies) -> None:
        self.deps = dependencies
        self.conn = dependencies.conn
        self._stages: dict[PipelineStage, Callable[[int], StageResult]] = {
            PipelineStage.TRANSFORM_COMPANIES: self._stage_transform_companies,
            PipelineStage.TRANSFORM_FILINGS: self._stage_transform_filings,
            PipelineStage.TRANSFORM_FACTS: self._stage_transform_facts,
            PipelineStage.TRANSFORM_SEGMENTS: self._stage_transform_segments,
            PipelineStage.TRANSFORM_STOCK_SPLITS: self._stage_transform_stock_splits,
            PipelineStage.POPULATE_PERIODS: self._stage_populate_periods,
            PipelineStage.VALIDATE: self._stage_validate,
            PipelineStage.FINALIZE: self._stage_finalize,
        }
        self._dead_letters: list[dict[str, Any]] = []
        self._load_id = 0

    # ------------------------------------------------------------------ running
    def transform(self, load_ids: Sequence[int] | None = None,
                  skip_validation: bool = False) -> PipelineResult:
        """All stages in order (``skip_validation`` omits VALIDATE); raises the failing
        stage's error after rolling that stage back and marking the load FAILED."""
        pending = self.initialize(load_ids)
        result = PipelineResult(True, 0, pending.detail["pending_bronze_loads"])
        result.add_stage_result(pending)
        tracking = self.create_load(result.bronze_load_ids)
        result.silver_load_id = tracking.detail["silver_load_id"]
        result.add_stage_result(tracking)
        for stage in self._stages:
            if stage is PipelineStage.VALIDATE and (
                    skip_validation or not self.deps.settings.enable_validation):
                continue
            result.add_stage_result(self.run_stage(stage, result.silver_load_id))
        return result

    def initialize(self, load_ids: Sequence[int] | None = None) -> StageResult:
        """INITIALIZE: check bronze is there; pick the bronze loads to process."""
        started = time.perf_counter()
        tables = {r[0] for r in self.conn.execute(
            "SELECT name FROM sqlite_master WHERE type='table'")}
        missing = [t for t in ("bronze_loads", "bronze_sec_sub", "bronze_sec_num")
                   if t not in tables]
        if missing:
            raise RuntimeError(f"silver needs the bronze tables {', '.join(missing)}; run "
                               "the bronze layer first")
        consumed: set[int] = set()
        for (ids,) in self.conn.execute(
                "SELECT bronze_load_ids FROM silver_loads WHERE status='COMPLETED'"):
            consumed.update(json.loads(ids))
        completed = [int(r[0]) for r in self.conn.execute(
            "SELECT load_id FROM bronze_loads WHERE status='COMPLETED' ORDER BY load_id")]
        wanted = completed if load_ids is None else [i for i in completed if i in set(load_ids)]
        pending = [i for i in wanted if i not in consumed]
        return StageResult(PipelineStage.INITIALIZE.value, True, len(pending),
                           time.perf_counter() - started, {"pending_bronze_loads": pending})

    def create_load(self, bronze_load_ids: Sequence[int]) -> StageResult:
        """LOAD_TRACKING: a silver load session for these bronze loads."""
        started = time.perf_counter()
        with transaction(self.conn):
            cur = self.conn.execute(
                "INSERT INTO silver_loads (status, bronze_load_ids, started_at) "
                "VALUES ('IN_PROGRESS', ?, ?)", (json.dumps(list(bronze_load_ids)), utc_now()))
        load_id = int(cur.lastrowid or 0)
        return StageResult(PipelineStage.LOAD_TRACKING.value, True, 1,
                           time.perf_counter() - started, {"silver_load_id": load_id})

    def run_stage(self, stage: PipelineStage, silver_load_id: int) -> StageResult:
        """One stage in one transaction; on failure roll it back, mark the load FAILED,
        re-raise. Dead letters are sent only once the stage has committed."""
        started = time.perf_counter()
        self._dead_letters = []
        self._load_id = silver_load_id
        try:
            with transaction(self.conn):
                result = self._stages[stage](silver_load_id)
        except Exception as exc:
            self._dead_letters = []
            self.mark_failed(silver_load_id, stage.value, exc)
            raise
        result.seconds = time.perf_counter() - started
        self._send_dead_letters()
        return result

    def mark_failed(self, silver_load_id: int, stage: str, error: BaseException | str) -> None:
        """Record that ``stage`` failed this load (its bronze loads stay unconsumed)."""
        text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
        with transaction(self.conn):
            self.conn.execute("UPDATE silver_loads SET status='FAILED', failed_stage=?, "
                              "error=?, finished_at=? WHERE silver_load_id=?",
                              (stage, text, utc_now(), silver_load_id))

    def rollback_load(self, silver_load_id: int) -> dict[str, int]:
        """Remove every row this load wrote (R3's full rollback) and re-rank what remains."""
        removed: dict[str, int] = {}
        with transaction(self.conn):
            for table in ("silver_segments", "silver_stock_splits", "silver_dim_period",
                          "silver_validation", "silver_financial_facts", "silver_filings",
                          "silver_companies"):
                cur = self.conn.execute(f"DELETE FROM {table} WHERE silver_load_id = ?",
                                        (silver_load_id,))
                removed[table] = int(cur.rowcount)
            self._rerank_filings()
            self.conn.execute("UPDATE silver_loads SET status='FAILED', finished_at=?, "
                              "error=COALESCE(error, 'rolled back') WHERE silver_load_id=?",
                              (utc_now(), silver_load_id))
        return removed

    # ------------------------------------------------------------------ stages
    def _bronze_ids(self, silver_load_id: int) -> list[int]:
        row = self.conn.execute("SELECT bronze_load_ids FROM silver_loads "
                                "WHERE silver_load_id = ?", (silver_load_id,)).fetchone()
        if row is None:
            raise LookupError(f"no silver load {silver_load_id}")
        return [int(i) for i in json.loads(row[0])]

    @staticmethod
    def _in(ids: Sequence[int]) -> str:
        return ",".join(str(int(i)) for i in ids) or "NULL"

    def _stage_transform_companies(self, silver_load_id: int) -> StageResult:
        ids = self._in(self._bronze_ids(silver_load_id))
        before = self.conn.total_changes
        self.conn.execute(
            "INSERT OR IGNORE INTO silver_companies (company_id, cik, name, sic, state, "
            "silver_load_id) SELECT CAST(cik AS INTEGER), CAST(cik AS INTEGER), name, "
            "CAST(sic AS INTEGER), stprba, ? FROM bronze_sec_sub "
            f"WHERE load_id IN ({ids}) AND cik GLOB '[0-9]*' AND cik NOT GLOB '*[^0-9]*' "
            "ORDER BY record_id", (silver_load_id,))
        companies = self.conn.execute(
            f"SELECT COUNT(DISTINCT cik) FROM bronze_sec_sub WHERE load_id IN ({ids})"
        ).fetchone()[0]
        return StageResult(PipelineStage.TRANSFORM_COMPANIES.value, True,
                           self.conn.total_changes - before, detail={"companies": companies})

    def _stage_transform_filings(self, silver_load_id: int) -> StageResult:
        ids = self._in(self._bronze_ids(silver_load_id))
        rows = self.conn.execute(
            "SELECT s.record_hash, s.load_id, s.adsh, s.cik, s.form, s.period, s.fy, s.fp, "
            f"s.filed, b.partition FROM bronze_sec_sub s JOIN bronze_loads b USING (load_id) "
            f"WHERE s.load_id IN ({ids}) ORDER BY s.record_id").fetchall()
        good, failed = [], 0
        for record_hash, load_id, adsh, cik, form, period, fy, fp, filed, partition in rows:
            try:
                if not cik.isdigit():
                    raise Malformed(f"cik {cik!r} is not a number")
                if fp not in ("FY", "Q1", "Q2", "Q3", "Q4"):
                    raise Malformed(f"fiscal period {fp!r} is not FY or Q1-Q4")
                good.append((adsh, int(cik), form, form.removesuffix("/A"),
                             int(form.endswith("/A")), parse_ymd(period).isoformat(), int(fy),
                             fp, 0 if fp == "FY" else int(fp[1]), parse_ymd(filed).isoformat(),
                             partition, load_id, silver_load_id))
            except (Malformed, ValueError) as exc:
                failed += self._quarantine(record_hash, "bronze_sec_sub", load_id, str(exc),
                                           {"adsh": adsh, "cik": cik, "form": form})
        before = self.conn.total_changes
        self.conn.executemany(
            "INSERT OR IGNORE INTO silver_filings (adsh, company_id, form_type, base_form, "
            "is_amendment, period_end_date, fiscal_year, fiscal_period, fiscal_quarter, "
            "filing_date, calendar_quarter, bronze_load_id, silver_load_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", good)
        written = self.conn.total_changes - before
        superseded = self._rerank_filings()
        return StageResult(PipelineStage.TRANSFORM_FILINGS.value, True, written,
                           detail={"filings_written": written, "filings_failed": failed,
                                   "filings_reranked": superseded})

    def _rerank_filings(self) -> int:
        """Rank each filing's versions newest first; facts follow their filing's new rank."""
        changed = [r[0] for r in self.conn.execute(
            "UPDATE silver_filings SET filing_version_rank = r.rk FROM ("
            "  SELECT filing_id, ROW_NUMBER() OVER (PARTITION BY company_id, period_end_date, "
            "    base_form ORDER BY filing_date DESC, adsh DESC) AS rk FROM silver_filings) r "
            "WHERE r.filing_id = silver_filings.filing_id "
            "AND silver_filings.filing_version_rank != r.rk RETURNING filing_id").fetchall()]
        if changed:
            self.conn.execute(
                "UPDATE silver_financial_facts SET filing_version_rank = (SELECT "
                "f.filing_version_rank FROM silver_filings f WHERE f.filing_id = "
                f"silver_financial_facts.filing_id) WHERE filing_id IN ({self._in(changed)})")
        return len(changed)

    def _stage_transform_facts(self, silver_load_id: int) -> StageResult:
        ids = self._in(self._bronze_ids(silver_load_id))
        filings = {adsh: FilingInfo(fid, company, end, rank)
                   for adsh, fid, company, end, rank in self.conn.execute(
                       "SELECT adsh, filing_id, company_id, period_end_date, "
                       "filing_version_rank FROM silver_filings")}
        insert = (f"INSERT OR IGNORE INTO silver_financial_facts ({', '.join(FACT_COLUMNS)}) "
                  f"VALUES ({', '.join('?' * len(FACT_COLUMNS))})")
        incoming = self.conn.execute(
            f"SELECT COUNT(*) FROM bronze_sec_num WHERE load_id IN ({ids})").fetchone()[0]
        existing = self.conn.execute("SELECT COUNT(*) FROM silver_financial_facts").fetchone()[0]
        bulk = incoming > max(self.deps.settings.bulk_index_rows, existing)
        if bulk:  # more than doubles the table: build the index once, sorted, afterwards
            self.conn.execute(f"DROP INDEX IF EXISTS {COVERING_INDEX}")
        reader = self.conn.cursor()
        reader.execute("SELECT record_hash, load_id, adsh, tag, version, ddate, qtrs, uom, "
                       f"segments, coreg, value FROM bronze_sec_num WHERE load_id IN ({ids}) "
                       "ORDER BY record_id")
        processed = failed = written = 0
        tags = self.deps.tag_mapping
        size = max(1, self.deps.settings.batch_size)
        while batch := reader.fetchmany(size):
            facts = []
            for row in batch:
                try:
                    facts.append(to_fact(row, filings, tags, silver_load_id))
                except Malformed as exc:
                    failed += self._quarantine(row[0], "bronze_sec_num", row[1], str(exc),
                                               dict(zip(("adsh", "tag", "version", "ddate",
                                                         "qtrs", "uom", "segments", "coreg",
                                                         "value"), row[2:], strict=True)))
            processed += len(batch)
            facts.sort(key=_by_hash)  # B-tree appends instead of random page splits
            before = self.conn.total_changes
            self.conn.executemany(insert, facts)
            written += self.conn.total_changes - before
        if bulk:
            self.conn.execute(COVERING_INDEX_DDL)
        skipped = processed - written - failed
        return StageResult(PipelineStage.TRANSFORM_FACTS.value, True, written,
                           detail={"facts_processed": processed, "facts_written": written,
                                   "facts_skipped": skipped, "facts_failed": failed,
                                   "bulk_index_build": bulk})

    def _stage_transform_segments(self, silver_load_id: int) -> StageResult:
        before = self.conn.total_changes
        self.conn.execute(
            "INSERT OR IGNORE INTO silver_segments SELECT fact_id, company_id, "
            "standard_tag_norm, substr(segments_context, 1, instr(segments_context, '=') - 1), "
            "rtrim(substr(segments_context, instr(segments_context, '=') + 1), ';'), "
            "fact_period_end_date, value_usd, ? FROM silver_financial_facts "
            "WHERE segments_context != '' AND instr(segments_context, '=') > 0 "
            "AND fact_id NOT IN (SELECT fact_id FROM silver_segments)", (silver_load_id,))
        return StageResult(PipelineStage.TRANSFORM_SEGMENTS.value, True,
                           self.conn.total_changes - before)

    def _stage_transform_stock_splits(self, silver_load_id: int) -> StageResult:
        """A jump in cover-page shares outstanding by a near-whole factor of 2+ is a split."""
        series = self.conn.execute(
            "SELECT company_id, fact_period_end_date, value_usd FROM silver_financial_facts "
            "WHERE standard_tag_norm = 'shares_outstanding' AND filing_version_rank = 1 "
            "AND value_usd > 0 ORDER BY company_id, fact_period_end_date").fetchall()
        splits = []
        for (company, day, shares), (nxt_company, nxt_day, nxt_shares) in zip(
                series, series[1:], strict=False):
            if company != nxt_company:
                continue
            ratio = nxt_shares / shares
            if ratio >= 1.9 and abs(ratio - round(ratio)) < 0.05:
                splits.append((company, day, nxt_day, round(ratio), silver_load_id))
        before = self.conn.total_changes
        self.conn.executemany("INSERT OR IGNORE INTO silver_stock_splits VALUES (?, ?, ?, ?, ?)",
                              splits)
        return StageResult(PipelineStage.TRANSFORM_STOCK_SPLITS.value, True,
                           self.conn.total_changes - before, detail={"splits_found": len(splits)})

    def _stage_populate_periods(self, silver_load_id: int) -> StageResult:
        before = self.conn.total_changes
        self.conn.execute(
            "INSERT OR IGNORE INTO silver_dim_period SELECT DISTINCT fact_period_end_date, qtrs, "
            "CASE WHEN qtrs = 0 THEN 'instant' WHEN qtrs = 1 THEN 'quarterly' "
            "WHEN qtrs = 4 THEN 'annual' ELSE 'other' END, "
            "CAST(substr(fact_period_end_date, 1, 4) AS INTEGER), "
            "(CAST(substr(fact_period_end_date, 6, 2) AS INTEGER) + 2) / 3, "
            "CASE WHEN qtrs = 0 THEN 'as of ' || fact_period_end_date "
            "ELSE qtrs || 'Q to ' || fact_period_end_date END, ? "
            "FROM silver_financial_facts", (silver_load_id,))
        return StageResult(PipelineStage.POPULATE_PERIODS.value, True,
                           self.conn.total_changes - before)

    def _stage_validate(self, silver_load_id: int) -> StageResult:
        """Balance sheet checks on canonical figures: assets = liabilities and equity, and
        = liabilities + equity, within the tolerance."""
        tol = self.deps.settings.balance_tolerance
        before = self.conn.total_changes
        for check, other in (("assets_equal_liabilities_and_equity", "liabilities_and_equity"),
                             ("assets_equal_liabilities_plus_equity",
                              "total_liabilities + stockholders_equity")):
            self.conn.execute(
                "INSERT OR IGNORE INTO silver_validation SELECT ?, company_id, period_end_date, "
                f"'assets ' || CAST(total_assets AS INTEGER) || ' vs ' || "
                f"CAST({other} AS INTEGER), ? FROM v_balance_sheet_instant "
                f"WHERE total_assets IS NOT NULL AND ({other}) IS NOT NULL "
                f"AND ABS(total_assets - ({other})) > ? * ABS(total_assets)",
                (check, silver_load_id, tol))
        issues = self.conn.execute("SELECT COUNT(*) FROM silver_validation").fetchone()[0]
        return StageResult(PipelineStage.VALIDATE.value, True, self.conn.total_changes - before,
                           detail={"validation_issues": issues})

    def _stage_finalize(self, silver_load_id: int) -> StageResult:
        counts = {table: self.conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
                  for table in ("silver_companies", "silver_filings", "silver_financial_facts",
                                "silver_quarantine")}
        self.conn.execute("UPDATE silver_loads SET status='COMPLETED', finished_at=?, stats=? "
                          "WHERE silver_load_id=?",
                          (utc_now(), json.dumps(counts), silver_load_id))
        self.conn.execute("ANALYZE")
        return StageResult(PipelineStage.FINALIZE.value, True, 1, detail={"totals": counts})

    # ------------------------------------------------------------------ quarantine
    def _quarantine(self, record_hash: bytes, table: str, bronze_load_id: int, reason: str,
                    raw: dict[str, Any]) -> int:
        """Keep a malformed row aside (once per row); a first sighting is dead-lettered."""
        cur = self.conn.execute("INSERT OR IGNORE INTO silver_quarantine VALUES (?, ?, ?, ?, ?, ?)",
                                (record_hash, table, bronze_load_id, reason, json.dumps(raw),
                                 self._load_id))
        if cur.rowcount:
            self._dead_letters.append({"layer": "silver", "table": table, "reason": reason,
                                       "record_hash": record_hash.hex(), "row": raw})
        return 1

    def _send_dead_letters(self) -> None:
        dlq, letters, self._dead_letters = self.deps.dlq, self._dead_letters, []
        if dlq is None:
            return
        for letter in letters:
            dlq.add(DLQ_QUEUE, letter, error=letter["reason"], error_category="DATA_QUALITY")
