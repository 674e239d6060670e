"""Exception types the engine raises, one per kind of mistake, so callers can react precisely."""

from __future__ import annotations

from collections.abc import Sequence


class WorkflowError(Exception):
    """Base class for every error the engine raises on purpose."""


class WorkflowValidationError(WorkflowError):
    """A workflow definition is inconsistent (raised at construction, before anything runs)."""


class DuplicateStepError(WorkflowValidationError):
    """Two steps of one workflow share a name."""


class UnknownDependencyError(WorkflowValidationError):
    """A step's ``depends_on`` names a step the workflow does not have."""


class DependencyCycleError(WorkflowValidationError):
    """The steps' ``depends_on`` edges form a cycle; ``cycle`` lists the steps on it in order."""

    def __init__(self, workflow: str, cycle: Sequence[str]) -> None:
        self.workflow = workflow
        self.cycle = list(cycle)
        path = " -> ".join([*self.cycle, self.cycle[0]])
        super().__init__(
            f"workflow {workflow!r} has a dependency cycle: {path}; "
            "remove one of these depends_on edges"
        )


class WorkflowCycleError(WorkflowError):
    """Sub-workflows call each other in a loop (A -> B -> A)."""

    def __init__(self, chain: Sequence[str]) -> None:
        self.chain = list(chain)
        super().__init__(
            "sub-workflow cycle: " + " -> ".join(self.chain)
            + "; a workflow may not (indirectly) invoke itself"
        )


class UnknownPipelineError(WorkflowError):
    """A ``Step.pipeline`` names a pipeline nobody registered."""

    def __init__(self, names: Sequence[str], workflow: str = "") -> None:
        self.names = list(names)
        where = f" in workflow {workflow!r}" if workflow else ""
        super().__init__(
            f"unknown pipeline(s){where}: {', '.join(self.names)}; "
            "register a handler with engine.register_pipeline(name, handler)"
        )


class UnknownWorkflowError(WorkflowError):
    """A ``Step.workflow`` or lookup names a workflow nobody registered."""

    def __init__(self, names: Sequence[str], workflow: str = "") -> None:
        self.names = list(names)
        where = f" in workflow {workflow!r}" if workflow else ""
        super().__init__(
            f"unknown workflow(s){where}: {', '.join(self.names)}; "
            "register it with engine.register_workflow(workflow)"
        )


class UnknownStepError(WorkflowError):
    """A step name was looked up that the workflow does not contain."""


class StepOutputError(WorkflowError):
    """A handler returned something the engine cannot use as a step output."""


class InvalidReturnTypeError(StepOutputError):
    """A handler returned neither a ``StepResult``, a dict nor ``None``."""


class OutputNotSerializableError(StepOutputError):
    """A step output contains data that is not JSON-serialisable."""


class StepTimeoutError(WorkflowError):
    """A step ran longer than its ``timeout_seconds``."""


class WorkflowSpecError(WorkflowError):
    """A YAML/JSON workflow document is malformed or does not match the schema.

    ``source`` is the file (or ``<string>``) and ``line`` the 1-based line, when known.
    """

    def __init__(self, message: str, source: str = "<string>", line: int | None = None) -> None:
        self.source = source
        self.line = line
        self.detail = message
        where = f"{source}:{line}" if line else source
        super().__init__(f"{where}: {message}")
