"""Schedules through the API: created, listed, paused, fired now and deleted; a workflow's own
schedule is listed but changed only in its file; bad cron is a 422 naming the field."""

from __future__ import annotations

from datetime import datetime

import pytest
from api_server import Served
from api_waits import wait_for_status, wait_until
from fastapi.testclient import TestClient

from spine_client import SpineClient, UnprocessableEntityError

CRON = {"cron": "30 6 * * 1-5", "timezone": "America/New_York", "params": {"name": "cron"}}


def test_create_list_pause_fire_and_delete(client: TestClient) -> None:
    created = client.post("/schedules", params={"workflow": "api.hello"},
                          json={**CRON, "name": "weekday-hello"})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["declared_in"] == "api" and body["enabled"] is True
    next_fire = datetime.fromisoformat(body["next_fire_at"])
    assert next_fire.utcoffset() is not None and next_fire.weekday() < 5
    assert "weekday-hello" in [s["name"] for s in client.get("/schedules").json()]
    paused = client.post("/schedules/weekday-hello/pause").json()
    assert paused["enabled"] is False
    assert client.post("/schedules/weekday-hello/resume").json()["enabled"] is True
    fired = client.post("/schedules/weekday-hello/fire")
    assert fired.status_code == 202, fired.text
    run = wait_for_status(client, fired.json()["run_id"], {"completed"})
    assert run["started_by"] == "schedule:weekday-hello"
    assert run["params"]["name"] == "cron" and run["partition_key"]
    listed = wait_until(lambda: client.get("/schedules/weekday-hello").json()
                        if client.get("/schedules/weekday-hello").json()["last_run_id"]
                        else None)
    assert listed["last_run_id"] == run["run_id"] and listed["last_run_status"] == "completed"
    assert client.delete("/schedules/weekday-hello").status_code == 204
    assert client.get("/schedules/weekday-hello").status_code == 404


def test_the_spec_form_on_a_workflow(client: TestClient) -> None:
    made = client.post("/workflows/api.hello/schedule", json={"cron": "@daily"})
    assert made.status_code == 201 and made.json()["name"] == "api.hello"
    assert client.delete("/workflows/api.hello/schedule").status_code == 204
    assert client.delete("/workflows/api.hello/schedule").status_code == 404
    assert client.post("/workflows/no.such/schedule", json={"cron": "@daily"}).status_code == 404


def test_a_workflow_declared_schedule_is_listed_but_not_deletable(client: TestClient) -> None:
    declared = wait_until(lambda: next((s for s in client.get("/schedules").json()
                                        if s["name"] == "api.nightly"), None),
                          what="the declared schedule to be synced")
    assert declared["declared_in"] == "workflow" and declared["timezone"] == "Europe/Paris"
    assert datetime.fromisoformat(declared["next_fire_at"]).astimezone().tzinfo is not None
    refused = client.delete("/schedules/api.nightly")
    assert refused.status_code == 409 and "pause it" in refused.json()["detail"]
    assert client.post("/schedules/api.nightly/pause").json()["enabled"] is False


def test_bad_schedules_are_422_naming_the_field(client: TestClient) -> None:
    for body, field in [({"cron": "61 * * * *"}, "cron"),
                        ({"cron": "0 6 * * *", "timezone": "Mars/Olympus"}, "timezone"),
                        ({"cron": "0 6 * * *", "misfire": "sometimes"}, "misfire")]:
        answer = client.post("/schedules", params={"workflow": "api.hello"}, json=body)
        assert answer.status_code == 422, answer.text
        assert field in str(answer.json()["errors"][0]["loc"])
    assert client.get("/schedules").json() == [s for s in client.get("/schedules").json()
                                                if s["declared_in"] == "workflow"]


def test_schedules_from_the_sdk(served: Served) -> None:
    with SpineClient(served.url) as sdk:
        made = sdk.schedules.create("api.hello", "*/5 * * * *", name="every-five")
        assert made.cron == "*/5 * * * *"
        result = sdk.schedules.fire("every-five")
        assert sdk.runs.wait(result.run_id, timeout=30).started_by == "schedule:every-five"
        with pytest.raises(UnprocessableEntityError, match="cron"):
            sdk.schedules.create("api.hello", "not cron", name="broken")
        sdk.schedules.delete("every-five")
        assert [s.name for s in sdk.schedules.list()] == ["api.nightly"]
