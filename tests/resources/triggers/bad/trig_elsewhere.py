"""Trigger fixture: a trigger for a workflow this file does not define (a load error)."""

from __future__ import annotations

from engine import EventTrigger, Step, WebhookSource, Workflow

local = Workflow("trig.local", steps=[Step.wait("nap", 0)])

stray = EventTrigger(name="trig.stray", event_source=WebhookSource(secret="TRIG_TEST_SECRET"),
                     workflow_name="trig.ingest")
