"""The secrets guarantee, checked the hard way: a workflow whose steps get a secret from
``secret:env:…`` references (config, a function default, ``ctx.resolve_secret``) and then
print it, log it, return it, retry and fail with it runs recorded in a real store, directly and
through the HTTP API; its YAML is exported, a version published, an artifact written, and the
API's answers saved. Then every byte of every file under the test's folder (the SQLite file,
its WAL, artifacts, exports) is searched for the secret: it is never there."""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from waits import wait_until

from engine import (
    RunStatus,
    SecretBackendError,
    SecretsResolver,
    TrackedWorkflowRunner,
    WorkflowSpec,
    WorkflowVersionStore,
    load_file,
)
from engine.secrets import masking
from engine.store import RunStore
from spine_tui.server.app import create_app
from spine_tui.server.state import ServerConfig, open_state

SECRET = "Sc4n-me-7f9a2c41-never-stored"
DIGEST = hashlib.sha256(SECRET.encode()).hexdigest()

FLOW = textwrap.dedent('''
    """A workflow that does everything a careless handler could do with a secret."""
    import hashlib
    import logging
    import sys

    from engine import ErrorPolicy, RetryPolicy, Step, StepResult, Workflow

    def digest(value):
        return hashlib.sha256(value.encode()).hexdigest()

    def leak(ctx, config):
        password = config["db"]["password"]
        print("connecting with", password)
        print(f"stderr: {password}", file=sys.stderr)
        logging.getLogger("scan.flow").warning("password=%s token=%r", password,
                                               config["db"]["hosts"][1]["token"])
        report = ctx.artifact_store.put_json(f"runs/{ctx.run_id}/report.json",
                                             {"rows": 3, "digest": digest(password)},
                                             run_id=ctx.run_id, step="leak")
        return StepResult.ok(output={"digest": digest(password), "echo": password,
                                     "report": report})

    ATTEMPTS = {}

    def flaky(ctx, config):
        ATTEMPTS[ctx.run_id] = ATTEMPTS.get(ctx.run_id, 0) + 1
        if ATTEMPTS[ctx.run_id] == 1:
            return StepResult.fail(f"auth refused for {config['pw']}", category="TRANSIENT")
        return {"attempts": ATTEMPTS[ctx.run_id]}

    def fetch(api_key: str = "secret:env:SCAN_SECRET") -> dict:
        return {"key_digest": digest(api_key), "key_echo": [api_key]}

    def from_ctx(ctx, config):
        value = ctx.resolve_secret("scan_secret")
        logging.getLogger("spine.run").info("resolved %s", value)
        return {"ctx_digest": digest(value)}

    def crash(ctx, config):
        raise RuntimeError(f"login failed for {config['token']}")

    REF = "secret:env:SCAN_SECRET"
    wf = Workflow("scan.secrets", [
        Step.lambda_("leak", leak, config={"db": {"password": REF,
                                                  "hosts": ["h1", {"token": REF}]}}),
        Step.lambda_("flaky", flaky, config={"pw": REF},
                     retry_policy=RetryPolicy(max_attempts=2, initial_delay_seconds=0)),
        Step.from_function("fetch", fetch),
        Step.lambda_("ctx", from_ctx),
        Step.lambda_("crash", crash, config={"token": REF}, on_error=ErrorPolicy.CONTINUE),
    ], description="uses a secret every way a handler can", tags=["secrets"])
''')


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Everything the test writes lives here; the secret is only in the environment."""
    before = masking.known_values()
    previous = SecretsResolver.set_default(None)
    monkeypatch.setenv("SCAN_SECRET", SECRET)
    monkeypatch.setenv("SPINE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SPINE_SECRETS_DIR", str(tmp_path / "no-mounted-secrets"))
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "scan_flow.py").write_text(FLOW, encoding="utf-8")
    yield tmp_path
    SecretsResolver.set_default(previous)
    masking.forget(masking.known_values() - before)


def files_holding(root: Path, needle: bytes) -> list[str]:
    """Every file under ``root`` whose bytes contain ``needle``."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")
                  if p.is_file() and needle in p.read_bytes())


