"""Tracked runs: a runner whose runs are persisted in the run store and obey commands from
any process. ``runner`` is ``TrackedWorkflowRunner``; ``admission`` its concurrency slots;
``signals`` the run side of pause, resume, cancel and approvals."""

from .runner import TrackedWorkflowRunner

__all__ = ["TrackedWorkflowRunner"]
