"""The errors of event triggers, one per thing that can go wrong, so the HTTP layer can map each
to its status (see ``EventRouter.handle_webhook``) and the CLI to a clear message."""

from __future__ import annotations

from ..errors import WorkflowError


class TriggerError(WorkflowError):
    """Base class of every trigger error."""


class TriggerDefinitionError(TriggerError, ValueError):
    """A trigger is declared wrongly (bad name, JSONPath, filter or source); raised when the
    trigger is constructed, so a workflow file with a bad trigger fails when it loads."""


class UnknownTriggerError(TriggerError, LookupError):
    """No trigger of that name is registered or declared in the catalog (HTTP 404)."""


class TriggerSignatureError(TriggerError):
    """A webhook's ``X-Spine-Signature`` is missing, malformed or wrong, or its secret is not
    configured: the request is refused and nothing starts (HTTP 401)."""


class TriggerPayloadError(TriggerError, ValueError):
    """A webhook body is not a JSON object (HTTP 400)."""


class TriggerWorkflowError(TriggerError, LookupError):
    """A trigger names a workflow the current catalog does not have (HTTP 409: the trigger
    exists, its target does not)."""


class TriggerFilterError(TriggerError):
    """A filter failed while evaluating an event (``1 / 0``, mixed types, a non-boolean
    result); the event does not fire."""


class TriggerStartError(TriggerError):
    """Starting the trigger's run failed (the store refused it, the workflow is invalid...)."""