def test_a_secret_never_reaches_any_file_or_api_answer(folder: Path) -> None:
    db = folder / "store" / "spine.db"
    workflows, errors = load_file(folder / "flows" / "scan_flow.py")
    assert errors == [] and [w.name for w in workflows] == ["scan.secrets"]
    wf = workflows[0].workflow

    # a tracked run in this process
    runner = TrackedWorkflowRunner(str(db))
    result = runner.execute(wf)
    assert result.status is RunStatus.COMPLETED, result.error  # crash continues
    assert result.outputs["leak"]["digest"] == DIGEST  # the handler really had the value
    assert result.outputs["fetch"]["key_digest"] == DIGEST
    assert result.outputs["ctx"]["ctx_digest"] == DIGEST
    assert result.outputs["flaky"] == {"attempts": 2}
    assert result.steps["crash"].status is RunStatus.FAILED
    runner.close()

    # the YAML export and a published version keep the reference text
    exported = WorkflowSpec.from_workflow(wf).to_yaml()
    assert "secret:env:SCAN_SECRET" in exported
    (folder / "exports").mkdir()
    (folder / "exports" / "scan.secrets.yaml").write_text(exported, encoding="utf-8")
    store = RunStore(db)
    try:
        info = WorkflowVersionStore(store.db).publish(wf, changelog="scan")
        (folder / "exports" / "version.yaml").write_text(info.to_yaml(), encoding="utf-8")
    finally:
        store.close()

    # the HTTP API: a run it starts, and what it answers about both runs
    state = open_state(ServerConfig.create([folder / "flows"], db=db, watch=False))
    state.start_background()
    answers: list[str] = []
    try:
        with TestClient(create_app(state), raise_server_exceptions=False) as client:
            started = client.post("/workflows/scan.secrets/run", json={"params": {}})
            assert started.status_code == 202, started.text
            api_run = started.json()["run_id"]
            wait_until(lambda: client.get(f"/runs/{api_run}").json().get("status")
                       in ("completed", "failed"), what="the API's run")
            for run_id in (result.run_id, api_run):
                for path in ("", "/steps", "/logs", "/outputs", "/artifacts",
                             "/steps/leak", "/steps/crash", "/steps/leak/logs"):
                    response = client.get(f"/runs/{run_id}{path}")
                    assert response.status_code == 200, (path, response.text)
                    answers.append(response.text)
            for path in ("/workflows/scan.secrets", "/workflows/scan.secrets/yaml",
                         "/workflows/scan.secrets/versions", f"/runs/{api_run}/logs/stream"):
                answers.append(client.get(path).text)
            artifact = next(a for a in client.get(f"/runs/{api_run}/artifacts").json()
                            if a["key"].endswith("report.json"))
            answers.append(client.get(f"/runs/{api_run}/artifacts/{artifact['key']}").text)
    finally:
        state.drain(grace=10)
        state.close()
    (folder / "exports" / "api-answers.json").write_text(json.dumps(answers), encoding="utf-8")

    # what was stored is what the steps did, masked
    joined = "\n".join(answers)
    assert "connecting with [REDACTED]" in joined
    assert "password=[REDACTED] token='[REDACTED]'" in joined
    assert "login failed for [REDACTED]" in joined
    assert "secret:env:SCAN_SECRET" in joined  # the definition keeps the reference
    assert DIGEST in joined  # the artifact and outputs the steps computed are there

    # and the scan: nothing under the folder holds the value, in any file
    written = [p for p in folder.rglob("*") if p.is_file()]
    names = {p.name for p in written}
    assert "spine.db" in names and any(p.suffix == ".yaml" for p in written)
    assert any("artifacts" in p.parts for p in written)
    assert files_holding(folder, SECRET.encode()) == []
    assert files_holding(folder, SECRET.encode("utf-16-le")) == []

    # the scan itself works: a file that does hold the value is found
    (folder / "control.txt").write_bytes(b"x" + SECRET.encode() + b"y")
    assert files_holding(folder, SECRET.encode()) == ["control.txt"]


