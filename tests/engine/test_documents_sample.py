"""The §11 document steps chained in the ``sec.filing_processor`` sample: it runs end to end
on the bundled 10-K and stores what it extracted; on the malformed filing or a non-filing the
parse step still completes (low confidence, reasons) and the quality gate fails the run as
DATA_QUALITY before anything is stored.

Expected figures are the bundled filing's statement lines, summed here.
"""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest

from engine import (
    DocumentChunk,
    ExtractionResult,
    RunStatus,
    Step,
    Workflow,
    WorkflowResult,
    WorkflowRunner,
    filing_quality_gate,
    to_json,
)
from engine.documents import LOW_CONFIDENCE
from sample_workflows import SAMPLES_DIR, filing_extraction

FILINGS = SAMPLES_DIR / "data" / "filings"
M = 1_000_000
REVENUE_2025 = 3912 + 900
NET_INCOME_2025 = REVENUE_2025 - (1017 + 702) - (1010 + 1155 + 433 + 0) - 41 + 18 - 99
ASSETS_2025 = (1284 + 655 + 876 + 214) + (612 + 301 + 1406 + 248 + 179)
LIABILITIES_2025 = (143 + 298 + 231 + 1352 + 64) + (996 + 87 + 268 + 95)


def run(db: Path, **params: str) -> WorkflowResult:
    return WorkflowRunner().execute(filing_extraction.wf, {"db_path": str(db), **params})


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> WorkflowResult:
    return run(tmp_path_factory.mktemp("filings") / "filings.db")


def test_the_sample_runs_every_step_on_the_bundled_filing(result: WorkflowResult) -> None:
    assert result.status is RunStatus.COMPLETED, (result.error_step, result.error)
    assert list(result.outputs) == ["fetch", "parse", "extract_tables", "map_xbrl",
                                    "extract_mda", "check_totals", "validate", "store"]
    fetched = result.outputs["fetch"]
    assert fetched["bytes"] == (FILINGS / "northwind-10k-2025.htm").stat().st_size
    assert fetched["accession"] == "0001987654-26-000012"


def test_sections_and_document_confidence(result: WorkflowResult) -> None:
    raw = (FILINGS / "northwind-10k-2025.htm").read_text(encoding="utf-8")
    parsed = result.outputs["parse"]
    items = [s["item"] for s in parsed["sections"] if s["item"]]
    assert items == re.findall(r'<p style="font-weight:bold">Item (\w+)\.', raw)
    assert parsed["document"]["confidence"] == 1.0
    assert parsed["company"] == "NORTHWIND ANALYTICS, INC."
    assert parsed["sections"][-1]["source_ref"] == "0001987654-26-000012#15"


def test_tables_fields_and_cross_checks(result: WorkflowResult) -> None:
    tables = result.outputs["extract_tables"]
    assert [t["title"] for t in tables["financial_tables"]] == [
        "Revenue", "CONSOLIDATED STATEMENTS OF OPERATIONS", "CONSOLIDATED BALANCE SHEETS"]
    assert tables["statements"] == {"income_statement": 2, "balance_sheet": 3}

    fields = result.outputs["map_xbrl"]["fields"]
    assert fields["revenue"] == REVENUE_2025 * M
    assert fields["net_income"] == NET_INCOME_2025 * M == 373 * M
    assert fields["total_assets"] == ASSETS_2025 * M
    assert fields["stockholders_equity"] == (ASSETS_2025 - LIABILITIES_2025) * M
    assert fields["eps_diluted"] == 2.44
    assert result.outputs["map_xbrl"]["fields_found"] == len(fields)

    mda = result.outputs["extract_mda"]["mda"]
    assert mda["found"] and mda["confirmed"] == len(mda["mentions"]) == 5

    checks = result.outputs["check_totals"]
    assert checks["checks_failed"] == 0
    assert checks["checks_passed"] == sum(c["passed"] for c in checks["by_check"].values())
    assert result.outputs["validate"] == {"accepted": True, "confidence": 1.0, "reasons": []}


