"""The SDK against a real ``spine-engine serve`` process: what a user scripts, end to end."""

from __future__ import annotations

import asyncio
import hashlib
import threading
from pathlib import Path

import pytest
from api_server import Served, start_server

from engine.store import ApiKeyStore, RunStore
from spine_client import (
    AsyncSpineClient,
    AuthenticationError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    RunWaitTimeout,
    SpineClient,
    UnprocessableEntityError,
)

DOC = """\
apiVersion: spine.io/v1
kind: Workflow
metadata:
  name: sdk.created
spec:
  steps:
    - name: nap
      wait: {duration_seconds: 0}
"""


def test_run_workflow_and_wait_for_outputs(served: Served) -> None:
    with SpineClient(served.url) as client:
        result = client.run_workflow("api.hello", params={"name": "sdk"}, wait=True, timeout=30)
        assert result.status == "completed" and result.ok
        assert result.outputs == {"greet": {"greeting": "hello sdk"}}
        failed = client.run_workflow("api.flaky", wait=True, timeout=30)
        assert failed.status == "failed" and "does not exist yet" in (failed.error or "")
        with pytest.raises(RunWaitTimeout, match="api.slow|running|pending"):
            client.run_workflow("api.slow", params={"ticks": 100, "pause": 0.05}, wait=True,
                                timeout=0.5)


def test_follow_logs_while_the_run_goes(served: Served) -> None:
    with SpineClient(served.url) as client:
        started = client.workflows.run("api.slow", params={"ticks": 4, "pause": 0.1})
        lines = [entry.message for entry in client.runs.logs(started.run_id, follow=True)]
        assert lines == [f"tick {i}" for i in range(4)] * 2
        assert client.runs.get(started.run_id).status == "completed"
        seqs = [entry.seq for entry in client.runs.logs(started.run_id)]
        assert seqs == sorted(set(seqs)) and len(seqs) == 8


def test_download_verifies_the_hash(served: Served, tmp_path: Path) -> None:
    with SpineClient(served.url) as client:
        result = client.run_workflow("api.report", wait=True, timeout=30)
        [artifact] = client.artifacts.list(result.run_id)
        data = client.artifacts.download(result.run_id, artifact.key)
        assert hashlib.sha256(data).hexdigest() == artifact.sha256
        saved = client.artifacts.download(result.run_id, artifact.key, tmp_path)
        assert saved.read_bytes() == data
        with pytest.raises(NotFoundError):
            client.artifacts.download(result.run_id, "no/such/key")


def test_workflow_definitions_through_the_sdk(served: Served) -> None:
    with SpineClient(served.url) as client:
        created = client.workflows.create(DOC)
        assert created.editable and created.name == "sdk.created"
        assert "sdk.created" in [w.name for w in client.workflows.list()]
        assert client.run_workflow("sdk.created", wait=True, timeout=30).ok
        client.workflows.update("sdk.created", DOC.replace("0}", "0.01}"))
        assert [v.version for v in client.workflows.versions("sdk.created")] == [1, 2]
        client.workflows.rollback("sdk.created", 1)
        assert "0.01" not in client.workflows.yaml("sdk.created")
        client.workflows.delete("sdk.created")
        with pytest.raises(NotFoundError):
            client.workflows.get("sdk.created")
        with pytest.raises(UnprocessableEntityError) as bad:
            client.workflows.create(DOC.replace("wait:", "wiat:"))
        assert "wiat" in str(bad.value)
        with pytest.raises(ConflictError):
            client.workflows.delete("api.hello")  # defined in a Python file


def test_every_run_is_listed_once(served: Served) -> None:
    with SpineClient(served.url) as client:
        ids = {client.run_workflow("api.hello", wait=True, timeout=30).run_id for _ in range(3)}
        assert {r.run_id for r in client.runs.iter_all(page_size=1)} == ids
        with pytest.raises(ConflictError):
            client.runs.cancel(next(iter(ids)))


def test_api_keys_from_the_sdk(tmp_path: Path) -> None:
    db = tmp_path / "spine.db"
    store = RunStore(db)
    keys = ApiKeyStore(store.db)
    reader, _ = keys.create("reader", "read")
    runner, _ = keys.create("runner", "run")
    store.close()
    server = start_server(tmp_path)
    try:
        with SpineClient(server.url) as anonymous:
            assert anonymous.health().auth is True
            with pytest.raises(AuthenticationError):
                anonymous.workflows.list()
        with SpineClient(server.url, api_key=reader) as client:
            assert client.workflows.list()
            with pytest.raises(PermissionDeniedError, match="run"):
                client.workflows.run("api.hello")
        with SpineClient(server.url, api_key=runner) as client:
            assert client.run_workflow("api.hello", wait=True, timeout=30).ok
    finally:
        server.stop()


def test_the_async_client_has_the_same_surface(served: Served) -> None:
    async def scenario() -> tuple[str, list[str]]:
        async with AsyncSpineClient(served.url) as client:
            result = await client.run_workflow("api.hello", wait=True, timeout=30)
            started = await client.workflows.run("api.slow", params={"ticks": 2, "pause": 0.05})
            lines = [e.message async for e in client.runs.logs(started.run_id, follow=True)]
            return result.status, lines

    status, lines = asyncio.run(scenario())
    assert status == "completed"
    assert lines == ["tick 0", "tick 1"] * 2


def test_many_clients_start_runs_at_once(served: Served) -> None:
    """Runs started concurrently over HTTP share one runner; each is stored and completes."""
    ids: list[str] = []
    lock = threading.Lock()

    def start() -> None:
        with SpineClient(served.url) as client:
            run_id = client.workflows.run("api.hello").run_id
            with lock:
                ids.append(run_id)

    threads = [threading.Thread(target=start) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with SpineClient(served.url) as client:
        statuses = {client.runs.wait(run_id, timeout=30).status for run_id in ids}
    assert len(set(ids)) == 8 and statuses == {"completed"}
