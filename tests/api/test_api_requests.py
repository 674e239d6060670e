"""The API's requests and answers, on the real app over a real store (in-process client):
workflow CRUD from YAML and JSON, runs and their steps, and every error as a problem."""

from __future__ import annotations

from pathlib import Path

import pytest
from api_waits import wait_for_status
from fastapi.testclient import TestClient

from engine.store import ApiKeyStore
from spine_tui.server.state import ServerState

PROBLEM = "application/problem+json"
DOC = """\
apiVersion: spine.io/v1
kind: Workflow
metadata:
  name: api.created
spec:
  steps:
    - name: nap
      wait: {duration_seconds: 0}
"""


def problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    return body


def test_lists_workflows_and_answers_one_with_its_steps(client: TestClient) -> None:
    names = [w["name"] for w in client.get("/workflows").json()]
    assert {"api.hello", "api.slow", "api.report", "api.flaky"} <= set(names)
    detail = client.get("/workflows/api.flaky").json()
    assert [s["name"] for s in detail["steps"]] == ["greet", "check"]
    assert detail["steps"][1]["depends_on"] == ["greet"]
    assert detail["editable"] is False


def test_run_is_stored_before_the_answer_and_completes(client: TestClient) -> None:
    accepted = client.post("/workflows/api.hello/run", json={"params": {"name": "ann"}})
    assert accepted.status_code == 202
    run_id = accepted.json()["run_id"]
    assert client.get(f"/runs/{run_id}").status_code == 200  # no race with the run's creation
    body = wait_for_status(client, run_id, {"completed"})
    assert body["started_by"] == "api" and body["progress"] == 1.0
    assert body["params"] == {"name": "ann"}
    assert client.get(f"/runs/{run_id}/outputs").json() == {"greet": {"greeting": "hello ann"}}
    step = client.get(f"/runs/{run_id}/steps/greet").json()
    assert step["status"] == "completed" and step["output"] == {"greeting": "hello ann"}
    page = client.get("/runs", params={"workflow": "api.hello"}).json()
    assert [r["run_id"] for r in page["items"]] == [run_id] and page["next_offset"] is None


def test_runs_page_and_filter(client: TestClient) -> None:
    ids = [client.post("/workflows/api.hello/run").json()["run_id"] for _ in range(3)]
    for run_id in ids:
        wait_for_status(client, run_id, {"completed"})
    first = client.get("/runs", params={"limit": 2}).json()
    assert len(first["items"]) == 2 and first["next_offset"] == 2
    second = client.get("/runs", params={"limit": 2, "offset": 2}).json()
    assert len(second["items"]) == 1 and second["next_offset"] is None
    seen = [r["run_id"] for r in first["items"] + second["items"]]
    assert sorted(seen) == sorted(ids)
    assert client.get("/runs", params={"status": "failed"}).json()["items"] == []
    assert client.get("/workflows/api.hello/runs").json()["items"][0]["run_id"] == ids[-1]


def test_failed_run_retries_as_a_linked_run(client: TestClient, state: ServerState) -> None:
    run_id = client.post("/workflows/api.flaky/run").json()["run_id"]
    failed = wait_for_status(client, run_id, {"failed"})
    assert failed["error_step"] == "check"
    (state.config.db_path.parent / "home" / "fixed").write_text("yes")
    retry = client.post(f"/runs/{run_id}/retry")
    assert retry.status_code == 202
    new = wait_for_status(client, retry.json()["run_id"], {"completed"})
    assert new["run_id"] != run_id
    assert [s["name"] for s in new["steps"]] == ["greet", "check"]


def test_create_update_export_and_delete_a_yaml_workflow(client: TestClient,
                                                         state: ServerState) -> None:
    created = client.post("/workflows", json={"yaml_content": DOC})
    assert created.status_code == 201, created.text
    assert created.json()["editable"] is True
    assert (state.config.managed_dir / "api.created.yaml").is_file()
    assert "api.created" in [w["name"] for w in client.get("/workflows").json()]
    problem(client.post("/workflows", json={"yaml_content": DOC}), 409)
    changed = DOC.replace("duration_seconds: 0", "duration_seconds: 0.01")
    updated = client.put("/workflows/api.created", json={"yaml_content": changed})
    assert updated.status_code == 200
    assert "duration_seconds: 0.01" in client.get("/workflows/api.created/yaml").text
    versions = client.get("/workflows/api.created/versions").json()
    assert [v["version"] for v in versions] == [1, 2]
    rolled = client.post("/workflows/api.created/rollback", json={"version": 1})
    assert rolled.json()["rolled_back_from"] == 1
    assert "duration_seconds: 0.01" not in client.get("/workflows/api.created/yaml").text
    assert client.delete("/workflows/api.created").status_code == 204
    problem(client.get("/workflows/api.created"), 404)
    assert not (state.config.managed_dir / "api.created.yaml").exists()


