"""Spec §3's data steps in YAML: ``source``, ``transform`` and ``sink`` read and written by
``WorkflowSpec``; relative files start from the YAML file's folder; bad values are
``file:line`` errors; a stored version of a data-step workflow rebuilds and re-runs."""

from __future__ import annotations

import sqlite3
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from engine import (
    IncrementalConfig,
    LocalArtifactStore,
    RunStatus,
    Step,
    Workflow,
    WorkflowRunner,
    WorkflowSpec,
    WorkflowSpecError,
)
from engine.versions import WorkflowVersionStore

HANDLERS = '''
import pandas as pd


def rows(ctx, config):
    """Two rows from code."""
    return [{"id": 1, "v": 10.0}, {"id": 2, "v": 20.0}]


def double(df: pd.DataFrame) -> pd.DataFrame:
    """Double every value."""
    return df.assign(v=df["v"] * 2)


def collect(chunk):
    COLLECTED.extend(chunk.to_dict("records"))


COLLECTED = []
'''


@pytest.fixture
def handlers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """``spec_data_handlers``, importable by the references the documents use."""
    folder = tmp_path / "mods"
    folder.mkdir()
    (folder / "spec_data_handlers.py").write_text(HANDLERS)
    monkeypatch.syspath_prepend(str(folder))
    sys.modules.pop("spec_data_handlers", None)
    import spec_data_handlers

    yield spec_data_handlers
    sys.modules.pop("spec_data_handlers", None)


def doc(steps: str, name: str = "t.data") -> str:
    body = textwrap.indent(textwrap.dedent(steps).strip("\n"), "    ")
    return (f"apiVersion: spine.io/v1\nkind: Workflow\nmetadata:\n  name: {name}\n"
            f"spec:\n  steps:\n{body}\n")


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def feed(path: Path) -> Path:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE prices (id INTEGER PRIMARY KEY, ticker TEXT, v REAL)")
        conn.executemany("INSERT INTO prices VALUES (?, ?, ?)",
                         [(1, "A", 1.5), (2, "B", 2.5), (3, "A", 3.5)])
    conn.close()
    return path


def data_workflow(h: ModuleType, tmp: Path) -> Workflow:
    return Workflow("data.every_kind", [
        Step.source("prices", "sqlite", connection=f"sqlite:///{tmp / 'feed.db'}",
                    table="prices", chunk_size=2,
                    incremental=IncrementalConfig(cursor_field="id", name="prices.cursor",
                                                  initial_value=0,
                                                  store=str(tmp / "cursors.db"))),
        Step.source("coded", handler=h.rows, depends_on=[]),
        Step.source("query", connection=str(tmp / "feed.db"),
                    query="SELECT * FROM prices WHERE ticker = :t", params={"t": "A"},
                    output_format="csv", depends_on=[]),
        Step.transform("doubled", h.double, input_ref="$.artifacts.coded",
                       depends_on=["coded"]),
        Step.sink("store", connection=f"sqlite:///{tmp / 'warehouse.db'}", table="doubled",
                  write_mode="upsert", key="id", input_ref="$.artifacts.doubled",
                  timeout_seconds=20),
        Step.sink("to_csv", path=str(tmp / "out.csv"), write_mode="replace",
                  input_ref="$.artifacts.query", depends_on=["query"]),
        Step.sink("to_fn", handler=h.collect, input_ref="$.artifacts.prices",
                  depends_on=["prices"], description="hand rows to code"),
    ])


