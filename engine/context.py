"""``WorkflowContext``: what a running step can see (params, earlier outputs, run identity)
and, during a run, the adaptive changes it may request (spec section 4)."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, NoReturn

from .adaptive.changes import AdaptiveChangeError, ChangeKind, Request
from .artifacts.refs import ArtifactRef
from .secrets import resolve_secret as _resolve_secret

if TYPE_CHECKING:
    from .adaptive.control import AdaptiveControl
    from .results import StepRun
    from .steps import Step

_MISSING = object()


def _as_ref(value: Any) -> ArtifactRef | None:
    """``value`` as an artifact reference when it is one (or its stored dict form)."""
    if isinstance(value, ArtifactRef):
        return value
    if ArtifactRef.is_ref_dict(value):
        try:
            return ArtifactRef.from_dict(value)
        except ValueError:
            return None
    return None


class ContextReads:
    """The read methods handlers use on a context (``params``, ``outputs`` and the flat
    ``latest`` view); shared by the live ``WorkflowContext`` and the playground's
    read-only view so both answer the same way."""

    __slots__ = ()

    if TYPE_CHECKING:  # provided by the concrete context
        @property
        def params(self) -> Mapping[str, Any]: ...

        @property
        def outputs(self) -> Mapping[str, Any]: ...

        @property
        def latest(self) -> Mapping[str, Any]: ...

    def get_param(self, key: str, default: Any = None) -> Any:
        return self.params.get(key, default)

    def get(self, key: str, default: Any = None) -> Any:
        """A value by name: the run param ``key``, else the latest earlier output key ``key``
        (as spec R3's ``skip_if=lambda ctx: ctx.get("skip_validation")`` reads it)."""
        if key in self.params:
            return self.params[key]
        return self.latest.get(key, default)

    def get_output(self, step: str, key: str | None = None, default: Any = None) -> Any:
        """The output of ``step`` (or one ``key`` of it); ``default`` if absent."""
        output = self.outputs.get(step, _MISSING)
        if output is _MISSING:
            return default
        if key is None:
            return output
        if isinstance(output, Mapping):
            return output.get(key, default)
        return getattr(output, key, default)

    def has_output(self, step: str) -> bool:
        return step in self.outputs

    @property
    def artifacts(self) -> dict[str, ArtifactRef]:
        """The artifact references earlier steps handed out, by name (what ``$.artifacts.NAME``
        reads): an output key holding a ref is named by its key; a step whose output is a
        ref, holds one under ``artifact`` or holds exactly one is also named by the step.
        Later outputs win, as in ``latest``; refs read back from the store as dicts count."""
        found: dict[str, ArtifactRef] = {}
        for step, output in self.outputs.items():
            own = _as_ref(output)
            if own is None and isinstance(output, Mapping):
                held = {key: ref for key, value in output.items()
                        if (ref := _as_ref(value)) is not None}
                found.update(held)
                own = held.get("artifact") or (next(iter(held.values())) if len(held) == 1
                                                 else None)
            if own is not None:
                found[step] = own
        return found

    def artifact(self, name: str) -> ArtifactRef:
        """The artifact reference named ``name`` (see ``artifacts``), or a ``KeyError`` naming
        the ones there are."""
        found = self.artifacts
        if name not in found:
            known = ", ".join(sorted(found)) or "none yet"
            raise KeyError(f"reference '$.artifacts.{name}': no earlier step handed out an "
                           f"artifact named {name!r} (artifacts so far: {known}); a step "
                           "publishes one by returning an ArtifactRef, alone or under a key")
        return found[name]

    def resolve_secret(self, name: str, default: Any = _MISSING) -> Any:
        """The secret ``name`` (or a ``secret:<backend>:<NAME>`` reference) from the process's
        ``SecretsResolver`` (env, then mounted files, unless ``SecretsResolver.set_default``
        chose others), resolved now and masked in everything the run stores; ``default`` when
        no backend has it, else ``MissingSecretError``."""
        if default is _MISSING:
            return _resolve_secret(name)
        return _resolve_secret(name, default)


class WorkflowContext(ContextReads):
    """Run-scoped state handed to every handler.

    ``outputs`` maps step name -> output in completion order. ``latest`` is the flat
    "latest wins" view of every dict output, used to fill plain functions' arguments.
    """

    __slots__ = ("run_id", "workflow_name", "params", "outputs", "latest", "call_chain",
                 "artifact_store", "cancel_event", "started_by", "_adaptive", "__weakref__")

    def __init__(self, run_id: str, workflow_name: str = "",
                 params: Mapping[str, Any] | None = None,
                 outputs: Mapping[str, Any] | None = None,
                 call_chain: tuple[str, ...] = ()) -> None:
        self.run_id = run_id
        self.workflow_name = workflow_name
        self.params: dict[str, Any] = dict(params or {})
        self.outputs: dict[str, Any] = {}
        self.latest: dict[str, Any] = {}
        self.call_chain = call_chain or ((workflow_name,) if workflow_name else ())
        self.artifact_store: Any = None
        #: the run's cancel signal (set by the runner); waited sub-workflows and map items share it
        self.cancel_event: threading.Event | None = None
        #: who started the run (``cli``, ``tui``, ``api``, ``script``, ``schedule:NAME``, ...);
        #: its sub-workflow runs inherit it
        self.started_by = "script"
        #: set by whatever runs the steps (runner, playground); None: no adaptive changes
        self._adaptive: AdaptiveControl | None = None
        for name, value in (outputs or {}).items():
            self.set_output(name, value)

    def set_output(self, step: str, output: Any) -> None:
        """Record a step's output (the runner calls this; handlers normally do not)."""
        outputs = self.outputs
        if step in outputs:
            del outputs[step]  # re-insert so iteration order stays completion order
        outputs[step] = output
        if type(output) is dict or isinstance(output, Mapping):  # exact dict: skip the ABC check
            self.latest.update(output)

    def resolve(self, value: Any) -> Any:
        """Resolve ``$.outputs.step[.key...]``, ``$.params.key`` and ``$.artifacts.NAME``
        (an ``ArtifactRef``, see ``artifacts``) references; other values pass."""
        if not (isinstance(value, str) and value.startswith("$.")):
            return value
        parts = value[2:].split(".")
        root, rest = parts[0], parts[1:]
        if root == "artifacts":
            if len(rest) > 1 or rest == [""]:
                raise KeyError(f"reference {value!r}: an artifact reference is "
                               "'$.artifacts.NAME' (NAME a step or output key)")
            return self.artifact(rest[0]) if rest else self.artifacts
        if root == "outputs":
            if not rest:
                return dict(self.outputs)
            current: Any = self.outputs.get(rest[0], _MISSING)
            rest = rest[1:]
        elif root == "params":
            current = self.params
        else:
            raise KeyError(f"reference {value!r} must start with $.outputs, $.params or "
                           "$.artifacts")
        for part in rest:
            if current is _MISSING:
                break
            if isinstance(current, Mapping):
                current = current.get(part, _MISSING)
            elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
                current = current[int(part)]
            else:
                current = _MISSING
        if current is _MISSING:
            raise KeyError(f"reference {value!r} does not resolve to a value in this run")
        return current

    # ------------------------------------------------------------------ adaptive (spec 4)
    def skip_steps(self, step_names: Iterable[str]) -> None:
        """Skip steps that have not started; they end ``skipped`` and do not block their
        dependents (applied when the asking step finishes, like every change below)."""
        if isinstance(step_names, str):
            raise AdaptiveChangeError(f"skip_steps needs a list of step names, not the string "
                                      f"{step_names!r}")
        self._control().request(Request(ChangeKind.SKIP, names=tuple(step_names)))

    def insert_step_before(self, before: str, step: Step) -> None:
        """Insert ``step`` so ``before`` waits for it; without ``depends_on`` the new step
        takes over ``before``'s dependencies."""
        self._control().request(Request(ChangeKind.INSERT_BEFORE, target=before, step=step))

    def insert_step_after(self, after: str, step: Step) -> None:
        """Insert ``step`` after ``after``: it depends on ``after`` (plus its own
        ``depends_on``), and ``after``'s dependents that have not started wait for it instead."""
        self._control().request(Request(ChangeKind.INSERT_AFTER, target=after, step=step))

    def replace_step(self, name: str, step: Step) -> None:
        """Run ``step`` in place of ``name`` (not started, or failed ahead of ``retry_step``);
        without ``depends_on`` it keeps ``name``'s dependencies."""
        self._control().request(Request(ChangeKind.REPLACE, target=name, step=step))

    def retry_step(self, name: str, with_params: Mapping[str, Any] | None = None) -> None:
        """Run the finished step ``name`` again (its dependents that already ran are not);
        ``with_params`` are merged into its config for this and later runs of it."""
        self._control().request(Request(ChangeKind.RETRY, target=name, params=with_params))

    def spawn_workflow(self, name: str, workflow_name: str,
                       params: Mapping[str, Any] | None = None) -> str:
        """Start the registered ``workflow_name`` now as a detached child run (recorded like
        the parent when the parent is tracked); returns the child's run id."""
        return self._control().spawn(self, name, workflow_name, params)

    def continue_as_new(self, params: Mapping[str, Any] | None = None,
                        preserve_artifacts: bool = False) -> NoReturn:
        """End this step and the run (completed; steps not started are skipped) and start a
        fresh run of the workflow with ``params`` (which replace this run's, as in Temporal).
        With ``preserve_artifacts`` the new run starts with this run's outputs that hold
        artifact refs. Does not return: the step ends here."""
        self._control().continue_as_new(params, preserve_artifacts)

    def get_failed_step(self) -> StepRun | None:
        """The record (``name``, ``error``, ``category``) of the most recent failed step."""
        return self._control().failed_step()

    def _control(self) -> AdaptiveControl:
        control = self._adaptive
        if control is None:
            raise AdaptiveChangeError(
                "adaptive changes need a running workflow: this context is not attached to "
                "a run (map items and hand-made contexts cannot change the workflow)")
        return control

    def snapshot(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "params": dict(self.params), "outputs": dict(self.outputs)}

    def __repr__(self) -> str:
        return (f"WorkflowContext(run_id={self.run_id!r}, workflow={self.workflow_name!r}, "
                f"params={list(self.params)}, outputs={list(self.outputs)})")
