"""``RuntimeAdapterRouter``: picks the adapter a job runs on and fails over (spec §12d).

Adapters are tried by ``priority`` (lower first; ties in registration order). One that is
unavailable (no Docker engine answering) or cannot run the spec (an image it does not stand
in for, sidecars it cannot run) is skipped with its reason; one whose runtime goes away or
cannot get the image during ``submit`` hands the job to the next. When nothing is left the
error names every adapter's reason, or, when a single adapter was up, its specific error.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from .adapter import adapter_name, unavailable_reason
from .errors import ImageUnavailableError, JobSpecError, NoAdapterError, RuntimeUnavailableError
from .spec import ContainerJobSpec
from .validator import SpecValidator, raise_first

log = logging.getLogger("engine.jobs")

DEFAULT_PRIORITY = 100
_FAILOVER_ERRORS = (RuntimeUnavailableError, ImageUnavailableError)


@dataclass(frozen=True, slots=True)
class Registration:
    """One adapter in the router, with its priority and a name unique in this router."""

    adapter: Any
    priority: int
    order: int
    name: str


class RuntimeAdapterRouter:
    """The adapters jobs may run on, in the order they are tried."""

    def __init__(self, validator: SpecValidator | None = None) -> None:
        self.validator = validator or SpecValidator()
        self._entries: list[Registration] = []
        self._order = 0

    def register(self, adapter: Any, priority: int = DEFAULT_PRIORITY) -> None:
        """Add ``adapter`` (lower ``priority`` is tried first); registering it again only
        changes its priority."""
        if isinstance(priority, bool) or not isinstance(priority, int):
            raise TypeError(f"priority must be an integer, got {priority!r}")
        for attr in ("submit", "status", "cancel", "cleanup"):
            if not callable(getattr(adapter, attr, None)):
                raise TypeError(f"{type(adapter).__name__} is not a runtime adapter: it has "
                                f"no {attr}()")
        existing = next((e for e in self._entries if e.adapter is adapter), None)
        if existing is not None:
            self._entries.remove(existing)
            name, order = existing.name, existing.order
        else:
            base = adapter_name(adapter)
            taken = {e.name for e in self._entries}
            name = base if base not in taken else next(
                f"{base}#{n}" for n in range(2, len(taken) + 3) if f"{base}#{n}" not in taken)
            self._order += 1
            order = self._order
        self._entries.append(Registration(adapter, priority, order, name))
        self._entries.sort(key=lambda e: (e.priority, e.order))

    def __repr__(self) -> str:
        order = ", ".join(f"{e.name} (priority {e.priority})" for e in self._entries)
        return f"RuntimeAdapterRouter([{order}])"

    def unregister(self, adapter: Any) -> None:
        self._entries = [e for e in self._entries if e.adapter is not adapter]

    @property
    def registrations(self) -> list[Registration]:
        return list(self._entries)

    @property
    def adapters(self) -> list[Any]:
        """The adapters in the order they are tried."""
        return [e.adapter for e in self._entries]

    async def candidates(self, spec: ContainerJobSpec,
                         ) -> tuple[list[Registration], dict[str, str], dict[str, list[JobSpecError]]]:
        """The registrations that can take ``spec`` now, in order, and why each other cannot
        (``reasons``; spec problems also kept as errors by adapter name)."""
        raise_first(self.validator.validate(spec))
        usable: list[Registration] = []
        reasons: dict[str, str] = {}
        problems: dict[str, list[JobSpecError]] = {}
        for entry in self._entries:
            if spec.runtime is not None and adapter_name(entry.adapter) != spec.runtime:
                reasons[entry.name] = f"the job asks for runtime {spec.runtime!r}"
                continue
            down = await unavailable_reason(entry.adapter)
            if down is not None:
                reasons[entry.name] = f"unavailable: {down}"
                continue
            check = getattr(entry.adapter, "check", None)
            found = list(check(spec)) if callable(check) else []
            if found:
                problems[entry.name] = found
                reasons[entry.name] = "; ".join(str(p) for p in found)
                continue
            usable.append(entry)
        return usable, reasons, problems

    async def route(self, spec: ContainerJobSpec) -> Any:
        """The adapter ``spec`` would run on now."""
        usable, reasons, problems = await self.candidates(spec)
        if not usable:
            self._refuse(spec, reasons, problems)
        return usable[0].adapter

    async def submit(self, spec: ContainerJobSpec) -> tuple[Any, str]:
        """Submit ``spec`` to the first adapter that takes it: ``(adapter, job id)``."""
        usable, reasons, problems = await self.candidates(spec)
        for entry in usable:
            try:
                return entry.adapter, await entry.adapter.submit(spec)
            except _FAILOVER_ERRORS as exc:
                reasons[entry.name] = str(exc)
                log.info("job %r: %s failed over: %s", spec.name, entry.name, exc)
        self._refuse(spec, reasons, problems)
        raise AssertionError("unreachable")

    def _refuse(self, spec: ContainerJobSpec, reasons: dict[str, str],
                problems: dict[str, list[JobSpecError]]) -> None:
        available = [e.name for e in self._entries
                     if not reasons.get(e.name, "").startswith("unavailable:")]
        if len(problems) == 1 and list(problems) == available:
            raise_first(next(iter(problems.values())))  # the one adapter up: its own error
        raise NoAdapterError(spec.name, reasons)