# --------------------------------------------------------------------------- samples F1, F2
@pytest.fixture
def environ() -> Iterator[None]:
    """The F1 sample loads a .env into the environment: put the environment back after."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


def stored_text(db: Path, run_id: str) -> str:
    """Everything the store answers about a run: its steps' outputs and errors, its logs."""
    store = RunStore(db)
    try:
        outputs = store.outputs(run_id)
        logs = store.logs(run_id)
        return "\n".join([repr(outputs), *(line.message for line in logs)])
    finally:
        store.close()


def test_f1_sample_resolves_the_password_from_its_dotenv_at_run_time(
        folder: Path, environ: None, monkeypatch: pytest.MonkeyPatch,
        tmp_path_factory: pytest.TempPathFactory) -> None:
    f1 = importlib.import_module("sample_workflows.f1_env_pipeline")
    monkeypatch.setenv("SPINE_SAMPLES_SCRATCH", str(folder / "scratch"))
    env_file = tmp_path_factory.mktemp("input") / "project.env"  # holds the secret: not scanned
    env_file.write_text(f"PGHOST=db.internal\nPGPASSWORD=secret:env:F1_PG_PASSWORD\n"
                        f"F1_PG_PASSWORD={SECRET}\n", encoding="utf-8")
    for key in ("PGHOST", "PGPASSWORD", "F1_PG_PASSWORD"):
        monkeypatch.delenv(key, raising=False)
    db = folder / "f1.db"
    runner = TrackedWorkflowRunner(str(db))
    result = runner.execute(f1.wf.workflow, {"env_file": str(env_file)})
    runner.close()
    assert result.status is RunStatus.COMPLETED, result.error
    assert result.outputs["connect"]["host"] == "db.internal"
    assert result.outputs["connect"]["password_set"] is True
    assert result.outputs["count"] == {"table": "silver_financial_facts", "row_count": 27}
    assert files_holding(folder, SECRET.encode()) == []

    env_file.write_text("PGPASSWORD=secret:env:F1_NOT_SET\n", encoding="utf-8")
    os.environ.pop("PGPASSWORD")
    failed = TrackedWorkflowRunner(str(db)).execute(f1.wf.workflow,
                                                    {"env_file": str(env_file)})
    connect = failed.steps["connect"]
    assert connect.error_category == "CONFIGURATION"
    assert "config key 'password'" in (connect.error or "")
    assert "secret 'secret:env:F1_NOT_SET' not found" in (connect.error or "")
    assert "reached through the value of 'secret:env:PGPASSWORD'" in (connect.error or "")


def test_f2_sample_fetches_from_a_vault_api_on_localhost(folder: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    f2 = importlib.import_module("sample_workflows.f2_vault_credentials")
    vault = importlib.import_module("sample_workflows._vault")
    secrets = {"db_username": "svc_scan", "db_password": SECRET}
    monkeypatch.setenv("VAULT_TOKEN", "scan-token")
    with vault.serve_vault(secrets, "scan-token") as url:
        db = folder / "f2.db"
        runner = TrackedWorkflowRunner(str(db))
        result = runner.execute(f2.wf.workflow, {"vault_addr": url})
        runner.close()
        assert result.status is RunStatus.COMPLETED, result.error
        assert result.outputs["creds"]["password"] == SECRET  # in memory: the handler's data
        assert result.outputs["connect"]["user"] == "svc_scan"
        stored = stored_text(db, result.run_id)
        assert "Password: [REDACTED]" in stored and "'password': '[REDACTED]'" in stored
        assert files_holding(folder, SECRET.encode()) == []

        resolver = f2.make_resolver(url, "scan-token")
        monkeypatch.setenv("DB_HOST", "from-env-fallback")
        assert resolver.resolve("db_host") == "from-env-fallback"  # 404 at the API: next
        assert resolver.resolve("secret:api:db_username") == "svc_scan"
        with pytest.raises(SecretBackendError, match="'api' failed.*HTTPStatusError.*403") \
                as refused:
            f2.make_resolver(url, "wrong-token").resolve("db_password")
        assert refused.value.category == "DEPENDENCY"
    with pytest.raises(SecretBackendError) as unreachable:  # the server is gone
        resolver.resolve("db_password")
    assert unreachable.value.category == "TRANSIENT"
