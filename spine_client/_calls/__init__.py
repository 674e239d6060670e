"""Every API operation as a call builder: arguments in, a ``Call`` out, no I/O.

Each builder declares its operation id (the server's OpenAPI ``operationId``); the sync and
async namespaces bind these same builders, so a parameter is named, validated and encoded
once. Request bodies go through the shared models, so a bad argument fails here, before
any request is sent.
"""

from __future__ import annotations

from spine_client._calls.runs import (
    artifact_path,
    log_path,
    runs_artifacts,
    runs_cancel,
    runs_get,
    runs_list,
    runs_log_page,
    runs_outputs,
    runs_pause,
    runs_resume,
    runs_retry,
    runs_step,
    runs_step_replay,
    runs_steps,
)
from spine_client._calls.schedules import (
    schedules_create,
    schedules_delete,
    schedules_fire,
    schedules_get,
    schedules_list,
    schedules_pause,
    schedules_resume,
    triggers_list,
    webhooks_send,
)
from spine_client._calls.times import (
    Since,
)
from spine_client._calls.workflows import (
    health,
    workflows_create,
    workflows_delete,
    workflows_get,
    workflows_list,
    workflows_rollback,
    workflows_run,
    workflows_runs,
    workflows_schedule,
    workflows_unschedule,
    workflows_update,
    workflows_version,
    workflows_versions,
    workflows_yaml,
)

__all__ = [
    "Since",
    "artifact_path",
    "health",
    "log_path",
    "runs_artifacts",
    "runs_cancel",
    "runs_get",
    "runs_list",
    "runs_log_page",
    "runs_outputs",
    "runs_pause",
    "runs_resume",
    "runs_retry",
    "runs_step",
    "runs_step_replay",
    "runs_steps",
    "schedules_create",
    "schedules_delete",
    "schedules_fire",
    "schedules_get",
    "schedules_list",
    "schedules_pause",
    "schedules_resume",
    "triggers_list",
    "webhooks_send",
    "workflows_create",
    "workflows_delete",
    "workflows_get",
    "workflows_list",
    "workflows_rollback",
    "workflows_run",
    "workflows_runs",
    "workflows_schedule",
    "workflows_unschedule",
    "workflows_update",
    "workflows_version",
    "workflows_versions",
    "workflows_yaml",
]
