"""Call builders of the schedule, trigger and webhook operations."""

from __future__ import annotations

import json
from typing import Any

from spine_client._core import (
    SIGNATURE_HEADER,
    Call,
    operation,
    parse_list,
    parse_model,
    parse_nothing,
    path,
    sign_webhook,
)
from spine_client.models import (
    CreateScheduleRequest,
    RunAccepted,
    ScheduleResponse,
    TriggerResponse,
    WebhookAccepted,
)


def schedule_body(cron: str, name: str | None, timezone: str, params: dict[str, Any] | None,
                  misfire: str, misfire_limit: int, enabled: bool) -> dict[str, Any]:
    """A ``CreateScheduleRequest`` body, validated here so a bad cron field fails early."""
    body = CreateScheduleRequest.model_validate(
        {"cron": cron, "name": name, "timezone": timezone, "params": params or {},
         "misfire": misfire, "misfire_limit": misfire_limit, "enabled": enabled})
    return body.model_dump(mode="json", exclude_none=True)


@operation("schedules_list")
def schedules_list() -> Call[list[ScheduleResponse]]:
    """Every schedule, declared by a workflow or created through the API."""
    return Call("GET", "/schedules", parse_list(ScheduleResponse))


@operation("schedules_create")
def schedules_create(workflow: str, cron: str, *, name: str | None = None,
                     timezone: str = "UTC", params: dict[str, Any] | None = None,
                     misfire: str = "run_once", misfire_limit: int = 10,
                     enabled: bool = True) -> Call[ScheduleResponse]:
    """Create a cron schedule of ``workflow``."""
    return Call("POST", "/schedules", parse_model(ScheduleResponse),
                params={"workflow": workflow},
                json=schedule_body(cron, name, timezone, params, misfire, misfire_limit,
                                    enabled))


def _schedule(method: str, name: str, action: str = "") -> Call[ScheduleResponse]:
    return Call(method, path("/schedules/{}", name) + action, parse_model(ScheduleResponse))


@operation("schedules_get")
def schedules_get(name: str) -> Call[ScheduleResponse]:
    """One schedule with its next and last fire."""
    return _schedule("GET", name)


@operation("schedules_delete")
def schedules_delete(name: str) -> Call[None]:
    """Delete a schedule created through the API."""
    return Call("DELETE", path("/schedules/{}", name), parse_nothing)


@operation("schedules_pause")
def schedules_pause(name: str) -> Call[ScheduleResponse]:
    """Stop a schedule firing until it is resumed."""
    return _schedule("POST", name, "/pause")


@operation("schedules_resume")
def schedules_resume(name: str) -> Call[ScheduleResponse]:
    """Let a paused schedule fire again."""
    return _schedule("POST", name, "/resume")


@operation("schedules_fire")
def schedules_fire(name: str) -> Call[RunAccepted]:
    """Start the schedule's run now, with the schedule's params."""
    return Call("POST", path("/schedules/{}/fire", name), parse_model(RunAccepted))


@operation("triggers_list")
def triggers_list() -> Call[list[TriggerResponse]]:
    """Every event trigger (webhook, file, poll) the server listens to."""
    return Call("GET", "/triggers", parse_list(TriggerResponse))


@operation("webhooks_trigger")
def webhooks_send(name: str, payload: Any, secret: str | bytes | None) -> Call[WebhookAccepted]:
    """POST ``payload`` (JSON data, or bytes sent as they are) to a webhook trigger, signed
    with ``secret`` (``None`` sends it unsigned, which the server refuses)."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers[SIGNATURE_HEADER] = sign_webhook(body, secret)
    return Call("POST", path("/webhooks/trigger/{}", name), parse_model(WebhookAccepted),
                content=body, headers=headers)