def test_every_data_step_round_trips_through_yaml(handlers: ModuleType, tmp_path: Path) -> None:
    workflow = data_workflow(handlers, tmp_path)

    text = WorkflowSpec.from_workflow(workflow).to_yaml()
    again = WorkflowSpec.from_yaml(text).to_workflow()

    assert again.steps == workflow.steps
    assert again.to_dict() == workflow.to_dict()
    source = again.get_step("prices").handler
    assert source.incremental == IncrementalConfig(cursor_field="id", name="prices.cursor",
                                                   initial_value=0,
                                                   store=str(tmp_path / "cursors.db"))
    assert again.get_step("doubled").handler.fn is handlers.double
    steps = {s["name"]: s for s in WorkflowSpec.from_yaml(text).to_dict()["spec"]["steps"]}
    assert steps["prices"]["source"] == {
        "type": "sqlite", "connection": f"sqlite:///{tmp_path / 'feed.db'}", "table": "prices",
        "chunk_size": 2, "incremental": {"cursor_field": "id", "name": "prices.cursor",
                                         "initial_value": 0,
                                         "store": str(tmp_path / "cursors.db")}}
    assert steps["coded"]["source"] == {"handler": "spec_data_handlers:rows"}
    assert steps["doubled"]["transform"] == {"handler": "spec_data_handlers:double",
                                             "input_ref": "$.artifacts.coded"}
    assert steps["store"]["sink"]["write_mode"] == "upsert"
    assert steps["store"]["sink"]["key"] == ["id"]
    assert steps["to_fn"]["description"] == "hand rows to code"
    assert "description" not in steps["doubled"] and "config" not in steps["store"]


def test_relative_files_start_from_the_yaml_files_folder(handlers: ModuleType, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    folder = tmp_path / "flows"
    (folder / "data").mkdir(parents=True)
    feed(folder / "data" / "feed.db")
    (folder / "data" / "extra.csv").write_text("id,v\n7,1.0\n")
    (folder / "etl.yaml").write_text(doc("""
        - name: prices
          source: {connection: "sqlite:///data/feed.db", table: prices}
        - name: extra
          source: {path: data/extra.csv}
        - name: doubled
          transform: {handler: "spec_data_handlers:double", input_ref: $.artifacts.prices}
        - name: store
          sink: {connection: out/warehouse.db, table: doubled, write_mode: replace}
        - name: keep
          sink: {connection: $.params.db, table: extra, input_ref: $.artifacts.extra}
        """))
    (folder / "out").mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)

    wf = WorkflowSpec.from_file(folder / "etl.yaml").to_workflow()

    assert wf.get_step("prices").config["connection"] == \
        f"sqlite:///{(folder / 'data' / 'feed.db').resolve()}"
    assert wf.get_step("extra").config["path"] == str((folder / "data" / "extra.csv").resolve())
    assert wf.get_step("keep").config["connection"] == "$.params.db"  # resolved when run
    result = WorkflowRunner(artifact_store=LocalArtifactStore(tmp_path / "art")).execute(
        wf, {"db": str(tmp_path / "kept.db")})
    assert result.status is RunStatus.COMPLETED, result.error
    with sqlite3.connect(folder / "out" / "warehouse.db") as conn:
        assert conn.execute("SELECT id, v FROM doubled ORDER BY id").fetchall() == [
            (1, 3.0), (2, 5.0), (3, 7.0)]
    conn.close()
    with sqlite3.connect(tmp_path / "kept.db") as conn:
        assert conn.execute("SELECT id, v FROM extra").fetchall() == [(7, 1.0)]
    conn.close()
    assert list(elsewhere.iterdir()) == []


