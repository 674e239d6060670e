"""``/triggers`` and the signed webhook ``POST /webhooks/trigger/{name}``.

A webhook is authenticated by its trigger's HMAC-SHA256 signature (``X-Spine-Signature:
sha256=<hex>`` over the raw body), not by an API key: the sender is another system holding the
trigger's secret. A bad or missing signature is 401 and starts nothing; a body that is not a
JSON object is 400; an event the trigger's filter does not match is accepted with
``matched: false`` and starts nothing.
"""

from __future__ import annotations

from typing import Annotated

from anyio import to_thread
from fastapi import APIRouter, Header, Request

from engine import (
    EventTrigger,
    TriggerFilterError,
    TriggerPayloadError,
    TriggerSignatureError,
    TriggerStartError,
    TriggerWorkflowError,
    UnknownTriggerError,
)
from spine_client.models import TriggerResponse, WebhookAccepted

from ..auth import READ
from ..problems import ApiProblem
from ..state import ServerState

router = APIRouter(tags=["triggers"])
#: a webhook's body is read and JSON-decoded here; the documented body is any JSON object
WEBHOOK_BODY = {"requestBody": {"required": True, "content": {"application/json": {
    "schema": {"type": "object", "additionalProperties": True}}}}}


def _state(request: Request) -> ServerState:
    state: ServerState = request.app.state.spine
    return state


@router.get("/triggers", operation_id="triggers_list", dependencies=[READ])
def list_triggers(request: Request) -> list[TriggerResponse]:
    """The event triggers declared in the served workflow files."""
    state = _state(request)
    found = state.triggers.triggers if state.triggers is not None else \
        state.catalog.current().triggers
    return [_trigger(t) for t in found]


@router.post("/webhooks/trigger/{name}", operation_id="webhooks_trigger", status_code=202,
             openapi_extra=WEBHOOK_BODY)
async def webhook(request: Request, name: str,
                  x_spine_signature: Annotated[str | None, Header()] = None) -> WebhookAccepted:
    """Start the webhook trigger ``name``'s workflow with params mapped from the JSON body."""
    state = _state(request)
    if state.triggers is None or not state.accepting:
        raise ApiProblem(503, "the server is not routing triggers now (starting up or "
                              "shutting down); try again", headers={"Retry-After": "5"})
    body = await request.body()
    try:
        fire = await to_thread.run_sync(state.triggers.handle_webhook, name, body,
                                        x_spine_signature)
    except UnknownTriggerError as exc:
        raise ApiProblem(404, str(exc)) from None
    except TriggerSignatureError as exc:
        raise ApiProblem(401, str(exc)) from None
    except TriggerPayloadError as exc:
        raise ApiProblem(400, str(exc)) from None
    except (TriggerFilterError, TriggerWorkflowError) as exc:
        raise ApiProblem(422 if isinstance(exc, TriggerFilterError) else 409, str(exc)) from None
    except TriggerStartError as exc:
        raise ApiProblem(409, str(exc)) from None
    if fire is None:
        return WebhookAccepted(trigger=name, run_id=None, matched=False)
    return WebhookAccepted(trigger=fire.trigger, run_id=fire.run_id, matched=True)


def _trigger(trigger: EventTrigger) -> TriggerResponse:
    return TriggerResponse(name=trigger.name, workflow_name=trigger.workflow_name,
                           source=trigger.kind, detail=trigger.event_source.detail,
                           filter=trigger.filter, enabled=trigger.enabled)
