"""``spine-engine serve`` as a real process on 127.0.0.1, driven over HTTP: runs and their
live logs, cancel, artifacts with their hash, graceful SIGTERM then resume, and refusing an
open API on a public address."""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
from pathlib import Path

import httpx
from api_server import RESOURCES, Served, start_server
from api_waits import wait_for_status, wait_until


def sse_events(response: httpx.Response) -> list[tuple[str, str]]:
    """(event, data) pairs of a server-sent event stream, read to its end."""
    events, kind, data = [], "message", []
    for line in response.iter_lines():
        if line.startswith("event:"):
            kind = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())
        elif line == "" and data:
            events.append((kind, "\n".join(data)))
            kind, data = "message", []
    return events


def test_run_and_follow_its_logs_live(served: Served) -> None:
    with httpx.Client(base_url=served.url, timeout=30) as http:
        run_id = http.post("/workflows/api.slow/run",
                           json={"params": {"ticks": 5, "pause": 0.05}}).json()["run_id"]
        with http.stream("GET", f"/runs/{run_id}/logs/stream") as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            events = sse_events(stream)
        lines = [json.loads(data)["message"] for kind, data in events if kind == "log"]
        assert lines == [f"tick {i}" for i in range(5)] * 2
        assert events[-1] == ("end", '{"status": "completed"}')
        step_lines = http.get(f"/runs/{run_id}/steps/second/logs").json()
        assert [e["message"] for e in step_lines["items"]] == [f"tick {i}" for i in range(5)]
        assert step_lines["finished"] is True


def test_cancel_a_running_run(served: Served) -> None:
    with httpx.Client(base_url=served.url, timeout=30) as http:
        run_id = http.post("/workflows/api.slow/run",
                           json={"params": {"ticks": 200, "pause": 0.05}}).json()["run_id"]
        wait_for_status(http, run_id, {"running"})
        assert http.post(f"/runs/{run_id}/cancel").status_code == 202
        body = wait_for_status(http, run_id, {"cancelled"})
        assert body["steps"][0]["name"] == "first"
        assert "second" not in [s["name"] for s in body["steps"]]


def test_download_an_artifact_with_its_hash(served: Served) -> None:
    with httpx.Client(base_url=served.url, timeout=30) as http:
        run_id = http.post("/workflows/api.report/run").json()["run_id"]
        wait_for_status(http, run_id, {"completed"})
        [artifact] = http.get(f"/runs/{run_id}/artifacts").json()
        assert artifact["size_bytes"] == 300_000
        response = http.get(f"/runs/{run_id}/artifacts/{artifact['key']}")
        assert response.status_code == 200
        assert response.headers["x-checksum-sha256"] == artifact["sha256"]
        assert hashlib.sha256(response.content).hexdigest() == artifact["sha256"]
        assert len(response.content) == 300_000
        missing = http.get(f"/runs/{run_id}/artifacts/runs/nothing-here")
        assert missing.status_code == 404


def test_sigterm_mid_run_stops_at_a_step_and_the_run_resumes(tmp_path: Path) -> None:
    server = start_server(tmp_path, "--grace", "20")
    with httpx.Client(base_url=server.url, timeout=30) as http:
        run_id = http.post("/workflows/api.slow/run",
                           json={"params": {"ticks": 10, "pause": 0.1}}).json()["run_id"]
        wait_for_status(http, run_id, {"running"})
    code, out = server.stop(signal.SIGTERM)
    assert code == 0, out
    assert run_id in out and "resume" in out
    second = start_server(tmp_path)
    try:
        with httpx.Client(base_url=second.url, timeout=30) as http:
            stopped = http.get(f"/runs/{run_id}").json()
            assert stopped["status"] in {"cancelled", "interrupted"}
            assert [s["status"] for s in stopped["steps"]][0] == "completed"  # checkpointed
            assert http.post(f"/runs/{run_id}/resume").status_code == 202
            done = wait_for_status(http, run_id, {"completed"})
            assert [s["status"] for s in done["steps"]] == ["completed", "completed"]
            assert http.get(f"/runs/{run_id}/outputs").json()["second"] == {"ticks": 10}
    finally:
        second.stop()


def test_refuses_an_open_api_on_a_public_address(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "spine_tui.engine_cli", "serve", str(RESOURCES), "--host",
         "0.0.0.0", "--port", "1", "--db", str(tmp_path / "spine.db")],
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "no API key exists" in result.stderr and "apikey create" in result.stderr


def test_saved_workflow_files_are_served_without_a_restart(tmp_path: Path) -> None:
    flows = tmp_path / "flows"
    flows.mkdir()
    server = start_server(tmp_path, paths=(str(flows),))
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            assert http.get("/workflows").json() == []
            (flows / "saved.yaml").write_text(
                "apiVersion: spine.io/v1\nkind: Workflow\nmetadata: {name: hot.saved}\n"
                "spec:\n  steps:\n    - {name: nap, wait: {duration_seconds: 0}}\n")
            wait_until(lambda: http.get("/workflows/hot.saved").status_code == 200,
                       what="the saved file to be served")
            run_id = http.post("/workflows/hot.saved/run").json()["run_id"]
            assert wait_for_status(http, run_id, {"completed"})["version"] == 1
    finally:
        server.stop()