@pytest.mark.parametrize(("steps", "needle", "message"), [
    ("- name: s\n  source:\n    type: mongodb\n    connection: x\n", "type:",
     "type 'mongodb' is not supported; use one of"),
    ("- name: s\n  sink:\n    type: kafka\n    table: t\n", "type:",
     "type 'kafka' is not supported"),
    ("- name: s\n  source: {path: a.csv}\n  config: {x: 1}\n", "- name: s",
     "a source step's settings go under source, not config"),
    ("- name: s\n  sink:\n    connection: w.db\n    table: t\n    write_mode: upsert\n",
     "sink:", "write_mode='upsert' needs key="),
    ("- name: s\n  sink:\n    connection: w.db\n    table: t\n    write_mode: merge\n",
     "write_mode:", "Input should be 'append', 'replace' or 'upsert'"),
    ("- name: s\n  transform: {input_ref: $.artifacts.x}\n", "transform:",
     "missing required key 'handler'"),
    ("- name: s\n  transform:\n    handler: no_such_module_xyz:fn\n", "handler:",
     "cannot load handler 'no_such_module_xyz:fn'"),
    ("- name: s\n  source:\n    path: a.csv\n    incremental: {cursor: id}\n", "incremental:",
     "unknown key 'cursor'; did you mean 'cursor_field'?"),
    ("- name: s\n  source:\n    path: a.csv\n    chunk_size: 0\n", "chunk_size:",
     "Input should be greater than or equal to 1"),
    ("- name: s\n  source: {}\n", "source:", "say what to read"),
])
def test_bad_values_are_errors_at_their_line(steps: str, needle: str, message: str) -> None:
    text = doc(steps)
    with pytest.raises(WorkflowSpecError) as info:
        WorkflowSpec.from_yaml(text, source="etl.yaml").to_workflow()
    err = info.value
    assert message in err.detail
    assert err.line == line_of(text, needle), err


def test_json_schema_describes_the_data_step_keys() -> None:
    defs = WorkflowSpec.json_schema()["$defs"]
    assert set(defs["DataSourceSpec"]["properties"]) == {
        "type", "connection", "table", "query", "params", "path", "format", "handler",
        "output_format", "chunk_size", "incremental"}
    assert defs["DataTransformSpec"]["required"] == ["handler"]
    assert set(defs["DataSinkSpec"]["properties"]) == {
        "type", "connection", "table", "path", "format", "handler", "write_mode", "key",
        "input_ref", "chunk_size"}
    assert set(defs["IncrementalSpec"]["properties"]) == {
        "cursor_field", "cursor_storage", "name", "initial_value", "store"}


def test_a_stored_data_step_version_rebuilds_and_reruns(handlers: ModuleType,
                                                        tmp_path: Path) -> None:
    feed(tmp_path / "feed.db")
    wf = Workflow("data.replay", [
        Step.source("prices", connection=str(tmp_path / "feed.db"), table="prices"),
        Step.transform("doubled", handlers.double),
        Step.sink("store", connection=str(tmp_path / "w.db"), table="doubled",
                  write_mode="replace"),
    ])
    versions = WorkflowVersionStore(tmp_path / "spine.db")
    try:
        info = versions.publish(wf)
        stored = versions.get("data.replay", info.version)
        assert info.replayable and stored.replayable
        rebuilt = stored.to_workflow()
        # a changed setting is a new version (the memo does not confuse the two)
        changed = Workflow("data.replay", [*wf.steps[:2], Step.sink(
            "store", connection=str(tmp_path / "w.db"), table="doubled_v2",
            write_mode="replace")])
        assert versions.publish(changed).version == info.version + 1
    finally:
        versions.db.close()

    assert rebuilt.steps == wf.steps
    assert "transform:\n" in stored.to_yaml()
    result = WorkflowRunner(artifact_store=LocalArtifactStore(tmp_path / "art")).execute(rebuilt)
    assert result.status is RunStatus.COMPLETED, result.error
    assert result.outputs["store"]["rows_written"] == 3
    with sqlite3.connect(tmp_path / "w.db") as conn:
        assert conn.execute("SELECT SUM(v) FROM doubled").fetchone()[0] == 15.0
    conn.close()


def test_a_lambda_transform_keeps_the_version_not_replayable(tmp_path: Path) -> None:
    wf = Workflow("data.lambda", [
        Step.source("rows", handler=lambda ctx, config: [{"id": 1}]),
        Step.transform("same", lambda df: df)])
    versions = WorkflowVersionStore(tmp_path / "spine.db")
    try:
        assert not versions.publish(wf).replayable
    finally:
        versions.db.close()
    with pytest.raises(WorkflowSpecError, match="is a lambda, closure or nested function"):
        WorkflowSpec.from_workflow(wf)
