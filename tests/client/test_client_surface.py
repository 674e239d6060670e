"""The SDK covers the whole API, both clients alike, and stands alone.

The operation table is the API contract as agreed with the server; a second test reads the
real server's OpenAPI, so a route added to ``spine-engine serve`` without a client method
fails here rather than in a user's hands.
"""

from __future__ import annotations

import inspect
import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from spine_client import AsyncSpineClient, SpineClient
from spine_client import _calls as calls
from spine_client._core import Call, declared

OPERATIONS: dict[str, tuple[str, str]] = {
    "health": ("GET", "/health"),
    "workflows_list": ("GET", "/workflows"),
    "workflows_create": ("POST", "/workflows"),
    "workflows_get": ("GET", "/workflows/{name}"),
    "workflows_update": ("PUT", "/workflows/{name}"),
    "workflows_delete": ("DELETE", "/workflows/{name}"),
    "workflows_yaml": ("GET", "/workflows/{name}/yaml"),
    "workflows_versions": ("GET", "/workflows/{name}/versions"),
    "workflows_version": ("GET", "/workflows/{name}/versions/{version}"),
    "workflows_rollback": ("POST", "/workflows/{name}/rollback"),
    "workflows_run": ("POST", "/workflows/{name}/run"),
    "workflows_runs": ("GET", "/workflows/{name}/runs"),
    "workflows_schedule_create": ("POST", "/workflows/{name}/schedule"),
    "workflows_schedule_delete": ("DELETE", "/workflows/{name}/schedule"),
    "runs_list": ("GET", "/runs"),
    "runs_get": ("GET", "/runs/{run_id}"),
    "runs_outputs": ("GET", "/runs/{run_id}/outputs"),
    "runs_pause": ("POST", "/runs/{run_id}/pause"),
    "runs_resume": ("POST", "/runs/{run_id}/resume"),
    "runs_cancel": ("POST", "/runs/{run_id}/cancel"),
    "runs_retry": ("POST", "/runs/{run_id}/retry"),
    "runs_logs": ("GET", "/runs/{run_id}/logs"),
    "runs_logs_stream": ("GET", "/runs/{run_id}/logs/stream"),
    "runs_artifacts": ("GET", "/runs/{run_id}/artifacts"),
    "runs_artifact_download": ("GET", "/runs/{run_id}/artifacts/{key:path}"),
    "runs_steps": ("GET", "/runs/{run_id}/steps"),
    "runs_step": ("GET", "/runs/{run_id}/steps/{step}"),
    "runs_step_replay": ("POST", "/runs/{run_id}/steps/{step}/replay"),
    "runs_step_logs": ("GET", "/runs/{run_id}/steps/{step}/logs"),
    "runs_step_logs_stream": ("GET", "/runs/{run_id}/steps/{step}/logs/stream"),
    "schedules_list": ("GET", "/schedules"),
    "schedules_create": ("POST", "/schedules"),
    "schedules_get": ("GET", "/schedules/{name}"),
    "schedules_delete": ("DELETE", "/schedules/{name}"),
    "schedules_pause": ("POST", "/schedules/{name}/pause"),
    "schedules_resume": ("POST", "/schedules/{name}/resume"),
    "schedules_fire": ("POST", "/schedules/{name}/fire"),
    "triggers_list": ("GET", "/triggers"),
    "webhooks_trigger": ("POST", "/webhooks/trigger/{name}"),
}

NAMESPACES = ("workflows", "runs", "artifacts", "schedules", "triggers", "webhooks")
STEP = "load[0].part"
"""A step name as fan-out and nested workflows make them: dots and brackets."""
ARGUMENTS: dict[str, Any] = {
    "name": "daily etl", "run_id": "r-1", "step": STEP, "version": 2, "cron": "0 * * * *",
    "workflow": "daily etl", "payload": {"event": "push"}, "secret": "s3cret",
    "yaml_content": "name: daily_etl\nsteps: []\n",
}


def matches(template: str, path: str) -> bool:
    """Whether ``path`` is ``template`` with its ``{params}`` filled by single segments."""
    pattern = re.sub(r"\{[a-z_]+:path\}", ".+", template)
    pattern = re.sub(r"\{[a-z_]+\}", "[^/]+", pattern)
    return re.fullmatch(pattern, path) is not None


def cases() -> list[tuple[Callable[..., Call[Any]], dict[str, Any], str]]:
    """Each call builder with the required arguments, and the operation it should make; a
    builder with an optional ``step`` (log pages) makes its step operation when given one."""
    found = []
    for build in vars(calls).values():
        if not (callable(build) and declared(build)):
            continue
        parameters = inspect.signature(build).parameters
        arguments = {n: ARGUMENTS[n] for n, p in parameters.items()
                     if p.default is inspect.Parameter.empty or n == "yaml_content"}
        found.append((build, arguments, declared(build)[0]))
        if "step" in parameters and "step" not in arguments:
            found.append((build, {**arguments, "step": STEP}, declared(build)[1]))
    return found


