"""``HotReloadAdapter`` (spec A5): an adapter rebuilt from its config whenever that config
changes — through ``update_config``, an edited ``config_path`` file, or an edited module
of a ``"module:qualname"`` factory, which is re-imported — always between jobs: a job
keeps the adapter that started it, the next submission gets the new one.

Besides handing the whole config to the factory, it applies two keys to every job it
submits: ``env`` (variables under the job's own, which win) and ``timeout`` (seconds, for
jobs that set no ``timeout_seconds``). A ``config_path`` file that exists wins over
``initial_config``; one that does not parse keeps the last good config, and ``last_error``
says what was wrong.
"""

from __future__ import annotations

import importlib
import json
import logging
import sys
import tomllib
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..refs import import_ref, is_ref
from .adapter import BaseRuntimeAdapter, adapter_name, unavailable_reason
from .errors import JobSpecError, UnknownJobError
from .spec import ContainerJobSpec
from .status import JobLogLine, JobStatus, RuntimeCapabilities

log = logging.getLogger("engine.jobs")

Factory = Callable[[dict[str, Any]], Any]


def _stamp(path: Path | None) -> tuple[int, int] | None:
    if path is None:
        return None
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


def read_config(path: Path) -> dict[str, Any]:
    """A config file as a dict: JSON, YAML (``.yaml``/``.yml``) or TOML by its suffix; a file
    that does not parse raises ``ValueError``."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".toml":
        data: Any = tomllib.loads(text)
    elif path.suffix in (".yaml", ".yml"):
        import yaml  # only configs written in YAML pay for it

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ValueError(str(exc)) from exc
    else:
        data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError(f"the config must be a mapping, got {type(data).__name__}")
    return data


class HotReloadAdapter(BaseRuntimeAdapter):
    """Wraps the adapter ``adapter_factory(config)`` builds and rebuilds it on change."""

    def __init__(self, initial_config: Mapping[str, Any] | None = None,
                 adapter_factory: Factory | str | None = None, *,
                 config_path: str | Path | None = None) -> None:
        if adapter_factory is None:
            raise TypeError("HotReloadAdapter needs an adapter_factory (a callable taking the "
                            "config, or a 'module:qualname' reference to one)")
        if isinstance(adapter_factory, str) and not is_ref(adapter_factory):
            raise ValueError(f"adapter_factory {adapter_factory!r} is not a 'module:qualname' "
                             "reference")
        self._factory_ref = adapter_factory if isinstance(adapter_factory, str) else None
        self._factory: Factory = (import_ref(adapter_factory)
                                  if isinstance(adapter_factory, str) else adapter_factory)
        self.config_path = None if config_path is None else Path(config_path)
        self._config_stamp = _stamp(self.config_path)
        config = dict(initial_config or {})
        if self.config_path is not None and self._config_stamp is not None:
            config = read_config(self.config_path)
        self._module_stamp = _stamp(self._module_file())
        self._config = config
        self._adapter = self._factory(dict(config))
        self._owners: dict[str, Any] = {}
        self.reload_count = 0
        self.last_error: str | None = None

    def __repr__(self) -> str:
        return f"HotReloadAdapter({self._adapter!r}, reloads={self.reload_count})"

    # ------------------------------------------------------------------ reloading
    @property
    def current_config(self) -> dict[str, Any]:
        """A copy of the config the current adapter was built from."""
        return json.loads(json.dumps(self._config, default=str))

    @property
    def adapter(self) -> Any:
        """The adapter the next job goes to."""
        return self._adapter

    def update_config(self, config: Mapping[str, Any]) -> bool:
        """Rebuild the adapter from ``config``; False (nothing rebuilt) when it is unchanged."""
        new = dict(config)
        if new == self._config:
            return False
        self._rebuild(new)
        return True

    def _rebuild(self, config: dict[str, Any]) -> None:
        self._adapter = self._factory(dict(config))
        self._config = config
        self.reload_count += 1
        log.info("hot reload #%d: %s", self.reload_count, adapter_name(self._adapter))

    def _module_file(self) -> Path | None:
        if self._factory_ref is None:
            return None
        module = sys.modules.get(self._factory_ref.partition(":")[0])
        path = getattr(module, "__file__", None)
        return Path(path) if path else None

    def check_for_changes(self) -> bool:
        """Reload when the config file or the factory's module changed on disk; True if the
        adapter was rebuilt. A broken file keeps the last good version (see ``last_error``)."""
        module_stamp = _stamp(self._module_file())
        if self._factory_ref is not None and module_stamp != self._module_stamp:
            self._module_stamp = module_stamp
            try:
                module = sys.modules[self._factory_ref.partition(":")[0]]
                importlib.reload(module)
                self._factory = import_ref(self._factory_ref)
            except Exception as exc:  # the user's module does not import: keep the old one
                self.last_error = f"reloading {self._factory_ref}: {type(exc).__name__}: {exc}"
                log.warning("hot reload kept the last good factory: %s", self.last_error)
            else:
                self.last_error = None
                self._rebuild(dict(self._config))
                return True
        config_stamp = _stamp(self.config_path)
        if self.config_path is None or config_stamp == self._config_stamp:
            return False
        self._config_stamp = config_stamp
        try:
            config = read_config(self.config_path)
        except (OSError, ValueError) as exc:
            self.last_error = f"{self.config_path}: {exc}"
            log.warning("hot reload kept the last good config: %s", self.last_error)
            return False
        self.last_error = None
        return self.update_config(config)

    # ------------------------------------------------------------------ the adapter
    @property
    def runtime_name(self) -> str:  # type: ignore[override]
        return adapter_name(self._adapter)

    @property
    def capabilities(self) -> RuntimeCapabilities:
        caps: RuntimeCapabilities = self._adapter.capabilities
        return caps

    async def unavailable_reason(self) -> str | None:
        return await unavailable_reason(self._adapter)

    def _overlay(self, spec: ContainerJobSpec) -> ContainerJobSpec:
        env = self._config.get("env") or {}
        timeout = self._config.get("timeout", self._config.get("timeout_seconds"))
        changes: dict[str, Any] = {}
        if isinstance(env, Mapping) and env:
            changes["env"] = {**{str(k): str(v) for k, v in env.items()}, **spec.env}
        if spec.timeout_seconds is None and timeout is not None:
            changes["timeout_seconds"] = timeout
        return replace(spec, **changes) if changes else spec

    def check(self, spec: ContainerJobSpec) -> list[JobSpecError]:
        check = getattr(self._adapter, "check", None)
        return list(check(self._overlay(spec))) if callable(check) else []

    async def submit(self, spec: ContainerJobSpec) -> str:
        """Pick up any change, then submit to the current adapter."""
        self.check_for_changes()
        adapter = self._adapter
        job_id: str = await adapter.submit(self._overlay(spec))
        self._owners[job_id] = adapter
        return job_id

    def _owner(self, job_id: str) -> Any:
        try:
            return self._owners[job_id]
        except KeyError:
            raise UnknownJobError(job_id, "hot-reload") from None

    async def status(self, job_id: str) -> JobStatus:
        status: JobStatus = await self._owner(job_id).status(job_id)
        return status

    async def log_records(self, job_id: str, *, follow: bool = True,
                          ) -> AsyncIterator[JobLogLine]:
        owner = self._owner(job_id)
        records = getattr(owner, "log_records", None)
        if records is None:
            async for text in owner.logs(job_id, follow=follow):
                yield JobLogLine("stdout", text)
            return
        async for record in records(job_id, follow=follow):
            yield record

    async def wait(self, job_id: str, timeout: float | None = None) -> JobStatus:
        owner = self._owner(job_id)
        if hasattr(owner, "wait"):
            status: JobStatus = await owner.wait(job_id, timeout)
            return status
        return await super().wait(job_id, timeout)

    async def cancel(self, job_id: str) -> bool:
        return bool(await self._owner(job_id).cancel(job_id))

    async def cleanup(self, job_id: str) -> None:
        owner = self._owners.pop(job_id, None)
        if owner is not None:
            await owner.cleanup(job_id)

    async def read_file(self, job_id: str, path: str) -> bytes:
        data: bytes = await self._owner(job_id).read_file(job_id, path)
        return data
