"""Webhook requests: the HMAC-SHA256 signature check and the JSON body.

A request is signed as GitHub signs its webhooks: header ``X-Spine-Signature: sha256=<hex>``,
the hex HMAC-SHA256 of the raw body under the trigger's key, compared in constant time
(``hmac.compare_digest``). The key is read from the environment variable the source's
``secret`` names, at each request; when it is unset every request is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
from typing import Any

from .errors import TriggerPayloadError, TriggerSignatureError
from .sources import WebhookSource

WEBHOOK_SIGNATURE_HEADER = "X-Spine-Signature"
_PREFIX = "sha256="
log = logging.getLogger("engine.triggers")


def sign_webhook(body: bytes, key: str | bytes) -> str:
    """The ``X-Spine-Signature`` value for ``body`` under ``key``: what a sender computes."""
    secret = key.encode() if isinstance(key, str) else key
    return _PREFIX + hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify(trigger: str, source: WebhookSource, body: bytes, signature: str | None) -> None:
    """Return if ``signature`` signs ``body`` with the source's key; else raise
    ``TriggerSignatureError`` (no key configured, no header, wrong format, wrong digest)."""
    key = os.environ.get(source.secret, "")
    if not key:
        log.error("webhook trigger %r refused a request: its secret is not configured; set "
                  "the environment variable %s to the HMAC key the sender signs with",
                  trigger, source.secret)
        raise TriggerSignatureError(f"trigger {trigger!r} has no secret configured "
                                    f"(${source.secret} is not set); every request is refused")
    if not signature:
        raise TriggerSignatureError(f"missing {WEBHOOK_SIGNATURE_HEADER} header; sign the raw "
                                    "body with HMAC-SHA256 and send 'sha256=<hex digest>'")
    text = signature.strip().lower()  # hex digits in either case
    if not text.startswith(_PREFIX):
        raise TriggerSignatureError(f"{WEBHOOK_SIGNATURE_HEADER} must be "
                                    "'sha256=<hex digest>'")
    expected = sign_webhook(body, key)
    if not hmac.compare_digest(expected.encode(), text.encode("utf-8", "replace")):
        log.warning("webhook trigger %r refused a request whose signature does not match",
                    trigger)
        raise TriggerSignatureError(f"{WEBHOOK_SIGNATURE_HEADER} does not match the body; sign "
                                    "the exact bytes sent with the trigger's key")


def parse_event(body: bytes) -> dict[str, Any]:
    """The body as a JSON object, or ``TriggerPayloadError`` saying what it is instead."""
    try:
        event = json.loads(body)
    except (ValueError, RecursionError) as exc:  # not JSON, not text, or nested too deep
        raise TriggerPayloadError(f"the body is not valid JSON: {exc}") from None
    if not isinstance(event, dict):
        raise TriggerPayloadError(f"the body must be a JSON object, got "
                                  f"{type(event).__name__}")
    return event
