"""Event triggers through the server: signed webhooks start runs (bad signatures start
nothing), and a file dropped in a watched folder starts a run in a real ``serve`` process."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from api_server import start_server
from api_waits import wait_for_status, wait_until
from fastapi.testclient import TestClient

from engine import sign_webhook

SECRET = "s3cret-for-tests"


def post_hook(client: TestClient, payload: dict, secret: str | None = SECRET,
              name: str = "hello-hook") -> httpx.Response:
    body = json.dumps(payload).encode()
    headers = {"content-type": "application/json"}
    if secret is not None:
        headers["X-Spine-Signature"] = sign_webhook(body, secret)
    return client.post(f"/webhooks/trigger/{name}", content=body, headers=headers)


def runs(client: TestClient) -> list[dict]:
    return client.get("/runs").json()["items"]


def test_triggers_are_listed(client: TestClient) -> None:
    listed = {t["name"]: t for t in client.get("/triggers").json()}
    assert listed["hello-hook"]["source"] == "webhook"
    assert listed["hello-hook"]["workflow_name"] == "api.hello"
    assert listed["hello-inbox"]["source"] == "file"


def test_a_signed_webhook_starts_a_run_with_mapped_params(
        client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPINE_TEST_HOOK_SECRET", SECRET)
    answer = post_hook(client, {"action": "greet", "user": {"name": "hooked"}})
    assert answer.status_code == 202, answer.text
    assert answer.json()["matched"] is True
    run = wait_for_status(client, answer.json()["run_id"], {"completed"})
    assert run["started_by"] == "trigger:hello-hook" and run["params"] == {"name": "hooked"}
    filtered = post_hook(client, {"action": "ignore", "user": {"name": "x"}})
    assert filtered.status_code == 202 and filtered.json() == {
        "trigger": "hello-hook", "run_id": None, "matched": False}
    assert len(runs(client)) == 1


def test_bad_or_missing_signatures_start_nothing(client: TestClient,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    payload = {"action": "greet", "user": {"name": "x"}}
    assert post_hook(client, payload).status_code == 401  # the secret's variable is unset
    monkeypatch.setenv("SPINE_TEST_HOOK_SECRET", SECRET)
    assert post_hook(client, payload, secret="wrong").status_code == 401
    assert post_hook(client, payload, secret=None).status_code == 401
    body = json.dumps(payload).encode()
    tampered = client.post("/webhooks/trigger/hello-hook", content=body + b" ",
                           headers={"X-Spine-Signature": sign_webhook(body, SECRET)})
    assert tampered.status_code == 401
    assert post_hook(client, payload, name="no-such-hook").status_code == 404
    not_json = client.post("/webhooks/trigger/hello-hook", content=b"[1, 2",
                           headers={"X-Spine-Signature": sign_webhook(b"[1, 2", SECRET)})
    assert not_json.status_code == 400
    assert runs(client) == []


def test_a_file_dropped_in_the_inbox_starts_a_run(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "before.txt").write_text("there before the server: does not fire")
    server = start_server(tmp_path, env={"SPINE_TEST_INBOX": str(inbox)})
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            wait_until(lambda: http.get("/health").json()["triggers_ready"], what="watchers")
            (inbox / "new.txt").write_text("hello")
            [run] = wait_until(lambda: http.get("/runs").json()["items"], timeout=30,
                               what="a run started by the new file")
            assert run["started_by"] == "trigger:hello-inbox"
            done = wait_for_status(http, run["run_id"], {"completed"})
            assert done["params"] == {"name": "new.txt"}
    finally:
        server.stop()