def test_create_from_a_json_definition(client: TestClient) -> None:
    definition = {"apiVersion": "spine.io/v1", "kind": "Workflow",
                  "metadata": {"name": "api.json"},
                  "spec": {"steps": [{"name": "nap", "wait": {"duration_seconds": 0}}]}}
    assert client.post("/workflows", json={"definition": definition}).status_code == 201
    run_id = client.post("/workflows/api.json/run").json()["run_id"]
    assert wait_for_status(client, run_id, {"completed"})["workflow_name"] == "api.json"


def test_a_file_the_api_does_not_manage_is_not_changed(client: TestClient) -> None:
    body = problem(client.delete("/workflows/api.hello"), 409)
    assert "api_flows.py" in body["detail"]
    assert client.get("/workflows/api.hello").status_code == 200


@pytest.mark.parametrize(("request_args", "status", "words"), [
    (("get", "/runs/no-such-run"), 404, "no run with id"),
    (("get", "/workflows/no.such"), 404, "no workflow named 'no.such'"),
    (("post", "/workflows/no.such/run"), 404, "no workflow"),
    (("get", "/runs?limit=0"), 422, "limit"),
    (("get", "/runs?status=bogus"), 422, "status"),
    (("get", "/runs?since=yesterday"), 422, "since"),
    (("get", "/workflows/api.hello/versions/99"), 404, "no published versions"),
])
def test_bad_requests_are_problems(client: TestClient, request_args: tuple[str, str],
                                   status: int, words: str) -> None:
    method, url = request_args
    body = problem(getattr(client, method)(url), status)
    assert words in body["detail"]


def test_bad_bodies_are_problems_and_store_nothing(client: TestClient,
                                                   state: ServerState) -> None:
    problem(client.post("/workflows", content=b"{not json",
                        headers={"content-type": "application/json"}), 400)
    problem(client.post("/workflows", json={}), 422)  # neither yaml_content nor definition
    broken = problem(client.post("/workflows", json={"yaml_content": DOC + "  - oops: [\n"}),
                     422)
    assert "line" in broken["detail"]
    cycle = DOC.replace("    - name: nap\n      wait: {duration_seconds: 0}\n",
                        "    - {name: a, wait: {duration_seconds: 0}, depends_on: [b]}\n"
                        "    - {name: b, wait: {duration_seconds: 0}, depends_on: [a]}\n")
    assert "cycle" in problem(client.post("/workflows", json={"yaml_content": cycle}),
                              422)["detail"].lower()
    problem(client.post("/workflows/api.hello/run", json={"params": [1, 2]}), 422)
    huge = b'{"yaml_content": "' + b"x" * (11 * 1024 * 1024) + b'"}'
    problem(client.post("/workflows", content=huge,
                        headers={"content-type": "application/json"}), 413)
    assert list(state.config.managed_dir.iterdir()) == []
    assert client.get("/runs").json()["items"] == []


def test_control_that_does_not_fit_the_state_is_a_conflict(client: TestClient) -> None:
    run_id = client.post("/workflows/api.hello/run").json()["run_id"]
    wait_for_status(client, run_id, {"completed"})
    assert "completed" in problem(client.post(f"/runs/{run_id}/cancel"), 409)["detail"]
    problem(client.post(f"/runs/{run_id}/pause"), 409)
    problem(client.post(f"/runs/{run_id}/resume"), 409)


def test_api_keys_and_scopes(client: TestClient, state: ServerState, tmp_path: Path) -> None:
    assert client.get("/runs").status_code == 200  # no key defined: open (loopback only)
    keys = ApiKeyStore(state.store.db)
    reader, _ = keys.create("reader", "read")
    runner, _ = keys.create("runner", "run")
    admin, _ = keys.create("admin", "admin")
    state._keys_checked = (0.0, False)  # the cache would notice within a second anyway
    problem(client.get("/runs"), 401)
    problem(client.get("/runs", headers={"Authorization": "Bearer spk_nope"}), 401)
    assert client.get("/health").status_code == 200  # a load balancer's probe needs no key

    def as_(key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"}

    assert client.get("/runs", headers=as_(reader)).status_code == 200
    problem(client.post("/workflows/api.hello/run", headers=as_(reader)), 403)
    assert client.post("/workflows/api.hello/run", headers=as_(runner)).status_code == 202
    problem(client.post("/workflows", json={"yaml_content": DOC}, headers=as_(runner)), 403)
    assert client.post("/workflows", json={"yaml_content": DOC},
                       headers=as_(admin)).status_code == 201
    keys.revoke("admin")
    problem(client.get("/runs", headers=as_(admin)), 401)
    stored = state.store.db.query("SELECT key_hash FROM api_keys")
    assert all(admin not in row["key_hash"] for row in stored)  # only hashes are kept
