"""The SEC medallion sample, end to end: the deterministic generator, the bronze layer (R2:
hashes, INSERT OR IGNORE, load sessions, rejects), and the ``sec.medallion`` workflow (R1, R5)
run twice over the same data, where the second run inserts nothing."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import zipfile
from pathlib import Path

import pytest

from engine import DLQManager, RunStatus, WorkflowRunner, generate_sec_dataset
from sample_workflows.medallion.bronze import DLQ_QUEUE, BronzeFileError, BronzeLayerLoader
from sample_workflows.medallion.workflow import wf

COMPANIES = 40


@pytest.fixture(autouse=True)
def run_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Dead letters and sample scratch files go under the test's folder."""
    monkeypatch.setenv("SPINE_DB", str(tmp_path / "spine.db"))
    monkeypatch.setenv("SPINE_SAMPLES_SCRATCH", str(tmp_path / "scratch"))
    return tmp_path / "spine.db"


@pytest.fixture(scope="module")
def dataset_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sec")
    generate_sec_dataset(folder, companies=COMPANIES, seed=7)
    return folder


def members(zip_path: Path) -> dict[str, list[str]]:
    with zipfile.ZipFile(zip_path) as zf:
        return {n: zf.read(n).decode().splitlines() for n in zf.namelist()}


# --------------------------------------------------------------------------- generator
def test_generator_is_deterministic_and_seeded(tmp_path: Path, dataset_dir: Path) -> None:
    again = generate_sec_dataset(tmp_path / "again", companies=COMPANIES, seed=7)
    for path in again.files:
        assert path.read_bytes() == (dataset_dir / path.name).read_bytes()
    other = generate_sec_dataset(tmp_path / "other", companies=COMPANIES, seed=8)
    assert other.files[0].read_bytes() != again.files[0].read_bytes()


def test_generator_writes_edgar_style_quarters_with_what_its_manifest_says(
        dataset_dir: Path) -> None:
    manifest = json.loads((dataset_dir / "manifest.json").read_text())
    assert manifest["partitions"] == [f"{y}q{q}" for y in (2023, 2024) for q in range(1, 5)]
    num_lines = filings = amendments = 0
    for name in manifest["files"]:
        files = members(dataset_dir / name)
        assert set(files) == {"sub.txt", "num.txt", "tag.txt", "pre.txt"}
        assert files["num.txt"][0].split("\t")[:4] == ["adsh", "tag", "version", "ddate"]
        num_lines += len(files["num.txt"]) - 1
        subs = [line.split("\t") for line in files["sub.txt"][1:]]
        filings += len(subs)
        amendments += sum(1 for s in subs if s[7].endswith("/A"))
    assert (manifest["facts"], manifest["filings"], manifest["amendments"]) == (
        num_lines, filings, amendments)
    assert amendments > 0
    # every company files a 10-K and three 10-Qs a year, plus its amendments
    assert filings == COMPANIES * 8 + amendments
    # ~250 facts per company: the default 2,000 companies give ~500,000
    assert 230 * COMPANIES < num_lines < 280 * COMPANIES
    assert manifest["malformed"] == {"short_line": 8, "bad_value": 16, "bad_date": 8,
                                     "orphan": 8}


def test_a_company_is_the_same_whatever_the_dataset_size(tmp_path: Path,
                                                         dataset_dir: Path) -> None:
    small = generate_sec_dataset(tmp_path / "small", companies=3, seed=7)
    first = members(small.files[0])["sub.txt"][1:]
    bigger = set(members(dataset_dir / small.files[0].name)["sub.txt"][1:])
    assert first and set(first) <= bigger


@pytest.mark.parametrize("companies", [0, -1, 100_001, 2.5, True])
def test_generator_refuses_bad_sizes(tmp_path: Path, companies: object) -> None:
    with pytest.raises(ValueError, match="companies must be a whole number"):
        generate_sec_dataset(tmp_path, companies=companies)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- bronze
def test_bronze_hashes_each_raw_line_and_reloading_inserts_nothing(
        tmp_path: Path, dataset_dir: Path) -> None:
    db = tmp_path / "m.sqlite"
    loader = BronzeLayerLoader(db, dlq=DLQManager())
    zip_path = dataset_dir / "2023q1.zip"
    first = loader.load_quarter(zip_path, "2023q1")
    files = members(zip_path)
    data_lines = sum(len(lines) - 1 for lines in files.values())
    assert first.rows_read == data_lines
    assert first.rows_rejected == 1  # the truncated num line
    assert first.rows_inserted == data_lines - 1
    assert first.file_sha256 == hashlib.sha256(zip_path.read_bytes()).hexdigest()

    conn = sqlite3.connect(db)
    line = files["num.txt"][1]
    stored = conn.execute("SELECT adsh, tag, value FROM bronze_sec_num WHERE record_hash = ?",
                          (hashlib.sha256(line.encode()).digest(),)).fetchone()
    fields = line.split("\t")
    assert stored == (fields[0], fields[1], fields[8])

    second = loader.load_quarter(zip_path, "2023q1")
    assert (second.rows_inserted, second.rows_rejected) == (0, 1)
    sessions = conn.execute("SELECT status, rows_inserted FROM bronze_loads ORDER BY load_id")
    assert sessions.fetchall() == [("COMPLETED", data_lines - 1), ("COMPLETED", 0)]
    rejects = conn.execute("SELECT table_name, reason FROM bronze_rejects").fetchall()
    assert rejects == [("num", "3 fields where the header has 10")]
    # the reject was dead-lettered once, not once per load
    letters = DLQManager().list(DLQ_QUEUE)
    assert [(d.payload["layer"], d.error_category) for d in letters] == [
        ("bronze", "DATA_QUALITY")]


