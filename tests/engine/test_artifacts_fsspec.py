"""``FsspecArtifactStore`` and ``open_artifact_store``: the same refs, SHA-256 checks, listing
and retention as the local store, at ``memory://``, ``file://`` and ``s3://`` URLs.

S3 is a real S3-compatible server on 127.0.0.1 (moto's server mode), reached over HTTP by
s3fs; "another machine" is a second Python process pointed at the same URL.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import pickle
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from engine import (
    ArtifactBackendError,
    ArtifactChecksumError,
    ArtifactNotFoundError,
    ArtifactRef,
    ArtifactRetention,
    FsspecArtifactStore,
    InvalidArtifactKeyError,
    LocalArtifactStore,
    RunStatus,
    RunStore,
    Step,
    StepResult,
    TrackedWorkflowRunner,
    Workflow,
    artifact_location,
    open_artifact_store,
)

pytestmark = pytest.mark.usefixtures("clean_registry")
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "moto-test-id", "AWS_SECRET_ACCESS_KEY": "moto-test-secret",
               "AWS_DEFAULT_REGION": "us-east-1"}


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """A real S3-compatible HTTP server (moto) on a free port of 127.0.0.1."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_env(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Credentials as boto reads them, and the endpoint as ``$SPINE_S3_ENDPOINT_URL``."""
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("SPINE_S3_ENDPOINT_URL", s3_endpoint)
    monkeypatch.delenv("SPINE_ARTIFACTS", raising=False)
    return s3_endpoint


@pytest.fixture
def bucket(s3_env: str) -> str:
    name = f"art-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=s3_env).create_bucket(Bucket=name)
    return name


