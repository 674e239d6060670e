"""Artifact store: content-addressed bytes on disk, integrity, atomicity, retention, workflows."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from engine import RunStatus, Step, StepResult, Workflow, WorkflowContext, WorkflowRunner
from engine.artifacts import (
    ArtifactChecksumError,
    ArtifactError,
    ArtifactNotFoundError,
    ArtifactRef,
    ArtifactRetention,
    ArtifactStore,
    AsyncArtifactStore,
    InvalidArtifactKeyError,
    LocalArtifactStore,
    delete_run_artifacts,
)
from engine.serialization import first_unserializable, to_json, to_jsonable

MB = 1 << 20


@pytest.fixture
def store(tmp_path: Path) -> LocalArtifactStore:
    return LocalArtifactStore(tmp_path / "artifacts")


def objects(store: LocalArtifactStore) -> list[Path]:
    return sorted(p for p in (store.root / "objects").glob("*/*") if p.is_file())


def temp_files(store: LocalArtifactStore) -> list[Path]:
    return [p for p in store.root.rglob("*.tmp")]


def object_file(store: LocalArtifactStore, ref: ArtifactRef) -> Path:
    return store.root / "objects" / ref.checksum[:2] / ref.checksum[2:]


def flip_byte(path: Path, offset: int = 0) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


# ---------------------------------------------------------------------- round trips
def test_bytes_round_trip_returns_a_ref_describing_the_content(store: LocalArtifactStore) -> None:
    before = datetime.now(UTC)
    ref = store.put("runs/r1/fetch/raw.bin", b"hello artifacts", content_type="text/plain")
    assert ref.store == "local" and ref.key == "runs/r1/fetch/raw.bin"
    assert ref.size_bytes == 15 and ref.content_type == "text/plain"
    assert ref.checksum == hashlib.sha256(b"hello artifacts").hexdigest()
    assert before <= ref.created_at <= datetime.now(UTC) and ref.created_at.tzinfo is not None
    assert store.get(ref) == b"hello artifacts"
    assert store.get("runs/r1/fetch/raw.bin") == b"hello artifacts"
    assert object_file(store, ref).read_bytes() == b"hello artifacts"
    assert isinstance(store, ArtifactStore)
    empty = store.put("empty.bin", b"")
    assert empty.size_bytes == 0 and store.get(empty) == b"" and list(store.iter_chunks(empty)) == []


def test_put_accepts_paths_and_binary_files(store: LocalArtifactStore, tmp_path: Path) -> None:
    source = tmp_path / "model.bin"
    source.write_bytes(os.urandom(3000))
    from_path = store.put("weights/a.bin", source)
    from_file = store.put("weights/b.bin", io.BytesIO(source.read_bytes()))
    assert store.get(from_path) == store.get(from_file) == source.read_bytes()
    with pytest.raises(TypeError, match="ambiguous"):
        store.put("text", "some text")
    with pytest.raises(TypeError, match="put_json"):
        store.put("obj", {"a": 1})


def test_json_round_trip_uses_step_output_encoding(store: LocalArtifactStore) -> None:
    value = {"results": [1, 2.5, "x", None], "when": datetime(2024, 1, 2, tzinfo=UTC),
             "amount": Decimal("1.5"), "name": "Zoë"}
    ref = store.put_json("report.json", value, metadata={"owner": "etl"})
    assert ref.content_type == "application/json"
    assert store.get_json(ref) == to_jsonable(value)
    assert store.info("report.json").metadata == {"owner": "etl"}


class Model:
    def __init__(self, weights: list[float]) -> None:
        self.weights = weights


def test_pickle_round_trip_keeps_arbitrary_objects(store: LocalArtifactStore) -> None:
    ref = store.put_pickle("model.pkl", Model([0.5, 1.5]))
    loaded = store.get_pickle(ref)
    assert isinstance(loaded, Model) and loaded.weights == [0.5, 1.5]


def frame() -> pd.DataFrame:
    return pd.DataFrame({"id": [1, 2, 3], "name": ["a", "b", "c"], "score": [0.5, 1.5, 2.5]},
                        index=pd.Index([10, 20, 30], name="row"))


def test_dataframe_pickle_round_trip_is_exact(store: LocalArtifactStore) -> None:
    ref = store.put_dataframe("frames/df.pkl", frame(), format="pickle")
    pd.testing.assert_frame_equal(store.get_dataframe(ref), frame())


def test_dataframe_parquet_round_trip(store: LocalArtifactStore) -> None:
    pytest.importorskip("pyarrow")
    ref = store.put_dataframe("frames/df.parquet", frame())
    assert ref.content_type == "application/vnd.apache.parquet"
    pd.testing.assert_frame_equal(store.get_dataframe(ref), frame())
    assert store.get(ref)[:4] == b"PAR1"


def test_parquet_without_a_parquet_library_says_what_to_install(
        store: LocalArtifactStore, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None
                        if name in ("pyarrow", "fastparquet") else real(name, *a))
    with pytest.raises(ImportError, match="pip install pyarrow"):
        store.put_dataframe("frames/df.parquet", frame())
    assert store.list() == [] and temp_files(store) == []


def test_dataframe_format_errors_are_specific(store: LocalArtifactStore) -> None:
    with pytest.raises(ValueError, match="unknown DataFrame format 'xlsx'"):
        store.put_dataframe("df", frame(), format="xlsx")
    store.put_json("not-a-frame.json", [1])
    with pytest.raises(ValueError, match="not a DataFrame format"):
        store.get_dataframe("not-a-frame.json")


# ---------------------------------------------------------------------- streaming
def test_streaming_read_of_a_multi_megabyte_object(store: LocalArtifactStore) -> None:
    payload = os.urandom(5 * MB + 123)
    ref = store.put_stream("big.bin", (payload[i:i + 100_000]
                                       for i in range(0, len(payload), 100_000)))
    assert ref.size_bytes == len(payload)
    chunks = list(store.iter_chunks(ref, chunk_size=MB))
    assert [len(c) for c in chunks] == [MB] * 5 + [123]
    assert b"".join(chunks) == payload
    assert b"".join(store.get_stream("big.bin", 300_000)) == payload
    with store.open(ref) as reader:
        head = reader.read(10)
        rest = reader.read()
    assert head + rest == payload


def test_put_stream_rejects_text(store: LocalArtifactStore) -> None:
    with pytest.raises(TypeError, match="binary mode"):
        store.put_stream("t", io.StringIO("text"))
    with pytest.raises(TypeError, match="not str"):
        store.put_stream("t", "text")  # type: ignore[arg-type]
    assert temp_files(store) == [] and not store.exists("t")


# ---------------------------------------------------------------------- integrity
def test_corruption_is_detected_by_every_read_path(store: LocalArtifactStore) -> None:
    payload = os.urandom(2 * MB)
    ref = store.put("data.bin", payload)
    flip_byte(object_file(store, ref), offset=MB + 7)
    actual = hashlib.sha256(object_file(store, ref).read_bytes()).hexdigest()
    with pytest.raises(ArtifactChecksumError) as caught:
        store.get(ref)
    error = caught.value
    assert (error.key, error.expected, error.actual) == ("data.bin", ref.checksum, actual)
    assert "data.bin" in str(error) and ref.checksum in str(error) and actual in str(error)
    with pytest.raises(ArtifactChecksumError), store.open("data.bin") as reader:
        reader.read()
    with pytest.raises(ArtifactChecksumError):
        for _ in store.iter_chunks(ref, chunk_size=256 * 1024):
            pass


def test_corrupt_pickle_is_never_unpickled(store: LocalArtifactStore) -> None:
    ref = store.put_pickle("obj.pkl", {"a": 1})
    flip_byte(object_file(store, ref), offset=ref.size_bytes - 2)
    with pytest.raises(ArtifactChecksumError):
        store.get_pickle(ref)


def test_missing_keys_and_objects_raise_not_found(store: LocalArtifactStore) -> None:
    with pytest.raises(ArtifactNotFoundError) as caught:
        store.get("runs/nope/out.bin")
    assert caught.value.key == "runs/nope/out.bin" and "runs/nope/out.bin" in str(caught.value)
    ref = store.put("a.bin", b"abc")
    object_file(store, ref).unlink()
    with pytest.raises(ArtifactNotFoundError, match="data file .* is missing"):
        store.get(ref)
    with pytest.raises(ArtifactNotFoundError, match="data file .* is missing"):
        store.iter_chunks(ref)
    assert not store.exists(ref)


def test_unreadable_index_record_is_reported_with_its_path(store: LocalArtifactStore) -> None:
    store.put("a.bin", b"abc")
    [index] = list((store.root / "index").glob("*/*.json"))
    index.write_text("{not json")
    with pytest.raises(ArtifactError, match=str(index.name)):
        store.get("a.bin")


# ---------------------------------------------------------------------- atomicity & dedupe
def test_failed_stream_leaves_no_key_object_or_temp_file(store: LocalArtifactStore) -> None:
    def chunks() -> Iterator[bytes]:
        yield os.urandom(MB)
        yield os.urandom(MB)
        raise RuntimeError("source broke midway")

    with pytest.raises(RuntimeError, match="midway"):
        store.put_stream("runs/r1/s/partial.bin", chunks())
    assert not store.exists("runs/r1/s/partial.bin")
    assert store.list() == [] and objects(store) == [] and temp_files(store) == []


def test_failed_overwrite_keeps_the_previous_content(store: LocalArtifactStore) -> None:
    ref = store.put("k.bin", b"version 1")

    def broken() -> Iterator[bytes]:
        yield b"version 2 part"
        raise OSError("disk hiccup")

    with pytest.raises(OSError):
        store.put_stream("k.bin", broken())
    assert store.get(ref) == b"version 1" and temp_files(store) == []


def test_identical_content_is_stored_once(store: LocalArtifactStore) -> None:
    first = store.put("runs/r1/a/out.bin", b"same bytes")
    inode = object_file(store, first).stat().st_ino
    second = store.put("runs/r2/b/copy.bin", b"same bytes")
    assert first.checksum == second.checksum and len(objects(store)) == 1
    assert object_file(store, first).stat().st_ino == inode  # existing bytes are not rewritten
    assert store.delete(first) is True
    assert store.get(second) == b"same bytes" and len(objects(store)) == 1
    assert store.delete("runs/r2/b/copy.bin") is True
    assert objects(store) == [] and store.delete("runs/r2/b/copy.bin") is False


def test_overwriting_a_key_invalidates_old_refs_and_frees_old_bytes(
        store: LocalArtifactStore) -> None:
    old = store.put("model.bin", b"old weights")
    new = store.put("model.bin", b"new weights")
    assert store.get("model.bin") == b"new weights" and store.get(new) == b"new weights"
    with pytest.raises(ArtifactNotFoundError, match="overwritten"):
        store.get(old)
    assert not store.exists(old) and store.exists(new)
    assert store.delete(old) is False and store.exists(new)
    assert objects(store) == [object_file(store, new)]


# ---------------------------------------------------------------------- keys
@pytest.mark.parametrize(("key", "reason"), [
    ("", "empty"),
    ("/etc/passwd", "absolute"),
    ("C:/temp/x", "absolute"),
    ("runs/../../etc", "'..'"),
    ("runs/./x", "'.'"),
    ("runs//x", "empty path segment"),
    ("runs/x/", "empty path segment"),
    ("runs\\x", "'/'"),
    ("bad\x00key", "control"),
    ("a/" + "x" * 300, "longer than"),
    (42, "strings"),
])
def test_invalid_keys_are_rejected_with_the_reason(store: LocalArtifactStore, key: Any,
                                                   reason: str) -> None:
    with pytest.raises(InvalidArtifactKeyError, match=reason) as caught:
        store.put(key, b"x")
    assert "runs/<run_id>/<step>/data.parquet" in str(caught.value)
    with pytest.raises(InvalidArtifactKeyError):
        store.get(key)
    assert store.list() == [] and objects(store) == []


def test_keys_that_look_alike_on_disk_stay_distinct(store: LocalArtifactStore) -> None:
    keys = ["a", "a.json", "a/b", "A", "a.json/b", "data.tmp"]
    for key in keys:
        store.put(key, key.encode())
    assert [ref.key for ref in store.list()] == sorted(keys)
    assert all(store.get(key) == key.encode() for key in keys)


# ---------------------------------------------------------------------- listing & runs
def test_list_filters_by_prefix_and_run(store: LocalArtifactStore) -> None:
    store.put("runs/r1/fetch/raw.bin", b"1")
    store.put("runs/r1/clean/out.bin", b"2")
    store.put("runs/r2/fetch/raw.bin", b"3")
    store.put("shared/lookup.bin", b"4", run_id="r2", step="load")
    assert [r.key for r in store.list()] == ["runs/r1/clean/out.bin", "runs/r1/fetch/raw.bin",
                                             "runs/r2/fetch/raw.bin", "shared/lookup.bin"]
    assert [r.key for r in store.list(prefix="runs/r1/")] == ["runs/r1/clean/out.bin",
                                                             "runs/r1/fetch/raw.bin"]
    assert [r.key for r in store.list(run_id="r2")] == ["runs/r2/fetch/raw.bin",
                                                        "shared/lookup.bin"]
    info = store.info("runs/r1/clean/out.bin")
    assert (info.run_id, info.step) == ("r1", "clean")
    assert store.info("shared/lookup.bin").step == "load"


def test_delete_run_artifacts_removes_the_run_and_unshared_bytes(
        store: LocalArtifactStore) -> None:
    store.put("runs/r1/a/x.bin", b"only r1")
    store.put("runs/r1/b/y.bin", b"shared")
    store.put("elsewhere/z.bin", b"r1 too", run_id="r1")
    kept = store.put("runs/r2/a/y.bin", b"shared")
    assert len(objects(store)) == 3
    deleted = delete_run_artifacts(store, "r1")
    assert deleted == ["elsewhere/z.bin", "runs/r1/a/x.bin", "runs/r1/b/y.bin"]
    assert store.list() == [kept]
    assert objects(store) == [object_file(store, kept)]
    assert store.delete_run_artifacts("r1") == []


def test_collect_garbage_removes_orphans_and_stale_temp_files(
        store: LocalArtifactStore) -> None:
    ref = store.put("keep.bin", b"keep")
    orphan = store.root / "objects" / "ab" / ("c" * 62)
    orphan.parent.mkdir(exist_ok=True)
    orphan.write_bytes(b"orphan")
    stale, fresh = store.root / "tmp" / "old.tmp", store.root / "tmp" / "new.tmp"
    stale.write_bytes(b"crashed writer")
    fresh.write_bytes(b"writer in progress")
    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    assert store.collect_garbage() == 1
    assert objects(store) == [object_file(store, ref)]
    assert not stale.exists() and fresh.exists()


# ---------------------------------------------------------------------- retention
def test_retention_delete_on_success_keep_on_failure(store: LocalArtifactStore) -> None:
    policy = ArtifactRetention(on_success="delete", on_failure="keep_forever")
    store.put("runs/ok/s/out.bin", b"ok")
    store.put("runs/bad/s/out.bin", b"bad")
    assert policy.apply(store, "ok", RunStatus.COMPLETED) == ["runs/ok/s/out.bin"]
    assert policy.apply(store, "bad", "failed") == []
    assert [r.key for r in store.list()] == ["runs/bad/s/out.bin"]
    assert store.info("runs/bad/s/out.bin").expires_at is None
    assert len(objects(store)) == 1


def test_retention_delete_after_days_expires_then_purges(store: LocalArtifactStore) -> None:
    policy = ArtifactRetention(on_success="delete_after_7d", on_failure="keep_forever")
    ref = store.put("runs/r1/s/out.bin", b"data")
    created = ref.created_at
    assert policy.apply(store, "r1", RunStatus.COMPLETED, now=created + timedelta(days=1)) == []
    assert store.info(ref.key).expires_at == created + timedelta(days=7)
    assert store.purge_expired(now=created + timedelta(days=6)) == []
    assert store.purge_expired(now=created + timedelta(days=7)) == ["runs/r1/s/out.bin"]
    assert objects(store) == []


def test_retention_applied_late_deletes_what_is_due(store: LocalArtifactStore) -> None:
    ref = store.put("runs/r1/s/out.bin", b"data")
    store.put("runs/r2/s/out.bin", b"other run")
    late = ref.created_at + timedelta(days=3)
    assert ArtifactRetention(on_success=2).apply(store, "r1", "completed", now=late) == [
        "runs/r1/s/out.bin"]
    assert [r.key for r in store.list()] == ["runs/r2/s/out.bin"]


def test_keep_policy_clears_an_earlier_expiry(store: LocalArtifactStore) -> None:
    ref = store.put("runs/r1/s/out.bin", b"data")
    ArtifactRetention(on_failure=timedelta(hours=12)).apply(store, "r1", RunStatus.CANCELLED,
                                                            now=ref.created_at)
    assert store.info(ref.key).expires_at == ref.created_at + timedelta(hours=12)
    ArtifactRetention(on_failure="keep").apply(store, "r1", RunStatus.FAILED)
    assert store.info(ref.key).expires_at is None
    assert store.purge_expired(now=ref.created_at + timedelta(days=365)) == []


@pytest.mark.parametrize("rule", ["delete_after_soon", "7 days", -1, True])
def test_retention_rules_are_validated_at_construction(rule: Any) -> None:
    with pytest.raises(ValueError, match="retention rule"):
        ArtifactRetention(on_success=rule)


def test_retention_refuses_unfinished_runs(store: LocalArtifactStore) -> None:
    with pytest.raises(ValueError, match="status 'running'"):
        ArtifactRetention(on_success="delete").apply(store, "r1", RunStatus.RUNNING)


# ---------------------------------------------------------------------- concurrency
def test_concurrent_puts_from_threads(tmp_path: Path) -> None:
    store = LocalArtifactStore(tmp_path, durable=False)  # fsync is not what is under test
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def writer(worker: int) -> None:
        try:
            start.wait(timeout=5)
            for i in range(15):
                store.put(f"runs/r{worker}/s/{i}.bin", f"unique {worker}-{i}".encode())
                store.put(f"shared/{worker}-{i}.bin", b"identical for everyone")
                store.put("contended.bin", f"last writer {worker}".encode())
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(store.list()) == 8 * 15 * 2 + 1
    assert store.get("runs/r3/s/7.bin") == b"unique 3-7"
    assert store.get("contended.bin").startswith(b"last writer ")
    assert len(objects(store)) == 8 * 15 + 1 + 1  # unique + identical + one contended winner
    assert temp_files(store) == []


def test_processes_sharing_a_root_dedupe_and_stay_consistent(tmp_path: Path) -> None:
    root = tmp_path / "shared-root"
    script = textwrap.dedent(f"""
        import sys
        from engine.artifacts import LocalArtifactStore
        store = LocalArtifactStore({str(root)!r}, durable=False)
        worker = sys.argv[1]
        for i in range(20):
            store.put(f"runs/p{{worker}}/s/{{i}}.bin", f"{{worker}}-{{i}}".encode())
            store.put(f"common/{{worker}}-{{i}}.bin", b"same everywhere")
            store.put("contended.bin", f"last writer {{worker}}-{{i}}".encode())
            if i % 5 == 0:
                store.delete_run_artifacts("nobody")  # takes the exclusive GC lock
    """)
    procs = [subprocess.Popen([sys.executable, "-c", script, str(n)]) for n in range(3)]
    assert [proc.wait(timeout=60) for proc in procs] == [0, 0, 0]
    store = LocalArtifactStore(root)
    assert len(store.list()) == 3 * 20 * 2 + 1
    assert all(store.get(ref) for ref in store.list())
    assert len(objects(store)) == 3 * 20 + 1 + 1 and temp_files(store) == []


# ---------------------------------------------------------------------- refs
def test_ref_is_a_valid_step_output_and_round_trips(store: LocalArtifactStore) -> None:
    ref = store.put("runs/r1/s/out.bin", b"payload")
    output = {"data_ref": ref, "refs": [ref]}
    assert first_unserializable(output) is None
    as_json = json.loads(to_json(output))
    assert as_json["data_ref"]["type"] == "artifact_ref"
    assert ArtifactRef.is_ref_dict(as_json["data_ref"])
    assert ArtifactRef.from_dict(as_json["data_ref"]) == ref
    assert ArtifactRef.from_dict(ref.to_dict()) == ref
    assert store.get(as_json["data_ref"]) == b"payload"  # a ref read back from JSON works too
    with pytest.raises(ValueError, match="missing checksum"):
        ArtifactRef.from_dict({k: v for k, v in ref.to_dict().items() if k != "checksum"})


def test_ref_from_another_store_is_not_resolved(tmp_path: Path) -> None:
    first = LocalArtifactStore(tmp_path / "one", name="one")
    second = LocalArtifactStore(tmp_path / "two", name="two")
    ref = first.put("k.bin", b"x")
    second.put("k.bin", b"x")
    with pytest.raises(ArtifactNotFoundError, match="belongs to store 'one'"):
        second.get(ref)


def test_async_wrapper_offers_the_spec_awaitable_api(store: LocalArtifactStore) -> None:
    async def scenario() -> tuple[Any, bytes, bool]:
        astore = AsyncArtifactStore(store)
        json_ref = await astore.put_json("key.json", {"results": [1, 2]})
        ref = await astore.put("raw.bin", b"abc" * 1000)
        streamed = b"".join([chunk async for chunk in astore.get_stream(ref, chunk_size=100)])
        await astore.delete(ref)
        return await astore.get_json(json_ref), streamed, await astore.exists(ref)

    data, streamed, exists = asyncio.run(scenario())
    assert data == {"results": [1, 2]} and streamed == b"abc" * 1000 and exists is False


def test_importing_the_artifact_store_does_not_import_pandas() -> None:
    code = "import sys, engine.artifacts; print('pandas' in sys.modules, 'asyncio' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


# ---------------------------------------------------------------------- in a workflow
def fetch(ctx: WorkflowContext, config: dict[str, Any]) -> StepResult:
    store: LocalArtifactStore = config["store"]
    df = frame()
    return StepResult.ok(output={
        "data_ref": store.put_dataframe(f"runs/{ctx.run_id}/fetch/data.pkl", df, format="pickle"),
        "summary_ref": store.put_json(f"runs/{ctx.run_id}/fetch/summary.json",
                                      {"rows": len(df)}),
    })


def process(ctx: WorkflowContext, config: dict[str, Any]) -> StepResult:
    ctx.artifact_store = ctx.artifact_store or config["store"]
    store = ctx.artifact_store
    df = store.get_dataframe(ctx.get_output("fetch", "data_ref"))
    summary = store.get_json(ctx.get_output("fetch", "summary_ref"))
    result = df.assign(score=df["score"] * 2)
    ref = store.put_dataframe(f"runs/{ctx.run_id}/process/scored.pkl", result, format="pickle")
    return StepResult.ok(output={"scored_ref": ref, "rows": summary["rows"]})


def test_steps_pass_large_data_through_refs(store: LocalArtifactStore) -> None:
    workflow = Workflow("artifact_etl", steps=[
        Step.lambda_("fetch", fetch, config={"store": store}),
        Step.lambda_("process", process, config={"store": store}),
    ])
    result = WorkflowRunner().execute(workflow)
    assert result.status == RunStatus.COMPLETED, result.error
    scored_ref = result.outputs["process"]["scored_ref"]
    assert isinstance(scored_ref, ArtifactRef) and result.outputs["process"]["rows"] == 3
    pd.testing.assert_frame_equal(store.get_dataframe(scored_ref),
                                  frame().assign(score=frame()["score"] * 2))
    assert json.loads(to_json(result.to_dict()))["outputs"]["process"]["scored_ref"][
        "key"] == scored_ref.key
    run_keys = [ref.key for ref in store.list(run_id=result.run_id)]
    assert run_keys == [f"runs/{result.run_id}/fetch/data.pkl",
                        f"runs/{result.run_id}/fetch/summary.json",
                        f"runs/{result.run_id}/process/scored.pkl"]
    assert ArtifactRetention(on_success="delete").apply(store, result.run_id, result.status)
    assert store.list() == [] and objects(store) == []


def test_verify_reports_missing_and_corrupt_artifacts(tmp_path) -> None:
    from engine import ArtifactChecksumError, ArtifactNotFoundError, LocalArtifactStore

    store = LocalArtifactStore(tmp_path / "a")
    ref = store.put_json("runs/r1/s/x.json", {"a": 1})
    store.verify(ref)
    obj = next(p for p in (tmp_path / "a" / "objects").rglob("*") if p.is_file())
    obj.write_bytes(b"tampered")
    with pytest.raises(ArtifactChecksumError):
        store.verify(ref)
    store.delete(ref)
    with pytest.raises(ArtifactNotFoundError):
        store.verify("runs/r1/s/x.json")