def test_store_upserts_the_fields(result: WorkflowResult, tmp_path: Path) -> None:
    stored = result.outputs["store"]
    with sqlite3.connect(stored["db_path"]) as conn:
        rows = dict(conn.execute("SELECT field, value FROM filing_fields"))
        filings = conn.execute("SELECT accession, sections, checks_failed FROM filings").fetchall()
    conn.close()
    assert rows["revenue"] == REVENUE_2025 * M
    assert stored["stored_fields"] == len(rows) == len(result.outputs["map_xbrl"]["fields"])
    assert filings == [("0001987654-26-000012", 16, 0)]
    report = stored["report"]
    assert report["sections"][:3] == ["Item 1", "Item 1A", "Item 1B"]
    assert report["checks"] == f"{result.outputs['check_totals']['checks_passed']} passed, 0 failed"

    again = run(Path(stored["db_path"]))
    assert again.outputs["store"]["stored_fields"] == stored["stored_fields"]


def test_the_malformed_filing_is_rejected_by_the_gate_not_by_a_crash(tmp_path: Path) -> None:
    db = tmp_path / "f.db"
    result = run(db, filing_path=str(FILINGS / "broken-10k.htm"))
    assert result.status is RunStatus.FAILED
    assert result.error_step == "validate"
    assert result.steps["validate"].error_category == "DATA_QUALITY"
    document = result.outputs["parse"]["document"]
    assert document["confidence"] < LOW_CONFIDENCE
    assert any("not well-formed" in r for r in document["reasons"])
    assert result.steps["parse"].status is RunStatus.COMPLETED
    assert result.steps["store"].status is RunStatus.SKIPPED
    assert "required field revenue was not extracted" in (result.error or "")
    assert not db.exists()


def test_a_non_filing_completes_parsing_with_zero_confidence(tmp_path: Path) -> None:
    csv = tmp_path / "companies.csv"
    csv.write_text("cik,ticker\n0000320193,AAPL\n", encoding="utf-8")
    result = run(tmp_path / "f.db", filing_path=str(csv))
    assert result.error_step == "validate"
    parsed = result.outputs["parse"]
    assert parsed["document"]["confidence"] == 0.0
    assert parsed["chunks"] == [] and parsed["sections"] == []
    assert result.outputs["map_xbrl"]["fields_found"] == 0
    assert result.outputs["extract_mda"]["mda"]["found"] is False


def test_the_gate_takes_its_limits_from_config(tmp_path: Path) -> None:
    path = tmp_path / "variant.htm"
    text = (FILINGS / "northwind-10k-2025.htm").read_text(encoding="utf-8")
    path.write_text(text.replace('id="b-21">5,775<', 'id="b-21">5,757<'), encoding="utf-8")
    steps = [s for s in filing_extraction.wf.steps if s.name not in ("validate", "store")]
    strict = Workflow("filings.strict", [*steps, Step.lambda_(
        "validate", filing_quality_gate)])
    lenient = Workflow("filings.lenient", [*steps, Step.lambda_(
        "validate", filing_quality_gate, config={"max_failed_checks": 1})])
    failed = WorkflowRunner().execute(strict, {"filing_path": str(path)})
    assert failed.error_step == "validate"
    assert "1 XBRL total check(s) failed (at most 0 allowed)" in (failed.error or "")
    assert WorkflowRunner().execute(lenient, {"filing_path": str(path)}).status \
        is RunStatus.COMPLETED


def test_a_step_may_return_document_records_as_they_are() -> None:
    def extract() -> dict:
        return {"result": ExtractionResult("revenue", 4812 * M, 0.97, "acc#12", "xbrl"),
                "chunk": DocumentChunk("mda", "Total revenue increased 14%", source_ref="acc#10")}

    result = WorkflowRunner().execute(Workflow("docs.records", [Step.from_function("x", extract)]))
    assert result.status is RunStatus.COMPLETED, result.error
    stored = json.loads(to_json(result.outputs["x"]))
    assert ExtractionResult.from_dict(stored["result"]).confidence == 0.97
    assert DocumentChunk.from_dict(stored["chunk"]).source_ref == "acc#10"
