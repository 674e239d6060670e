"""``GET /metrics`` of ``spine-engine serve``: the store's metrics plus the server process's own
(metrics that steps of its runs recorded), parsed with prometheus-client's parser."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from engine import (
    METRICS_CONTENT_TYPE,
    RunStatus,
    Step,
    StepResult,
    Workflow,
    counter,
    start_run,
)
from engine.store import ApiKeyStore
from spine_tui.server.state import ServerState


def families(text: str) -> dict[str, Any]:
    return {family.name: family for family in text_string_to_metric_families(text)}


def _count(ctx: Any, config: dict[str, Any]) -> StepResult:
    counter("api_test_widgets", 5, tags={"line": "a"})
    return StepResult.ok()


def _fail(ctx: Any, config: dict[str, Any]) -> StepResult:
    return StepResult.fail("bad widget", category="DATA_QUALITY")


def test_metrics_hold_the_store_and_the_server_process(client: TestClient,
                                                        state: ServerState) -> None:
    ok = Workflow("api.metrics_ok", [Step.lambda_("count", _count)])
    bad = Workflow("api.metrics_bad", [Step.lambda_("check", _fail)])
    assert start_run(ok, runner=state.runner).wait(30).status is RunStatus.COMPLETED
    assert start_run(bad, runner=state.runner).wait(30).status is RunStatus.FAILED

    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"] == METRICS_CONTENT_TYPE
    found = families(response.text)
    widgets = found["api_test_widgets"]  # recorded by a step of a run of this server
    assert widgets.type == "counter"
    assert [(s.labels, s.value) for s in widgets.samples if s.name.endswith("_total")] == [
        ({"line": "a"}, 5.0)]
    runs = {(s.labels["workflow"], s.labels["status"]): s.value
            for s in found["spine_workflow_runs"].samples}
    assert runs[("api.metrics_ok", "completed")] == 1
    assert runs[("api.metrics_bad", "failed")] == 1
    errors = {(s.labels["workflow"], s.labels["category"]): s.value
              for s in found["spine_workflow_error"].samples}
    assert errors == {("api.metrics_bad", "DATA_QUALITY"): 1}
    assert found["spine_workflow_step_duration_seconds"].type == "histogram"
    assert "process_cpu_seconds" in found  # the process collectors come along


def test_metrics_need_a_read_key_once_keys_exist(client: TestClient,
                                                 state: ServerState) -> None:
    reader, _ = ApiKeyStore(state.store.db).create("prometheus", "read")
    state._keys_checked = (0.0, False)  # do not wait out the one-second cache
    assert client.get("/metrics").status_code == 401
    answer = client.get("/metrics", headers={"Authorization": f"Bearer {reader}"})
    assert answer.status_code == 200
    assert "spine_workflow_runs_total" in answer.text


def test_metrics_stay_out_of_the_api_schema(client: TestClient) -> None:
    assert "/metrics" not in client.get("/openapi.json").json()["paths"]
