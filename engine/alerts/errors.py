"""The errors of alerting: a bad channel or policy at definition time, a failed delivery."""

from __future__ import annotations

from ..errors import WorkflowError, WorkflowValidationError


class AlertConfigError(WorkflowValidationError):
    """An alert channel or policy is set up wrongly (raised when the workflow is defined)."""


class AlertDeliveryError(WorkflowError):
    """One attempt to send an alert failed; ``permanent`` ones are not retried (a 4xx answer,
    a malformed secret reference), the others are, with backoff."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent
