"""Data steps (spec §3) over real SQLite, CSV and Parquet files: source → transform → sink,
incremental cursors that move only when a run completes, and settings refused up front."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from engine import (
    DataStepError,
    IncrementalConfig,
    IncrementalCursors,
    RunStatus,
    Step,
    UnknownCursorError,
    Workflow,
    start_retry,
    start_run,
)


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The run store the runs are recorded in and the cursors are read from."""
    db = tmp_path / "spine.db"
    monkeypatch.setenv("SPINE_DB", str(db))
    return db


def make_source_db(path: Path, rows: list[tuple[int, str, float, str]]) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS filings (id INTEGER PRIMARY KEY, "
                     "company TEXT, amount REAL, updated_at TEXT)")
        conn.executemany("INSERT INTO filings VALUES (?, ?, ?, ?)", rows)


def rows_of(path: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as conn:
        return conn.execute(sql).fetchall()


FIRST = [(1, "acme", 10.0, "2024-01-01"), (2, "globex", 20.0, "2024-01-02"),
         (3, "initech", 30.0, "2024-01-03")]


def upper_company(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    out["company"] = out["company"].str.upper()
    return out


#: set by a test to make ``flaky_double`` fail (a handler that breaks on one run only)
BREAK = {"on": False}


def flaky_double(df: pd.DataFrame) -> pd.DataFrame:
    if BREAK["on"]:
        raise RuntimeError("transform broke")
    out = df.copy()
    out["amount"] = out["amount"] * 2
    return out


def etl(tmp_path: Path, transform: Any = upper_company, name: str = "etl") -> Workflow:
    return Workflow(name=name, steps=[
        Step.source("read", source_type="database",
                    connection=f"sqlite:///{tmp_path / 'source.db'}", table="filings",
                    chunk_size=2, incremental=IncrementalConfig(cursor_field="updated_at")),
        Step.transform("clean", transform, input_ref="$.artifacts.read"),
        Step.sink("load", sink_type="sqlite", connection=str(tmp_path / "warehouse.db"),
                  table="filings", write_mode="append", input_ref="$.artifacts.clean"),
    ])


def test_source_transform_sink_moves_rows_into_the_warehouse(store: Path,
                                                             tmp_path: Path) -> None:
    make_source_db(tmp_path / "source.db", FIRST)
    result = start_run(etl(tmp_path), db=store).wait()
    assert result.status is RunStatus.COMPLETED, result.error
    assert result.steps["read"].output["row_count"] == 3
    assert result.steps["load"].output["rows_written"] == 3
    assert rows_of(tmp_path / "warehouse.db", "SELECT id, company FROM filings ORDER BY id") \
        == [(1, "ACME"), (2, "GLOBEX"), (3, "INITECH")]
    ref = result.steps["clean"].output["artifact"]
    assert ref.key == f"runs/{result.run_id}/clean/data.parquet"


def test_second_run_reads_only_new_rows(store: Path, tmp_path: Path) -> None:
    make_source_db(tmp_path / "source.db", FIRST)
    first = start_run(etl(tmp_path), db=store).wait()
    assert first.steps["read"].output["row_count"] == 3
    assert IncrementalCursors(store).get("etl.read").value == "2024-01-03"

    make_source_db(tmp_path / "source.db", [(4, "umbrella", 40.0, "2024-01-04")])
    second = start_run(etl(tmp_path), db=store).wait()
    assert second.status is RunStatus.COMPLETED
    assert second.steps["read"].output["row_count"] == 1
    assert second.steps["read"].output["cursor"] == {"name": "etl.read", "from": "2024-01-03",
                                                     "to": "2024-01-04"}
    assert rows_of(tmp_path / "warehouse.db", "SELECT id FROM filings ORDER BY id") == \
        [(1,), (2,), (3,), (4,)]  # appended once each: no row read twice
    cursor = IncrementalCursors(store).get("etl.read")
    assert (cursor.value, cursor.run_id, cursor.cursor_field) == \
        ("2024-01-04", second.run_id, "updated_at")

    third = start_run(etl(tmp_path), db=store).wait()  # nothing new: the cursor stays
    assert third.steps["read"].output["row_count"] == 0
    assert IncrementalCursors(store).get("etl.read").run_id == second.run_id


def test_a_failed_run_leaves_the_cursor_and_the_next_run_reads_the_rows_again(
        store: Path, tmp_path: Path) -> None:
    make_source_db(tmp_path / "source.db", FIRST)
    wf = etl(tmp_path, flaky_double, name="etl.flaky")
    assert start_run(wf, db=store).wait().status is RunStatus.COMPLETED
    make_source_db(tmp_path / "source.db", [(4, "umbrella", 40.0, "2024-01-04"),
                                            (5, "hooli", 50.0, "2024-01-05")])
    BREAK["on"] = True
    try:
        failed = start_run(wf, db=store).wait()
    finally:
        BREAK["on"] = False
    assert failed.status is RunStatus.FAILED
    assert failed.steps["read"].output["row_count"] == 2  # it did read the new rows...
    assert IncrementalCursors(store).get("etl.flaky.read").value == "2024-01-03"  # ...unkept

    again = start_run(wf, db=store).wait()
    assert again.status is RunStatus.COMPLETED
    assert again.steps["read"].output["row_count"] == 2
    assert IncrementalCursors(store).get("etl.flaky.read").value == "2024-01-05"
    assert rows_of(tmp_path / "warehouse.db", "SELECT id, amount FROM filings ORDER BY id") == \
        [(1, 20.0), (2, 40.0), (3, 60.0), (4, 80.0), (5, 100.0)]


def test_a_retry_that_completes_moves_the_cursor_its_reused_source_read(
        store: Path, tmp_path: Path) -> None:
    make_source_db(tmp_path / "source.db", FIRST)
    wf = etl(tmp_path, flaky_double, name="etl.retried")
    BREAK["on"] = True
    try:
        failed = start_run(wf, db=store).wait()
    finally:
        BREAK["on"] = False
    assert failed.status is RunStatus.FAILED
    assert IncrementalCursors(store).find("etl.retried.read") is None
    retried = start_retry(failed.run_id, wf, db=store).wait()
    assert retried.status is RunStatus.COMPLETED
    cursor = IncrementalCursors(store).get("etl.retried.read")
    assert (cursor.value, cursor.run_id) == ("2024-01-03", retried.run_id)


def test_reset_and_set_the_cursor(store: Path, tmp_path: Path) -> None:
    make_source_db(tmp_path / "source.db", FIRST)
    assert start_run(etl(tmp_path), db=store).wait().status is RunStatus.COMPLETED
    cursors = IncrementalCursors(store)
    old = cursors.reset("etl.read")
    assert old.value == "2024-01-03"
    assert cursors.find("etl.read") is None
    with pytest.raises(UnknownCursorError, match="no cursor named 'etl.read'"):
        cursors.reset("etl.read")
    assert start_run(etl(tmp_path), db=store).wait().steps["read"].output["row_count"] == 3
    cursors.set("etl.read", "2024-01-01")
    assert start_run(etl(tmp_path), db=store).wait().steps["read"].output["row_count"] == 2


def test_incremental_query_with_its_own_cursor_parameter(store: Path, tmp_path: Path) -> None:
    make_source_db(tmp_path / "source.db", FIRST)
    wf = Workflow(name="q", steps=[Step.source(
        "read", connection=str(tmp_path / "source.db"),
        query="SELECT id, amount FROM filings WHERE :cursor IS NULL OR id > :cursor "
              "AND amount >= :floor ORDER BY id",
        params={"floor": "$.params.floor"},
        incremental=IncrementalConfig(cursor_field="id", name="q-ids"))])
    assert start_run(wf, {"floor": 0}, db=store).wait().steps["read"].output["row_count"] == 3
    make_source_db(tmp_path / "source.db", [(4, "a", 5.0, "2024-01-04"),
                                            (5, "b", 50.0, "2024-01-05")])
    second = start_run(wf, {"floor": 10}, db=store).wait()
    assert second.steps["read"].output["row_count"] == 1
    assert IncrementalCursors(store).get("q-ids").value == 5


def test_csv_source_chunked_transform_and_csv_and_parquet_sinks(store: Path,
                                                                tmp_path: Path) -> None:
    pd.DataFrame({"id": range(1, 6), "v": [1.0, 2.0, 3.0, 4.0, 5.0]}).to_csv(
        tmp_path / "in.csv", index=False)
    calls: list[int] = []

    def square(df: pd.DataFrame) -> pd.DataFrame:
        calls.append(len(df))
        return df.assign(v=df["v"] ** 2)

    wf = Workflow(name="files", steps=[
        Step.source("read", path=str(tmp_path / "in.csv"), output_format="csv"),
        Step.transform("square", square, chunk_size=2),
        Step.sink("to_csv", path=str(tmp_path / "out" / "squares.csv"), write_mode="append",
                  input_ref="$.artifacts.square"),
        Step.sink("to_parquet", path=str(tmp_path / "squares.parquet"), write_mode="replace",
                  input_ref="$.artifacts.square"),
    ])
    result = start_run(wf, db=store).wait()
    assert result.status is RunStatus.COMPLETED, result.error
    assert calls == [2, 2, 1]  # the transform saw the table in chunks of 2 rows
    assert result.steps["read"].output["artifact"].content_type == "text/csv"
    assert pd.read_csv(tmp_path / "out" / "squares.csv")["v"].tolist() == [1, 4, 9, 16, 25]
    assert pd.read_parquet(tmp_path / "squares.parquet")["v"].tolist() == [1, 4, 9, 16, 25]
    assert start_run(wf, db=store).wait().status is RunStatus.COMPLETED  # append again
    assert len(pd.read_csv(tmp_path / "out" / "squares.csv")) == 10
    assert len(pd.read_parquet(tmp_path / "squares.parquet")) == 5  # replaced


def test_python_source_gets_the_cursor_and_yields_chunks(store: Path, tmp_path: Path) -> None:
    seen: list[Any] = []
    events = [{"seq": n, "kind": "tick"} for n in range(1, 8)]

    def fetch(cursor: int | None = None) -> Iterator[list[dict[str, Any]]]:
        seen.append(cursor)
        fresh = [e for e in events if cursor is None or e["seq"] > cursor]
        yield fresh[:3]
        yield fresh[3:]

    got: list[int] = []
    wf = Workflow(name="py", steps=[
        Step.source("fetch", handler=fetch, incremental={"cursor_field": "seq"}),
        Step.sink("collect", handler=lambda df: got.extend(df["seq"].tolist())),
    ])
    assert start_run(wf, db=store).wait().status is RunStatus.COMPLETED
    events.append({"seq": 8, "kind": "tick"})
    assert start_run(wf, db=store).wait().steps["fetch"].output["row_count"] == 1
    assert seen == [None, 7]
    assert got == [1, 2, 3, 4, 5, 6, 7, 8]


def test_upsert_updates_rows_by_key(store: Path, tmp_path: Path) -> None:
    data = {"rows": [{"id": 1, "v": "a"}, {"id": 2, "v": "b"}]}

    def rows() -> list[dict[str, Any]]:
        return data["rows"]

    wf = Workflow(name="up", steps=[
        Step.source("read", handler=rows),
        Step.sink("save", connection=str(tmp_path / "w.db"), table="items",
                  write_mode="upsert", key="id"),
    ])
    assert start_run(wf, db=store).wait().status is RunStatus.COMPLETED
    data["rows"] = [{"id": 2, "v": "B"}, {"id": 3, "v": "c"}]
    assert start_run(wf, db=store).wait().status is RunStatus.COMPLETED
    assert rows_of(tmp_path / "w.db", "SELECT id, v FROM items ORDER BY id") == \
        [(1, "a"), (2, "B"), (3, "c")]


def test_a_sink_that_fails_midway_writes_nothing(store: Path, tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "w.db") as conn:
        conn.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, v TEXT)")
        conn.execute("INSERT INTO items VALUES (1, 'kept')")
    frames = [pd.DataFrame({"id": [2, 3], "v": ["x", "y"]}),
              pd.DataFrame({"id": [1], "v": ["duplicate key"]})]
    wf = Workflow(name="atomic", steps=[
        Step.source("read", handler=lambda: iter(frames)),
        Step.sink("save", connection=str(tmp_path / "w.db"), table="items", chunk_size=2),
    ])
    result = start_run(wf, db=store).wait()
    assert result.status is RunStatus.FAILED
    assert "nothing was written" in (result.steps["save"].error or "")
    assert rows_of(tmp_path / "w.db", "SELECT id, v FROM items") == [(1, "kept")]


def test_bad_settings_are_refused_before_any_run(tmp_path: Path) -> None:
    with pytest.raises(DataStepError, match="sink_type 'bigquery' is not supported"):
        Step.sink("load", sink_type="bigquery", table="sec.filings")
    with pytest.raises(DataStepError, match="write_mode='upsert' needs key="):
        Step.sink("load", connection="w.db", table="t", write_mode="upsert")
    with pytest.raises(DataStepError, match="output_format 'xlsx'"):
        Step.source("read", path="a.csv", output_format="xlsx")
    with pytest.raises(DataStepError, match="chunk_size must be a whole number"):
        Step.source("read", path="a.csv", chunk_size=0)
    with pytest.raises(DataStepError, match="say what to read"):
        Step.source("read")
    with pytest.raises(TypeError, match="a transform needs a handler"):
        Step.transform("t")
    with pytest.raises(ValueError, match="cursor_field"):
        IncrementalConfig(cursor_field="")
    with pytest.raises(ValueError, match="cursor_storage 'redis'"):
        IncrementalConfig(cursor_field="id", cursor_storage="redis")


def test_run_time_problems_fail_the_step_with_a_clear_reason(store: Path,
                                                             tmp_path: Path) -> None:
    make_source_db(tmp_path / "source.db", FIRST)
    cases = {
        "postgres://ann:hunter2@db/prod": ("not supported", "CONFIGURATION"),
        str(tmp_path / "missing.db"): ("does not exist", "DEPENDENCY"),
        str(tmp_path / "source.db"): ("no such table: nope", "CONFIGURATION"),
    }
    for connection, (message, category) in cases.items():
        wf = Workflow(name="bad", steps=[Step.source("read", connection=connection,
                                                     table="nope")])
        step = start_run(wf, db=store).wait().steps["read"]
        assert step.status is RunStatus.FAILED
        assert message in (step.error or "") and step.error_category == category
        assert "hunter2" not in (step.error or "")
    assert not (tmp_path / "missing.db").exists()  # a source never creates a database