def test_bronze_rows_are_append_only(tmp_path: Path, dataset_dir: Path) -> None:
    db = tmp_path / "m.sqlite"
    BronzeLayerLoader(db).load_quarter(dataset_dir / "2023q2.zip", "2023q2")
    with sqlite3.connect(db) as conn, pytest.raises(sqlite3.IntegrityError,
                                                    match="append-only"):
        conn.execute("UPDATE bronze_sec_num SET value = '0'")


def test_a_broken_data_set_fails_its_load_session_and_keeps_nothing(tmp_path: Path) -> None:
    db = tmp_path / "m.sqlite"
    bad = tmp_path / "2023q1.zip"
    bad.write_bytes(b"not a zip")
    with pytest.raises(BronzeFileError, match="not a readable ZIP"):
        BronzeLayerLoader(db).load_quarter(bad, "2023q1")
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT status, error FROM bronze_loads").fetchone()[0] == "FAILED"
        assert conn.execute("SELECT COUNT(*) FROM bronze_sec_num").fetchone() == (0,)


def test_stale_in_progress_loads_are_failed(tmp_path: Path) -> None:
    db = tmp_path / "m.sqlite"
    loader = BronzeLayerLoader(db)
    assert loader.cleanup_stale_loads() == 0
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO bronze_loads (partition, source_file, file_sha256, status, "
                     "started_at) VALUES ('2023q1', 'x.zip', 'ab', 'IN_PROGRESS', "
                     "'2020-01-01T00:00:00+00:00')")
    assert loader.cleanup_stale_loads(max_age_hours=1) == 1
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT status FROM bronze_loads").fetchone() == ("FAILED",)


# --------------------------------------------------------------------------- workflow
def test_the_workflow_runs_end_to_end_and_a_rerun_inserts_nothing(
        tmp_path: Path, dataset_dir: Path) -> None:
    db = tmp_path / "medallion.sqlite"
    params = {"data_dir": str(dataset_dir), "db_path": str(db), "fixture_count": 2}
    first = WorkflowRunner().execute(wf.workflow, params)
    assert first.status is RunStatus.COMPLETED, (first.error_step, first.error)
    manifest = json.loads((dataset_dir / "manifest.json").read_text())

    bronze = first.outputs["bronze"]
    assert bronze["count"] == 8
    assert [r["quarter"] for r in bronze["results"]] == manifest["partitions"]
    assert sum(r["rows_rejected"] for r in bronze["results"]) == 8
    facts = first.outputs["silver_facts"]
    quarantined = sum(v for k, v in manifest["malformed"].items() if k != "short_line")
    assert facts["facts_failed"] == quarantined == 32
    assert facts["facts_processed"] == manifest["facts"] - 8  # short lines never reach silver
    assert facts["facts_written"] == facts["facts_processed"] - quarantined
    assert first.outputs["gold"]["inserted"] == first.outputs["gold"]["rows_upserted"] > 0
    assert first.outputs["fixtures"]["fixture_count"] == 2

    # every malformed row was dead-lettered once, with the layer that caught it
    letters = DLQManager().list(DLQ_QUEUE, limit=None)
    layers = sorted(d.payload["layer"] for d in letters)
    assert layers == ["bronze"] * 8 + ["silver"] * 32

    second = WorkflowRunner().execute(wf.workflow, params)
    assert second.status is RunStatus.COMPLETED
    assert [r["rows_inserted"] for r in second.outputs["bronze"]["results"]] == [0] * 8
    assert second.outputs["silver_init"]["bronze_rows_inserted"] == 0
    assert second.outputs["silver_facts"]["facts_written"] == 0
    assert second.outputs["gold"]["inserted"] == 0
    assert second.outputs["gold"]["updated"] == first.outputs["gold"]["rows_upserted"]
    assert len(DLQManager().list(DLQ_QUEUE, limit=None)) == 40
    with sqlite3.connect(db) as conn:
        counts = conn.execute("SELECT (SELECT COUNT(*) FROM bronze_sec_num), "
                              "(SELECT COUNT(*) FROM silver_financial_facts)").fetchone()
    assert counts == (facts["facts_processed"], facts["facts_written"])


def test_skip_validation_skips_only_that_stage(tmp_path: Path, dataset_dir: Path) -> None:
    result = WorkflowRunner().execute(wf.workflow, {"data_dir": str(dataset_dir),
                                           "db_path": str(tmp_path / "m.sqlite"),
                                           "skip_validation": True, "fixture_count": 0})
    assert result.status is RunStatus.COMPLETED
    assert result.steps["silver_validate"].status is RunStatus.SKIPPED
    assert result.steps["silver_finalize"].status is RunStatus.COMPLETED


def test_without_a_data_dir_a_small_sample_is_generated_in_scratch(tmp_path: Path) -> None:
    result = WorkflowRunner().execute(wf.workflow, {"companies": 5, "fixture_count": 1})
    assert result.status is RunStatus.COMPLETED, result.error
    prepared = result.outputs["prepare"]
    assert Path(prepared["data_dir"]).parent.parent == tmp_path / "scratch"
    assert json.loads((Path(prepared["data_dir"]) / "manifest.json").read_text())[
        "companies"] == 5
    assert result.outputs["gold"]["companies"] == 5


def test_a_missing_data_dir_fails_prepare_with_how_to_fix(tmp_path: Path) -> None:
    result = WorkflowRunner().execute(wf.workflow, {"data_dir": str(tmp_path / "nope")})
    assert result.status is RunStatus.FAILED
    assert result.error_step == "prepare"
    assert "spine-engine sample-data sec -o" in (result.error or "")
