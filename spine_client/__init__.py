"""The Python SDK of ``spine-engine serve``: a sync and an async client with one surface.

::

    from spine_client import SpineClient

    with SpineClient("http://localhost:8000", api_key="...") as client:
        result = client.run_workflow("daily_etl", params={"date": "2026-02-16"}, wait=True)
        print(result.status, result.outputs)
        for line in client.runs.logs(result.run_id):
            print(line.message)

``AsyncSpineClient`` has the same namespaces (``workflows``, ``runs``, ``artifacts``,
``schedules``, ``triggers``, ``webhooks``) with awaitable methods and async iterators.
Needs only httpx and pydantic: nothing of the engine or the workbench is imported.
"""

from __future__ import annotations

from spine_client import models
from spine_client._async import AsyncSpineClient
from spine_client._core import ENDED_STATUSES, sign_webhook, verify_webhook
from spine_client._flows import RunResult
from spine_client._sync import SpineClient
from spine_client.errors import (
    AuthenticationError,
    BadRequestError,
    ChecksumMismatchError,
    ConflictError,
    LogStreamError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RunWaitTimeout,
    ServerError,
    SpineAPIError,
    SpineError,
    UnprocessableEntityError,
)
from spine_client.models import (
    ApiKeyScope,
    ArtifactInfo,
    CreateScheduleRequest,
    CreateWorkflowRequest,
    HealthResponse,
    LogEntry,
    LogPage,
    Problem,
    RollbackRequest,
    RunAccepted,
    RunPage,
    RunRequest,
    RunStatusResponse,
    RunSummary,
    ScheduleResponse,
    StepDetail,
    StepInfo,
    StepStatusSchema,
    TriggerResponse,
    WebhookAccepted,
    WorkflowDetail,
    WorkflowSummary,
    WorkflowVersionDetail,
    WorkflowVersionResponse,
)

__all__ = [
    "ENDED_STATUSES",
    "AsyncSpineClient",
    "AuthenticationError",
    "BadRequestError",
    "ChecksumMismatchError",
    "ConflictError",
    "LogStreamError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "RunResult",
    "RunWaitTimeout",
    "ServerError",
    "SpineAPIError",
    "SpineClient",
    "SpineError",
    "UnprocessableEntityError",
    "models",
    "sign_webhook",
    "verify_webhook",
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
