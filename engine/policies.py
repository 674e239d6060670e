"""Policies that decide what happens on failure, how retries back off and how steps are scheduled."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ErrorCategory(StrEnum):
    """Why a step failed; retry policies, analytics and alerts key on it."""

    TRANSIENT = "TRANSIENT"
    DEPENDENCY = "DEPENDENCY"
    DATA_QUALITY = "DATA_QUALITY"
    TIMEOUT = "TIMEOUT"
    VALIDATION = "VALIDATION"
    CONFIGURATION = "CONFIGURATION"
    INTERNAL = "INTERNAL"
    CANCELLED = "CANCELLED"
    REJECTED = "REJECTED"  # an approval step was rejected by a person
    UNKNOWN = "UNKNOWN"


class ErrorPolicy(StrEnum):
    """What a failed step does to its run: stop it, carry on, or retry per ``RetryPolicy``."""

    STOP = "stop"
    CONTINUE = "continue"
    RETRY = "retry"


class ExecutionMode(StrEnum):
    """SEQUENTIAL runs one step at a time in declaration order; PARALLEL runs the DAG."""

    SEQUENTIAL = "sequential"
    PARALLEL = "parallel"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff for failed attempts.

    ``retryable_categories`` empty means every category is retried.
    """

    max_attempts: int = 3
    initial_delay_seconds: float = 1.0
    backoff_multiplier: float = 2.0
    max_delay_seconds: float = 300.0
    retryable_categories: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"RetryPolicy.max_attempts must be >= 1, got {self.max_attempts}")
        if self.initial_delay_seconds < 0 or self.max_delay_seconds < 0:
            raise ValueError("RetryPolicy delays must be >= 0")
        if self.backoff_multiplier < 1:
            raise ValueError(
                f"RetryPolicy.backoff_multiplier must be >= 1, got {self.backoff_multiplier}"
            )
        object.__setattr__(
            self, "retryable_categories", tuple(_category_name(c) for c in self.retryable_categories)
        )

    def delay_before(self, attempt: int) -> float:
        """Seconds to wait before ``attempt`` (2 is the first retry)."""
        delay = self.initial_delay_seconds * self.backoff_multiplier ** max(attempt - 2, 0)
        return min(delay, self.max_delay_seconds)

    def should_retry(self, attempt: int, category: str | None) -> bool:
        """True when attempt number ``attempt`` failed with ``category`` and another is allowed."""
        if attempt >= self.max_attempts:
            return False
        return not self.retryable_categories or _category_name(category) in self.retryable_categories

    def to_dict(self) -> dict[str, object]:
        return {
            "max_attempts": self.max_attempts,
            "initial_delay_seconds": self.initial_delay_seconds,
            "backoff_multiplier": self.backoff_multiplier,
            "max_delay_seconds": self.max_delay_seconds,
            "retryable_categories": list(self.retryable_categories),
        }


@dataclass(frozen=True, slots=True)
class WorkflowExecutionPolicy:
    """How a run schedules steps.

    ``on_failure`` applies in parallel mode when a step fails under ``ErrorPolicy.STOP``:
    STOP starts nothing new; CONTINUE still runs branches that do not depend on the failed
    step. Either way the run ends ``failed``.
    """

    mode: ExecutionMode = ExecutionMode.SEQUENTIAL
    max_concurrency: int = 4
    on_failure: ErrorPolicy = ErrorPolicy.STOP

    def __post_init__(self) -> None:
        object.__setattr__(self, "mode", ExecutionMode(self.mode))
        object.__setattr__(self, "on_failure", ErrorPolicy(self.on_failure))
        if self.on_failure is ErrorPolicy.RETRY:
            raise ValueError("on_failure must be ErrorPolicy.STOP or ErrorPolicy.CONTINUE; "
                             "retries are set per step with retry_policy")
        if self.max_concurrency < 1:
            raise ValueError(
                f"max_concurrency must be >= 1, got {self.max_concurrency}"
            )


def _category_name(category: object) -> str:
    if isinstance(category, ErrorCategory):
        return category.value
    return str(category or ErrorCategory.UNKNOWN.value).upper()
