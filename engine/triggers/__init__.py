"""Event triggers (spec §7): start workflow runs from webhooks, new files and new objects.

``EventTrigger`` declares what starts what; ``WebhookSource``, ``FileSource`` and
``PollingSource`` say where events come from; ``EventRouter`` matches events to triggers and
starts runs through ``engine.start_run`` (``started_by="trigger:NAME"``). Triggers are declared
in workflow files — module-level ``EventTrigger`` objects in ``.py`` files, ``spec.triggers``
in YAML — and discovery lists them on ``Catalog.triggers``.
"""

from .errors import (
    TriggerDefinitionError,
    TriggerError,
    TriggerFilterError,
    TriggerPayloadError,
    TriggerSignatureError,
    TriggerStartError,
    TriggerWorkflowError,
    UnknownTriggerError,
)
from .router import EventRouter, StartRun
from .sources import EventSource, FileSource, PollingSource, WebhookSource
from .trigger import EventTrigger, TriggerFire
from .webhook import WEBHOOK_SIGNATURE_HEADER, sign_webhook

__all__ = [
    "EventRouter",
    "EventSource",
    "EventTrigger",
    "FileSource",
    "PollingSource",
    "StartRun",
    "TriggerDefinitionError",
    "TriggerError",
    "TriggerFilterError",
    "TriggerFire",
    "TriggerPayloadError",
    "TriggerSignatureError",
    "TriggerStartError",
    "TriggerWorkflowError",
    "UnknownTriggerError",
    "WEBHOOK_SIGNATURE_HEADER",
    "WebhookSource",
    "sign_webhook",
]
