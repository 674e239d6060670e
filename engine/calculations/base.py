"""What every §8 calculation step shares: it is called like a lambda step, ``(ctx, config)``,
reads its inputs through run references and turns a data problem into a failed step with a
category instead of an exception that escapes the batch."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ..errors import WorkflowError
from ..policies import ErrorCategory
from ..results import StepResult
from ..step_scope import current_step

if TYPE_CHECKING:
    from ..context import WorkflowContext

_REFERENCE = re.compile(r"\$\.(outputs|params|artifacts)(\.[^.\s]+)*")
#: the output formats of a result table: an artifact (parquet, pickle, json) or inline rows
OUTPUT_FORMATS = ("parquet", "pickle", "json", "records")


class CalculationError(WorkflowError):
    """A calculation step that cannot run as declared (unknown metric, bad reference, missing
    column); ``category`` says whether the definition or the data is at fault."""

    def __init__(self, message: str,
                 category: ErrorCategory = ErrorCategory.CONFIGURATION) -> None:
        self.category = category
        super().__init__(message)


class Calculation(ABC):
    """A step body of spec §8: ``Step.calculate``/``aggregate``/``validate`` make it the
    handler of a lambda step, so every runner, executor and playground runs it unchanged."""

    #: what the step is, for its description in the DAG viewer and the catalog
    kind = "calculation"

    def __call__(self, ctx: WorkflowContext, config: Mapping[str, Any]) -> StepResult:
        try:
            return self.run(ctx, config)
        except CalculationError as exc:
            return StepResult.fail(str(exc), category=exc.category)
        except KeyError as exc:  # an unresolvable $.outputs / $.params / $.artifacts reference
            return StepResult.fail(exc.args[0] if exc.args else str(exc),
                                   category=ErrorCategory.DEPENDENCY)

    @abstractmethod
    def run(self, ctx: WorkflowContext, config: Mapping[str, Any]) -> StepResult:
        """Compute the step's output from the run's data."""

    @abstractmethod
    def describe(self) -> str:
        """One line saying what the step computes, from what."""


def step_name(default: str) -> str:
    """The step running this calculation (from the runner's step scope), else ``default``."""
    scope = current_step()
    return scope.step if scope is not None else default


def check_reference(owner: str, field: str, value: Any, *, required: bool = True) -> None:
    """Refuse at construction a reference that is not ``$.outputs…``, ``$.params…`` or
    ``$.artifacts.NAME`` (data can also be handed in directly: a DataFrame or rows)."""
    if value is None:
        if required:
            raise ValueError(f"{owner}: {field} is required, e.g. '$.artifacts.prices'")
        return
    if isinstance(value, str) and not _REFERENCE.fullmatch(value):
        raise ValueError(f"{owner}: {field} {value!r} is not a run reference; use "
                         "'$.artifacts.NAME', '$.outputs.STEP.KEY' or '$.params.KEY'")


def names(owner: str, field: str, values: Iterable[str] | str | None) -> tuple[str, ...]:
    """A tuple of names, refusing a bare string (which would be read letter by letter)."""
    if values is None:
        return ()
    if isinstance(values, str):
        raise TypeError(f"{owner}: {field} must be a list of names, not the string {values!r}")
    out = tuple(values)
    bad = [v for v in out if not isinstance(v, str) or not v]
    if bad:
        raise TypeError(f"{owner}: {field} holds {bad[0]!r}; every entry must be a name")
    return out


def check_output_format(owner: str, output_format: str | None) -> None:
    if output_format is not None and output_format not in OUTPUT_FORMATS:
        raise ValueError(f"{owner}: unknown output_format {output_format!r}; use one of "
                         f"{', '.join(OUTPUT_FORMATS)} (or leave it out: an artifact when the "
                         "run has an artifact store, else inline rows)")