def test_the_client_covers_every_operation_of_the_agreed_table() -> None:
    assert set(SpineClient.operations()) == set(OPERATIONS)


def test_the_async_client_has_the_sync_client_s_surface() -> None:
    assert AsyncSpineClient.operations() == SpineClient.operations()
    sync, asynchronous = SpineClient(), AsyncSpineClient()
    pairs = [(sync, asynchronous)] + [(getattr(sync, ns), getattr(asynchronous, ns))
                                      for ns in NAMESPACES]
    for left, right in pairs:
        names = {n for n in dir(left) if not n.startswith("_") and callable(getattr(left, n))}
        assert names - {"close"} <= set(dir(right)), type(right).__name__
        for name in names - {"operations", "close"}:
            method = getattr(right, name)
            if inspect.isfunction(method) or inspect.ismethod(method):
                assert (inspect.iscoroutinefunction(method)
                        or inspect.isasyncgenfunction(method)), f"{name} is not async"
            assert (inspect.signature(getattr(left, name)).parameters
                    == inspect.signature(method).parameters), name
    sync.close()


@pytest.mark.parametrize(("build", "arguments", "operation_id"), cases(),
                         ids=lambda value: value if isinstance(value, str) else "")
def test_each_call_builder_makes_its_operation_s_request(
        build: Callable[..., Call[Any]], arguments: dict[str, Any], operation_id: str) -> None:
    call = build(**arguments)
    method, template = OPERATIONS[operation_id]
    assert call.method == method
    assert matches(template, call.path), call.path


def test_path_segments_are_quoted_so_step_names_and_keys_survive() -> None:
    assert calls.runs_step("r 1", STEP).path == "/runs/r%201/steps/load%5B0%5D.part"
    assert calls.runs_step("r", "..").path == "/runs/r/steps/%2E%2E"
    assert calls.workflows_get("a/b").path == "/workflows/a%2Fb"
    assert calls.artifact_path("r", "out/2026 data.csv") == "/runs/r/artifacts/out/2026%20data.csv"
    assert calls.log_path("r", STEP, stream=True) == "/runs/r/steps/load%5B0%5D.part/logs/stream"
    assert calls.log_path("r", None) == "/runs/r/logs"


def test_streaming_and_download_helpers_use_their_operation_s_paths() -> None:
    assert matches(OPERATIONS["runs_logs_stream"][1], calls.log_path("r", None, stream=True))
    assert matches(OPERATIONS["runs_step_logs_stream"][1], calls.log_path("r", STEP, stream=True))
    assert matches(OPERATIONS["runs_artifact_download"][1], calls.artifact_path("r", "a/b.csv"))


def test_every_server_operation_has_a_client_method(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    served = server_operations(tmp_path, monkeypatch)
    assert served - set(SpineClient.operations()) == set()


def test_every_client_method_has_its_operation_on_the_server(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    served = server_operations(tmp_path, monkeypatch)
    assert set(SpineClient.operations()) - served == set()


def server_operations(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """The operation ids of the real app's OpenAPI document."""
    app_module = pytest.importorskip("spine_tui.server.app")
    from spine_tui.server.state import ServerConfig, open_state

    (tmp_path / "home").mkdir()
    monkeypatch.setenv("SPINE_HOME", str(tmp_path / "home"))
    state = open_state(ServerConfig.create([], db=tmp_path / "spine.db", watch=False))
    try:
        document = app_module.create_app(state).openapi()
    finally:
        state.close()
    return {op["operationId"] for item in document["paths"].values() for op in item.values()
            if isinstance(op, dict) and "operationId" in op}


BLOCKED = ("engine", "spine_tui", "screens", "textual", "rich")
STANDALONE = f"""
import importlib.abc, json, sys

class Absent(importlib.abc.MetaPathFinder):
    # as on a machine with only httpx and pydantic: these packages cannot be imported
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {BLOCKED!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None

sys.meta_path.insert(0, Absent())
import spine_client
from spine_client import SpineClient, AsyncSpineClient, NotFoundError, RunResult
SpineClient("http://127.0.0.1:1", api_key="k").close()
print(json.dumps(sorted(sys.modules)))
"""


def test_the_sdk_works_where_only_httpx_and_pydantic_are_installed() -> None:
    result = subprocess.run([sys.executable, "-c", STANDALONE], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout)
    assert [m for m in loaded if m.split(".")[0] in BLOCKED] == []
    assert "httpx" in loaded and "pydantic" in loaded


def test_the_package_is_typed() -> None:
    import spine_client

    assert (Path(spine_client.__file__).parent / "py.typed").is_file()
