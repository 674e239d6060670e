"""The HTTP API's request and response bodies, defined once: ``spine-engine serve`` returns
them and ``SpineClient`` parses them, so the two cannot drift apart.

Times are timezone-aware datetimes (ISO 8601 on the wire, UTC). Models ignore unknown fields
when parsing, so an older client keeps working against a newer server that adds fields.
Names of the spec (§5) are kept: ``CreateWorkflowRequest``, ``WorkflowVersionResponse``,
``RunStatusResponse`` and ``StepStatusSchema``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "ApiKeyScope",
    "ArtifactInfo",
    "CreateScheduleRequest",
    "CreateWorkflowRequest",
    "HealthResponse",
    "LogEntry",
    "LogPage",
    "Problem",
    "RollbackRequest",
    "RunAccepted",
    "RunPage",
    "RunRequest",
    "RunStatusResponse",
    "RunSummary",
    "ScheduleResponse",
    "StepDetail",
    "StepInfo",
    "StepStatusSchema",
    "TriggerResponse",
    "WebhookAccepted",
    "WorkflowDetail",
    "WorkflowSummary",
    "WorkflowVersionDetail",
    "WorkflowVersionResponse",
]

ApiKeyScope = Literal["read", "run", "admin"]
MisfirePolicy = Literal["skip", "run_once", "run_all"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Problem(_Model):
    """An RFC 9457 problem detail: every error the API answers with."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[dict[str, Any]] | None = None
    """Per-field problems of a 422 (``loc``, ``msg``; ``line`` for YAML)."""


class HealthResponse(_Model):
    status: Literal["ok"] = "ok"
    version: str
    store: str
    workflows: int
    load_errors: int
    live_runs: int
    schedules: int
    triggers: int
    triggers_ready: bool = True
    """Whether every file and polling trigger is watching (events before that are missed)."""
    auth: bool
    """Whether API keys are required (once one exists, every request needs one)."""


# ---------------------------------------------------------------------- workflows
class StepInfo(_Model):
    name: str
    type: str
    depends_on: list[str]
    description: str = ""


class WorkflowSummary(_Model):
    name: str
    domain: str = ""
    description: str = ""
    tags: list[str] = Field(default_factory=list)
    schedule: str | None = None
    step_count: int
    source: str | None = None
    version: int | None = None
    """The latest published version, if any."""
    editable: bool = False
    """Whether the API may update or delete it (a YAML file the API manages)."""


class WorkflowDetail(WorkflowSummary):
    steps: list[StepInfo]
    definition: dict[str, Any]
    """The definition as a ``WorkflowSpec`` document (what ``/yaml`` exports)."""


class CreateWorkflowRequest(_Model):
    """Create (or, with PUT, replace) a workflow from YAML or a ``WorkflowSpec``-shaped dict."""

    model_config = ConfigDict(extra="forbid")
    yaml_content: str | None = Field(default=None, max_length=1_000_000)
    definition: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> CreateWorkflowRequest:
        if (self.yaml_content is None) == (self.definition is None):
            raise ValueError("give exactly one of yaml_content (a YAML document) or "
                             "definition (the same document as JSON)")
        return self


class WorkflowVersionResponse(_Model):
    version: int
    created_at: datetime
    created_by: str
    changes: list[str]
    """What changed against the version before (steps added, removed, changed)."""
    checksum: str
    rolled_back_from: int | None = None


class WorkflowVersionDetail(WorkflowVersionResponse):
    definition: dict[str, Any]


class RollbackRequest(_Model):
    model_config = ConfigDict(extra="forbid")
    version: int = Field(ge=1, le=2**31)


# ---------------------------------------------------------------------- runs
class RunRequest(_Model):
    """``POST /workflows/{name}/run``: params override the workflow's defaults; a partition
    marks the run done for that partition (a completed one is skipped, like the CLI)."""

    model_config = ConfigDict(extra="forbid")
    params: dict[str, Any] = Field(default_factory=dict)
    partition: dict[str, Any] | None = None


class RunAccepted(_Model):
    """A run was stored and is starting: poll ``/runs/{run_id}`` or follow its logs."""

    run_id: str
    workflow_name: str
    status: str
    started_by: str


class StepStatusSchema(_Model):
    name: str
    status: str
    attempts: int = 0
    started_at: datetime | None = None
    completed_at: datetime | None = None
    duration_seconds: float | None = None
    error: str | None = None
    error_category: str | None = None
    child_run_id: str | None = None


class RunSummary(_Model):
    run_id: str
    workflow_name: str
    status: str
    """pending, queued, running, paused, waiting, completed, failed, cancelled, skipped,
    interrupted"""
    started_by: str | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    duration_seconds: float | None = None
    partition_key: str | None = None
    parent_run_id: str | None = None
    version: int | None = None
    error: str | None = None


class RunStatusResponse(RunSummary):
    params: dict[str, Any] = Field(default_factory=dict)
    error_step: str | None = None
    current_step: str | None = None
    progress: float = Field(ge=0.0, le=1.0)
    """Finished steps over all steps (1.0 once the run completed)."""
    steps: list[StepStatusSchema] = Field(default_factory=list)


class RunPage(_Model):
    items: list[RunSummary]
    limit: int
    offset: int
    next_offset: int | None = None
    """Where the next page starts; ``None`` on the last page."""


class StepDetail(StepStatusSchema):
    run_id: str
    error_type: str | None = None
    output: Any = None
    """The step's output once it completed (JSON data or an artifact reference)."""
    log_lines: int = 0


class LogEntry(_Model):
    seq: int
    step: str | None = None
    at: datetime
    stream: str
    level: str
    message: str


class LogPage(_Model):
    items: list[LogEntry]
    next_seq: int
    """Ask for ``after_seq=next_seq`` to get the lines after these."""
    finished: bool
    """Whether the run has ended (no more lines will come)."""


class ArtifactInfo(_Model):
    key: str
    step: str | None = None
    size_bytes: int
    content_type: str | None = None
    sha256: str
    created_at: datetime


# ---------------------------------------------------------------------- schedules, triggers
class CreateScheduleRequest(_Model):
    """A cron schedule (five fields, in ``timezone``); ``name`` defaults to the workflow's."""

    model_config = ConfigDict(extra="forbid")
    cron: str = Field(min_length=1, max_length=200)
    timezone: str = "UTC"
    name: str | None = Field(default=None, min_length=1, max_length=200)
    params: dict[str, Any] = Field(default_factory=dict)
    misfire: MisfirePolicy = "run_once"
    misfire_limit: int = Field(default=10, ge=1, le=1000)
    enabled: bool = True


class ScheduleResponse(_Model):
    name: str
    workflow_name: str
    cron: str
    timezone: str
    params: dict[str, Any] = Field(default_factory=dict)
    enabled: bool
    misfire: str
    declared_in: str
    """``workflow`` (declared by the definition) or ``api`` (created through API or CLI)."""
    next_fire_at: datetime | None = None
    last_fire_at: datetime | None = None
    last_run_id: str | None = None
    last_run_status: str | None = None


class TriggerResponse(_Model):
    name: str
    workflow_name: str
    source: str
    """``webhook``, ``file`` or ``poll``."""
    detail: str
    filter: str | None = None
    enabled: bool


class WebhookAccepted(_Model):
    """A signed webhook was accepted: ``run_id`` is the run it started, or ``None`` when the
    trigger's filter did not match the event."""

    trigger: str
    run_id: str | None
    matched: bool
