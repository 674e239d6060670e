"""``spine-engine run/serve --artifacts URL``, ``$SPINE_ARTIFACTS`` and the profile's
``artifacts:``: steps write to an S3-compatible server (moto on 127.0.0.1), another process
reads and verifies what they wrote, and an unusable store is exit 2 before anything runs."""

from __future__ import annotations

import json
import logging
import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

from engine import FsspecArtifactStore, RunStore, open_artifact_store

RUN_LINE = re.compile(r"^run ([0-9a-f]{16})  (\S+) \(\d+ steps?\)$")
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "cli-moto-id", "AWS_SECRET_ACCESS_KEY": "cli-moto-secret",
               "AWS_DEFAULT_REGION": "us-east-1"}
FLOW = '''
"""Two steps: one writes rows to ctx.artifact_store, the next reads them back through the ref."""

from engine import Step, StepResult, Workflow


def extract(ctx, config):
    ref = ctx.artifact_store.put_json(f"runs/{ctx.run_id}/extract/rows.json",
                                      {"rows": list(range(10))}, run_id=ctx.run_id,
                                      step="extract")
    return StepResult.ok(output={"rows": ref})


def total(ctx, config):
    rows = ctx.artifact_store.get_json(ctx.get_output("extract", "rows"))["rows"]
    return StepResult.ok(output={"total": sum(rows)})


flow = Workflow("cli.s3_rows", steps=[Step.lambda_("extract", extract),
                                      Step.lambda_("total", total)])
'''


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_env(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The environment a user sets: AWS credentials and ``$SPINE_S3_ENDPOINT_URL``."""
    env = {**CREDENTIALS, "SPINE_S3_ENDPOINT_URL": s3_endpoint}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("SPINE_ARTIFACTS", raising=False)
    return env


@pytest.fixture
def bucket(s3_env: dict[str, str]) -> str:
    name = f"cli-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=s3_env["SPINE_S3_ENDPOINT_URL"]).create_bucket(Bucket=name)
    return name


@pytest.fixture
def flow(tmp_path: Path) -> Path:
    path = tmp_path / "flows" / "cli_s3_rows.py"
    path.parent.mkdir()
    path.write_text(FLOW)
    return path


def run_id_of(out: str) -> str:
    match = RUN_LINE.match(out.splitlines()[0])
    assert match, out
    return match.group(1)


def recorded(store_path: Path, run_id: str) -> list:
    store = RunStore(store_path)
    try:
        return store.artifacts(run_id)
    finally:
        store.close()


def test_run_with_artifacts_url_writes_to_s3_and_another_process_verifies_it(
        run_module, s3_env: dict[str, str], bucket: str, flow: Path, store_path: Path) -> None:
    url = f"s3://{bucket}/team/prod"
    env = {**s3_env, "SPINE_DB": str(store_path)}
    result = run_module("run", str(flow), "--artifacts", url, "--json", env=env)
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["status"] == "completed" and data["outputs"]["total"] == {"total": 45}
    run_id = data["run_id"]
    ref = data["outputs"]["extract"]["rows"]
    assert ref["store"] == "s3" and ref["key"] == f"runs/{run_id}/extract/rows.json"

    [artifact] = recorded(store_path, run_id)
    store = open_artifact_store(url)  # this process plays the other machine
    assert store.get_json(artifact.to_ref()) == {"rows": list(range(10))}
    assert [r.key for r in store.list(run_id=run_id)] == [artifact.key]

    checked = run_module("artifacts", run_id, "--root", url, env=env)
    assert checked.code == 0, checked.err
    assert "ok" in checked.out and f"all intact in {url}" in checked.out

    assert isinstance(store, FsspecArtifactStore)
    record = json.loads(store.fs.cat_file(store._record_path(artifact.key)))
    store.fs.pipe_file(store._object_path(artifact.key, record["object"]), b'{"rows": [666]}')
    tampered = run_module("artifacts", run_id, "--root", url, "--json", env=env)
    assert tampered.code == 1
    [row] = json.loads(tampered.out)["artifacts"]
    assert row["state"] == "corrupt" and artifact.checksum in row["problem"]


def test_spine_artifacts_env_chooses_the_store(cli, s3_env: dict[str, str], bucket: str,
                                               flow: Path, monkeypatch: pytest.MonkeyPatch,
                                               store_path: Path) -> None:
    monkeypatch.setenv("SPINE_ARTIFACTS", f"s3://{bucket}/from-env")
    result = cli("run", str(flow), "--quiet")
    assert result.code == 0, result.err
    run_id = run_id_of(result.out)
    [artifact] = recorded(store_path, run_id)
    assert artifact.store == "s3"
    store = open_artifact_store(f"s3://{bucket}/from-env")
    assert store.get_json(artifact.to_ref()) == {"rows": list(range(10))}
    assert not (store_path.parent / "artifacts").exists()  # nothing went to the local default


def test_the_profile_names_the_store_with_secret_credentials_that_never_show(
        run_module, s3_env: dict[str, str], bucket: str, flow: Path, tmp_path: Path,
        store_path: Path) -> None:
    (tmp_path / "spine.yaml").write_text(
        "default_profile: prod\nprofiles:\n  prod:\n    artifacts:\n"
        f"      url: s3://{bucket}/from-profile\n"
        "      storage_options:\n"
        "        key: secret:env:CLI_ART_KEY_ID\n"
        "        secret: secret:env:CLI_ART_SECRET\n")
    env = {name: value for name, value in os.environ.items()
           if name not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    env.update(SPINE_DB=str(store_path), CLI_ART_KEY_ID="AKIACLIPROFILE",
               CLI_ART_SECRET="cli-secret-never-shown")
    result = run_module("run", str(flow), "--json", cwd=tmp_path, env=env)
    assert result.code == 0, result.err
    run_id = json.loads(result.out)["run_id"]
    assert recorded(store_path, run_id)[0].store == "s3"
    assert "cli-secret-never-shown" not in result.out + result.err
    assert "AKIACLIPROFILE" not in result.out + result.err
    for path in store_path.parent.glob("spine.db*"):
        assert b"cli-secret-never-shown" not in path.read_bytes()
    shown = run_module("config", "show", "--json", cwd=tmp_path, env=env)
    assert shown.code == 0, shown.err
    assert json.loads(shown.out)["settings"]["artifacts"]["storage_options"] == {
        "key": "[REDACTED]", "secret": "[REDACTED]"}


@pytest.mark.parametrize(("url", "message"), [
    ("ftp://host/x", "unsupported artifact store URL scheme 'ftp://'"),
    ("s3://", "names no bucket"),
    ("gs://bucket/prefix", "pip install gcsfs"),
    ("s3://no-such-bucket-here/p", "bucket 'no-such-bucket-here' of artifact store"),
])
def test_an_unusable_store_is_exit_2_before_anything_runs(cli, s3_env: dict[str, str],
                                                          flow: Path, store_path: Path,
                                                          url: str, message: str) -> None:
    result = cli("run", str(flow), "--artifacts", url)
    assert result.code == 2
    assert message in result.err and "Traceback" not in result.err
    store = RunStore(store_path)
    try:
        assert store.list_runs() == []
    finally:
        store.close()


def test_serve_refuses_an_unusable_store_before_listening(cli, s3_env: dict[str, str]) -> None:
    result = cli("serve", "--artifacts", "s3://no-such-bucket-here/p", "--port", "1")
    assert result.code == 2
    assert "bucket 'no-such-bucket-here'" in result.err


def test_serve_hands_runs_the_url_store(s3_env: dict[str, str], bucket: str, flow: Path,
                                        tmp_path: Path) -> None:
    from spine_tui.server.state import ServerConfig, open_state

    url = f"s3://{bucket}/served"
    config = ServerConfig.create([flow.parent], db=tmp_path / "serve.db", watch=False,
                                 artifacts=url)
    assert url not in repr(config)  # a mapping with keys may ride here: never printed
    state = open_state(config)
    try:
        handle = state.start("cli.s3_rows", started_by="api")
        result = handle.wait()
        assert result.status.value == "completed", result.error
        [store, *_] = state.artifact_stores()
        assert isinstance(store, FsspecArtifactStore) and store.url == url
        ref = result.steps["extract"].output["rows"]
        assert b"".join(store.iter_chunks(ref)) == json.dumps(
            {"rows": list(range(10))}).encode()
    finally:
        state.close()