@pytest.fixture(params=["memory", "file", "s3"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty store location on each backend."""
    if request.param == "memory":
        return f"memory://test-{uuid.uuid4().hex[:12]}/artifacts"
    if request.param == "file":
        return f"file://{tmp_path}/shared-artifacts"
    bucket_name = request.getfixturevalue("bucket")
    return f"s3://{bucket_name}/team/artifacts"


def fresh(url: str) -> FsspecArtifactStore:
    """A second store instance on ``url`` sharing no cached file-system object."""
    store = FsspecArtifactStore(url)
    if store.backend.name == "s3":
        return FsspecArtifactStore(url, storage_options={"skip_instance_cache": True})
    return store


def object_path(store: FsspecArtifactStore, key: str) -> str:
    record = json.loads(store.fs.cat_file(store._record_path(key)))
    return store._object_path(key, record["object"])


# ---------------------------------------------------------------------- round trips
def test_put_and_get_in_every_form_with_the_same_refs_as_the_local_store(url: str,
                                                                         tmp_path: Path) -> None:
    store = FsspecArtifactStore(url)
    payload = os.urandom(300_000)
    source = tmp_path / "source.bin"
    source.write_bytes(payload)

    raw = store.put("runs/r1/load/raw.bin", payload, metadata={"rows": 3})
    from_path = store.put("runs/r1/load/copy.bin", source, content_type="application/x-test")
    streamed = store.put_stream("runs/r1/load/chunks.bin", [payload[:1000], payload[1000:]])
    doc = store.put_json("runs/r1/report/summary.json", {"total": 3, "when": "2024-01-31"})

    expected = hashlib.sha256(payload).hexdigest()
    assert {raw.checksum, from_path.checksum, streamed.checksum} == {expected}
    assert (raw.store, raw.key, raw.size_bytes) == (url.split(":")[0], "runs/r1/load/raw.bin",
                                                    len(payload))
    assert from_path.content_type == "application/x-test"
    assert store.get(raw) == store.get("runs/r1/load/copy.bin") == payload
    with store.open(streamed) as reader:
        assert reader.read() == payload
    assert b"".join(store.iter_chunks(raw, chunk_size=65_536)) == payload
    assert store.get_json(doc) == {"total": 3, "when": "2024-01-31"}
    assert ArtifactRef.from_dict(json.loads(json.dumps(doc.to_dict()))) == doc

    info = store.info("runs/r1/load/raw.bin")
    assert (info.run_id, info.step, dict(info.metadata)) == ("r1", "load", {"rows": "3"})
    assert store.exists(raw) and not store.exists("runs/r1/load/nope.bin")
    assert [r.key for r in store.list(prefix="runs/r1/load/")] == [
        "runs/r1/load/chunks.bin", "runs/r1/load/copy.bin", "runs/r1/load/raw.bin"]
    assert [r.key for r in store.list(prefix="runs/r1/rep")] == ["runs/r1/report/summary.json"]
    assert len(store.list(run_id="r1")) == 4 and store.list(run_id="r2") == []


def test_a_ref_written_by_one_instance_is_read_by_another_on_the_same_url(url: str) -> None:
    writer, reader = FsspecArtifactStore(url), fresh(url)
    ref = writer.put_json("shared/config.json", {"version": 7}, run_id="r9")
    assert reader.get_json(ref) == {"version": 7}
    assert reader.list_info(run_id="r9")[0].ref == ref
    assert reader.info("shared/config.json").ref == ref


def test_dataframes_and_pickles_round_trip(url: str) -> None:
    pd = pytest.importorskip("pandas")
    store = FsspecArtifactStore(url)
    df = pd.DataFrame({"ticker": ["A", "B"], "close": [1.5, 2.5]})
    ref = store.put_dataframe("frames/prices.pkl", df, format="pickle")
    assert store.get_dataframe(ref).equals(df)
    assert store.get_pickle(store.put_pickle("objects/set.pkl", {1, 2})) == {1, 2}


# ---------------------------------------------------------------------- integrity
def test_a_tampered_object_is_refused_on_every_read_path(url: str) -> None:
    store = FsspecArtifactStore(url)
    ref = store.put("runs/r1/extract/rows.csv", b"a,b\n1,2\n" * 1000)
    store.fs.pipe_file(object_path(store, ref.key), b"a,b\n6,6\n" * 1000)  # same size, other bytes
    other = fresh(url)
    with pytest.raises(ArtifactChecksumError) as info:
        other.get(ref)
    assert info.value.expected == ref.checksum and "corrupt" in str(info.value)
    with pytest.raises(ArtifactChecksumError):
        b"".join(other.iter_chunks(ref, chunk_size=100))
    with pytest.raises(ArtifactChecksumError), other.open(ref) as reader:
        reader.read()
    with pytest.raises(ArtifactChecksumError):
        other.verify(ref)


def test_an_overwritten_key_no_longer_serves_old_refs_and_frees_the_old_bytes(url: str) -> None:
    store = FsspecArtifactStore(url)
    old = store.put("models/current.bin", b"v1")
    old_object = object_path(store, old.key)
    new = store.put("models/current.bin", b"v2")
    assert store.get("models/current.bin") == b"v2" and store.get(new) == b"v2"
    with pytest.raises(ArtifactNotFoundError, match="overwritten after this reference"):
        store.get(old)
    assert not store.fs.exists(old_object)
    assert not store.delete(old)  # a stale ref deletes nothing
    assert store.get(new) == b"v2"


def test_a_ref_from_another_store_is_not_resolved_here(url: str) -> None:
    store = FsspecArtifactStore(url)
    ref = store.put("k.bin", b"x")
    foreign = ArtifactRef(**{**{f: getattr(ref, f) for f in ref.__slots__}, "store": "local"})
    with pytest.raises(ArtifactNotFoundError, match="belongs to store 'local'"):
        store.get(foreign)


def test_keys_are_checked_like_the_local_store_plus_the_reserved_suffix(url: str) -> None:
    store = FsspecArtifactStore(url)
    for bad in ("../escape", "/abs", "a//b", "dir.ref.json/x"):
        with pytest.raises(InvalidArtifactKeyError):
            store.put(bad, b"x")
    ref = store.put("notes.ref.json", b"a file may end in the suffix")  # only folders may not
    assert store.get(ref) == b"a file may end in the suffix"


def test_keys_may_be_files_and_folders_at_once(url: str) -> None:
    store = FsspecArtifactStore(url)
    store.put("a", b"1")
    store.put("a/b", b"2")
    store.put("a/b/c", b"3")
    assert [store.get(k) for k in ("a", "a/b", "a/b/c")] == [b"1", b"2", b"3"]
    assert [r.key for r in store.list(prefix="a")] == ["a", "a/b", "a/b/c"]


# ---------------------------------------------------------------------- deleting, retention
def test_delete_and_delete_run_artifacts_remove_records_and_bytes(url: str) -> None:
    store = FsspecArtifactStore(url)
    keep = store.put("runs/r2/s/keep.bin", b"keep")
    gone = [store.put(f"runs/r1/s/{n}.bin", f"{n}".encode()) for n in range(3)]
    explicit = store.put("elsewhere/by-id.bin", b"x", run_id="r1")
    objects = [object_path(store, r.key) for r in (*gone, explicit)]

    assert store.delete_run_artifacts("r1") == sorted([*(r.key for r in gone), explicit.key])
    assert [r.key for r in store.list()] == [keep.key]
    assert not any(store.fs.exists(path) for path in objects)
    assert store.delete(keep) and not store.exists(keep) and not store.delete(keep)


def test_retention_removes_old_artifacts_and_keeps_young_and_failed_ones(url: str) -> None:
    store = FsspecArtifactStore(url)
    ok = [store.put(f"runs/ok/s/{n}.bin", b"x") for n in range(2)]
    failed = store.put("runs/bad/s/0.bin", b"y")
    policy = ArtifactRetention(on_success="delete_after_7d", on_failure="keep_forever")

    assert policy.apply(store, "ok", "completed") == []  # young: only marked
    assert all(store.info(r.key).expires_at == r.created_at + timedelta(days=7) for r in ok)
    assert policy.apply(store, "bad", "failed") == []
    later = datetime.now(UTC) + timedelta(days=8)
    assert fresh(url).purge_expired(now=later) == sorted(r.key for r in ok)  # another process
    assert [r.key for r in store.list()] == [failed.key]
    assert ArtifactRetention(on_success="delete").apply(store, "bad", "completed") == [failed.key]
    assert store.list() == []


def test_garbage_collection_removes_orphans_of_crashed_writers_only_once_stale(url: str) -> None:
    store = FsspecArtifactStore(url)
    live = store.put("live.bin", b"live")
    orphan = store._object_path("crashed.bin", uuid.uuid4().hex)
    store.fs.pipe_file(orphan, b"half a write")
    assert store.collect_garbage() == 0 and store.fs.exists(orphan)  # may still be in flight
    assert store.collect_garbage(stale_seconds=-60) == 1
    assert not store.fs.exists(orphan) and store.get(live) == b"live"


def test_a_put_that_fails_midway_leaves_nothing_behind(url: str) -> None:
    store = FsspecArtifactStore(url)

    def chunks() -> Iterator[bytes]:
        yield b"first"
        raise RuntimeError("source broke")

    with pytest.raises(RuntimeError, match="source broke"):
        store.put_stream("runs/r1/s/partial.bin", chunks())
    assert store.list() == [] and not store.exists("runs/r1/s/partial.bin")
    assert [p for p in store._find(store._objects)] == []


def test_threads_share_one_store_safely(url: str) -> None:
    store = FsspecArtifactStore(url)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(5):
                data = f"{n}-{i}".encode() * 1000
                assert store.get(store.put(f"t/{n}/{i}.bin", data)) == data
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and len(store.list(prefix="t/")) == 30


def test_a_store_pickles_for_worker_processes(url: str) -> None:
    store = FsspecArtifactStore(url)
    ref = store.put("p.bin", b"payload")
    clone = pickle.loads(pickle.dumps(store))
    assert clone.get(ref) == b"payload" and repr(clone) == repr(store)


# ---------------------------------------------------------------------- across processes
READER = """
import json, sys
from engine import ArtifactRef, open_artifact_store
store = open_artifact_store(sys.argv[1])
ref = ArtifactRef.from_dict(json.loads(sys.argv[2]))
print(json.dumps({"value": store.get_json(ref), "store": type(store).__name__,
                  "run_keys": [r.key for r in store.list(run_id=sys.argv[3])]}))
"""


def _write_rows(ctx: Any, config: Any) -> StepResult:
    ref = ctx.artifact_store.put_json(f"runs/{ctx.run_id}/extract/rows.json",
                                      {"rows": list(range(100))}, run_id=ctx.run_id,
                                      step="extract")
    return StepResult.ok(output={"rows": ref})


def _sum_rows(ctx: Any, config: Any) -> StepResult:
    rows = ctx.artifact_store.get_json(ctx.get_output("extract", "rows"))["rows"]
    return StepResult.ok(output={"total": sum(rows)})


def test_a_run_writes_to_s3_and_a_second_process_reads_it_back_verified(
        bucket: str, s3_endpoint: str, tmp_path: Path) -> None:
    url = f"s3://{bucket}/prod"
    wf = Workflow("fsspec.rows", steps=[Step.lambda_("extract", _write_rows),
                                         Step.lambda_("total", _sum_rows)])
    db = tmp_path / "spine.db"
    with TrackedWorkflowRunner(db, artifact_store=open_artifact_store(url)) as runner:
        result = runner.execute(wf)
    assert result.status is RunStatus.COMPLETED, result.error
    assert result.steps["total"].output == {"total": 4950}

    store = RunStore(db)
    try:
        [recorded] = store.artifacts(result.run_id)
    finally:
        store.close()
    assert (recorded.store, recorded.step) == ("s3", "extract")
    env = {**os.environ, **CREDENTIALS, "FSSPEC_S3_ENDPOINT_URL": s3_endpoint}
    env.pop("SPINE_S3_ENDPOINT_URL", None)  # the reader finds the endpoint by fsspec's config
    proc = subprocess.run([sys.executable, "-c", READER, url,
                           json.dumps(recorded.to_ref().to_dict()), result.run_id],
                          capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout)
    assert seen == {"value": {"rows": list(range(100))}, "store": "FsspecArtifactStore",
                    "run_keys": [f"runs/{result.run_id}/extract/rows.json"]}

    remote = FsspecArtifactStore(url)
    remote.fs.pipe_file(object_path(remote, recorded.key), b'{"rows": []}')
    proc = subprocess.run([sys.executable, "-c", READER, url,
                           json.dumps(recorded.to_ref().to_dict()), result.run_id],
                          capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 1 and "ArtifactChecksumError" in proc.stderr
    assert recorded.checksum in proc.stderr


def test_the_tracked_runner_uses_spine_artifacts_by_default(bucket: str, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPINE_ARTIFACTS", f"s3://{bucket}/env")
    wf = Workflow("fsspec.env", steps=[Step.lambda_("extract", _write_rows)])
    with TrackedWorkflowRunner(tmp_path / "spine.db") as runner:
        assert isinstance(runner.runner.artifact_store, FsspecArtifactStore)
        result = runner.execute(wf)
    assert result.status is RunStatus.COMPLETED, result.error
    assert FsspecArtifactStore(f"s3://{bucket}/env").list(run_id=result.run_id) == \
        [result.steps["extract"].output["rows"]]


# ---------------------------------------------------------------------- choosing a store
def test_open_artifact_store_maps_each_location(tmp_path: Path, bucket: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    assert isinstance(open_artifact_store(tmp_path / "a"), LocalArtifactStore)
    assert isinstance(open_artifact_store(str(tmp_path / "b")), LocalArtifactStore)
    local = open_artifact_store(f"file://{tmp_path}/c")
    assert isinstance(local, LocalArtifactStore) and local.root == tmp_path / "c"
    assert isinstance(open_artifact_store("memory://x"), FsspecArtifactStore)
    s3 = open_artifact_store({"url": f"s3://{bucket}/m", "name": "lake"})
    assert isinstance(s3, FsspecArtifactStore) and s3.put("k", b"v").store == "lake"
    assert repr(s3) == f"FsspecArtifactStore('s3://{bucket}/m', name='lake')"
    default = open_artifact_store(default_root=tmp_path / "d")
    assert isinstance(default, LocalArtifactStore) and default.root == tmp_path / "d"
    monkeypatch.setenv("SPINE_ARTIFACTS", "memory://from-env")
    chosen = open_artifact_store(default_root=tmp_path / "d")
    assert isinstance(chosen, FsspecArtifactStore) and chosen.url == "memory://from-env"


@pytest.mark.parametrize(("location", "message"), [
    ("ftp://host/x", "unsupported artifact store URL scheme 'ftp://'"),
    ("s3://", "names no bucket; use s3://BUCKET/PREFIX"),
    ("s3://user:pw@bucket/x", "carry no credentials"),
    ("s3://bucket/x?token=abc", "query or fragment"),
    ({"url": "memory://x", "region": "eu"}, "unknown artifact store setting(s) region"),
    ({"storage_options": {}}, "needs url:"),
    ("  ", "is empty"),
])
def test_bad_locations_say_what_and_how(location: Any, message: str) -> None:
    with pytest.raises(ArtifactBackendError) as info:
        open_artifact_store(location)
    assert message in str(info.value)
    assert "pw" not in str(info.value) and "abc" not in str(info.value)


def test_gs_without_gcsfs_names_the_package_to_install() -> None:
    if importlib_spec("gcsfs"):
        pytest.skip("gcsfs is installed here")
    with pytest.raises(ArtifactBackendError, match=r"need the gcsfs package.*pip install gcsfs"):
        open_artifact_store("gs://bucket/prefix")


def importlib_spec(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def test_a_missing_bucket_or_dead_endpoint_fails_at_open(s3_env: str,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ArtifactBackendError, match="bucket 'no-such-bucket' .* does not exist"):
        open_artifact_store("s3://no-such-bucket/p")
    store = open_artifact_store("s3://no-such-bucket/p", check=False)  # opt out of the check
    assert isinstance(store, FsspecArtifactStore)
    monkeypatch.setenv("SPINE_S3_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    with pytest.raises(ArtifactBackendError, match="does not answer|does not exist"):
        open_artifact_store("s3://any-bucket/p",
                            storage_options={"config_kwargs": {"connect_timeout": 1,
                                                               "retries": {"max_attempts": 1}}})


def test_profile_credentials_are_secret_references_and_never_shown(
        bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "spine.yaml").write_text(
        "profiles:\n  prod:\n    artifacts:\n"
        f"      url: s3://{bucket}/from-profile\n"
        "      storage_options:\n"
        "        key: secret:env:ART_TEST_KEY_ID\n"
        "        secret: secret:env:ART_TEST_SECRET\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SPINE_PROFILE", "prod")
    monkeypatch.setenv("ART_TEST_KEY_ID", "AKIAPROFILEKEY")
    monkeypatch.setenv("ART_TEST_SECRET", "very-secret-profile-value")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)  # only the profile's references can supply them

    location = artifact_location()
    assert location["storage_options"]["secret"] == "very-secret-profile-value"
    store = open_artifact_store(location)
    ref = store.put_json("runs/r1/s/x.json", {"ok": True})
    assert store.get_json(ref) == {"ok": True}
    shown = repr(store) + json.dumps(ref.to_dict()) + repr(store.info(ref.key))
    assert "very-secret-profile-value" not in shown and "AKIAPROFILEKEY" not in shown
    raw = io.BytesIO(store.fs.cat_file(store._record_path(ref.key))).read()
    assert b"very-secret" not in raw

    monkeypatch.setenv("SPINE_ARTIFACTS", "memory://env-wins")
    assert artifact_location() == "memory://env-wins"
    assert artifact_location("s3://flag/wins") == "s3://flag/wins"
