"""Call builders of the health check and the workflow operations."""

from __future__ import annotations

from typing import Any

from spine_client._calls.schedules import schedule_body
from spine_client._calls.times import Since
from spine_client._core import (
    Call,
    operation,
    parse_list,
    parse_model,
    parse_nothing,
    parse_text,
    path,
    query,
)
from spine_client.models import (
    CreateWorkflowRequest,
    HealthResponse,
    RollbackRequest,
    RunAccepted,
    RunPage,
    RunRequest,
    ScheduleResponse,
    WorkflowDetail,
    WorkflowSummary,
    WorkflowVersionDetail,
    WorkflowVersionResponse,
)


@operation("health")
def health() -> Call[HealthResponse]:
    """The server's version, store and counts; answers without an API key."""
    return Call("GET", "/health", parse_model(HealthResponse))


# ---------------------------------------------------------------------- workflows
@operation("workflows_list")
def workflows_list() -> Call[list[WorkflowSummary]]:
    """Every workflow the server knows."""
    return Call("GET", "/workflows", parse_list(WorkflowSummary))


@operation("workflows_create")
def workflows_create(yaml_content: str | None = None, *,
                     definition: dict[str, Any] | None = None) -> Call[WorkflowDetail]:
    """Create a workflow from a YAML document or the same document as a dict."""
    body = CreateWorkflowRequest(yaml_content=yaml_content, definition=definition)
    return Call("POST", "/workflows", parse_model(WorkflowDetail),
                json=body.model_dump(mode="json", exclude_none=True))


@operation("workflows_get")
def workflows_get(name: str) -> Call[WorkflowDetail]:
    """A workflow with its steps and definition."""
    return Call("GET", path("/workflows/{}", name), parse_model(WorkflowDetail))


@operation("workflows_update")
def workflows_update(name: str, yaml_content: str | None = None, *,
                     definition: dict[str, Any] | None = None) -> Call[WorkflowDetail]:
    """Replace a workflow the API manages (a new version is recorded)."""
    body = CreateWorkflowRequest(yaml_content=yaml_content, definition=definition)
    return Call("PUT", path("/workflows/{}", name), parse_model(WorkflowDetail),
                json=body.model_dump(mode="json", exclude_none=True))


@operation("workflows_delete")
def workflows_delete(name: str) -> Call[None]:
    """Delete a workflow the API manages."""
    return Call("DELETE", path("/workflows/{}", name), parse_nothing)


@operation("workflows_yaml")
def workflows_yaml(name: str) -> Call[str]:
    """The workflow exported as a YAML document."""
    return Call("GET", path("/workflows/{}/yaml", name), parse_text,
                headers={"Accept": "application/yaml"})


@operation("workflows_versions")
def workflows_versions(name: str) -> Call[list[WorkflowVersionResponse]]:
    """The workflow's published versions, with what changed in each."""
    return Call("GET", path("/workflows/{}/versions", name), parse_list(WorkflowVersionResponse))


@operation("workflows_version")
def workflows_version(name: str, version: int) -> Call[WorkflowVersionDetail]:
    """One published version with its full definition."""
    return Call("GET", path("/workflows/{}/versions/{}", name, version),
                parse_model(WorkflowVersionDetail))


@operation("workflows_rollback")
def workflows_rollback(name: str, version: int) -> Call[WorkflowVersionResponse]:
    """Publish an earlier version again as the newest one."""
    return Call("POST", path("/workflows/{}/rollback", name),
                parse_model(WorkflowVersionResponse),
                json=RollbackRequest(version=version).model_dump(mode="json"))


@operation("workflows_run")
def workflows_run(name: str, params: dict[str, Any] | None = None, *,
                  partition: dict[str, Any] | None = None) -> Call[RunAccepted]:
    """Start a run; it is stored before this returns, so its id is valid at once."""
    body = RunRequest(params=params or {}, partition=partition)
    return Call("POST", path("/workflows/{}/run", name), parse_model(RunAccepted),
                json=body.model_dump(mode="json"))


@operation("workflows_runs")
def workflows_runs(name: str, *, status: str | None = None, since: Since = None,
                   until: Since = None, limit: int = 50, offset: int = 0) -> Call[RunPage]:
    """One page of the workflow's runs, newest first."""
    return Call("GET", path("/workflows/{}/runs", name), parse_model(RunPage),
                params=query(status=status, since=since, until=until, limit=limit,
                             offset=offset))


@operation("workflows_schedule_create")
def workflows_schedule(name: str, cron: str, *, timezone: str = "UTC",
                       params: dict[str, Any] | None = None, misfire: str = "run_once",
                       misfire_limit: int = 10, enabled: bool = True,
                       schedule_name: str | None = None) -> Call[ScheduleResponse]:
    """Run the workflow on a cron schedule (named after the workflow unless told)."""
    return Call("POST", path("/workflows/{}/schedule", name), parse_model(ScheduleResponse),
                json=schedule_body(cron, schedule_name, timezone, params, misfire,
                                    misfire_limit, enabled))


@operation("workflows_schedule_delete")
def workflows_unschedule(name: str) -> Call[None]:
    """Remove the workflow's API-created schedule."""
    return Call("DELETE", path("/workflows/{}/schedule", name), parse_nothing)
