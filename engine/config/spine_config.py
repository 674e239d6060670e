"""``SpineConfig``: the settings of one environment (dev, staging, prod) read from a profile of
``spine.yaml``, overridden by ``SPINE_*`` environment variables (pydantic-settings), with secret
references in values resolved only when read and redacted whenever shown."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pydantic import ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from ..secrets import (
    FileSecretBackend,
    SecretError,
    SecretsResolver,
    SecretValue,
    is_reference,
    resolve_references,
)
from ..secrets.masking import REDACTED
from .profiles import ConfigError, ProfileSource, load_dotenv_files, read_profile

ENV_PREFIX = "SPINE_"
DOTENV_ENV = "SPINE_DOTENV"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_MISSING: Any = object()


class ProfileSettings(BaseSettings):
    """The typed settings of a profile; each is overridden by ``SPINE_<NAME>`` and free-form
    ``values`` by ``SPINE_VALUES__<KEY>__<SUBKEY>`` (environment beats the file)."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_nested_delimiter="__",
                                      extra="forbid", env_ignore_empty=True, frozen=True)

    database_url: str | None = None
    """The profile's database (the spec's ``config.database_url``); may be a secret reference."""
    db: str | None = None
    """The run-store file, as ``$SPINE_DB`` / ``--db`` name it."""
    log_level: str = "INFO"
    secrets_dir: str | None = None
    """The folder of ``secret:file:NAME`` files (``$SPINE_SECRETS_DIR``, else /run/secrets)."""
    artifacts: str | dict[str, Any] | None = None
    """Where runs keep artifacts (``$SPINE_ARTIFACTS``): a URL (``s3://BUCKET/PREFIX``) or
    folder, or ``{url, storage_options, name}`` whose options may be secret references."""
    values: dict[str, Any] = {}
    """Everything else the profile holds, read with ``config.get("dotted.key")``."""

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in LOG_LEVELS:
            raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}")
        return level

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings],
                                   init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource,
                                   dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource,
                                   ) -> tuple[PydanticBaseSettingsSource, ...]:
        """The environment overrides the profile (passed as init data, so lowest)."""
        return env_settings, init_settings


FIELDS: tuple[str, ...] = tuple(n for n in ProfileSettings.model_fields if n != "values")


@dataclass(frozen=True, slots=True)
class SpineConfig:
    """One profile's settings. ``SpineConfig.load(profile="prod")`` reads it; attributes and
    ``get("a.b")`` give values with secret references resolved at that moment (and masked in
    everything the engine stores); ``to_dict()`` and ``repr`` show secrets as ``[REDACTED]``.

    A profile's ``dotenv:`` files are loaded into the environment first (python-dotenv rules:
    variables already set win), so a ``.env`` can hold the ``SPINE_*`` overrides and the
    variables ``secret:env:NAME`` references read.
    """

    profile: str
    path: Path | None
    settings: ProfileSettings
    resolver: SecretsResolver
    dotenv_files: tuple[Path, ...] = ()
    available_profiles: tuple[str, ...] = ()
    _source: ProfileSource | None = None

    @classmethod
    def load(cls, profile: str | None = None, *, path: str | os.PathLike[str] | None = None,
             resolver: SecretsResolver | None = None) -> SpineConfig:
        """Read ``profile`` (else ``$SPINE_PROFILE``, the file's ``default_profile``, ``dev``)
        from ``path`` (else ``$SPINE_CONFIG``, ``./spine.yaml``); raises ``ConfigError``."""
        source = read_profile(profile, path)
        data = dict(source.data)
        dotenv = os.environ.get(DOTENV_ENV) or data.pop("dotenv", None)
        data.pop("dotenv", None)
        if dotenv is not None and not isinstance(dotenv, str | list):
            raise ConfigError("'dotenv' must be a file name or a list of them", source.path,
                              source.line_of(("dotenv",)))
        loaded = load_dotenv_files(dotenv, source.path)
        fields = {k: v for k, v in data.items() if k in ProfileSettings.model_fields}
        extra = {k: v for k, v in data.items() if k not in ProfileSettings.model_fields}
        if extra:
            fields["values"] = {**extra, **(fields.get("values") or {})}
        try:
            settings = ProfileSettings(**fields)
        except ValidationError as exc:
            raise _config_error(exc, source) from None
        except SettingsError as exc:  # an environment override that does not parse
            raise ConfigError(f"profile {source.profile!r}: {exc}; check the SPINE_* "
                              "variables", source.path) from None
        return cls(source.profile, source.path, settings,
                   resolver or _resolver_for(settings.secrets_dir), loaded, source.available,
                   source)

    # ------------------------------------------------------------------ typed values
    @property
    def database_url(self) -> str | None:
        value: str | None = self.get("database_url")
        return value

    @property
    def db(self) -> Path | None:
        value = self.get("db")
        return Path(value).expanduser() if value else None

    @property
    def log_level(self) -> str:
        return self.settings.log_level

    @property
    def secrets_dir(self) -> Path | None:
        value = self.get("secrets_dir")
        return Path(value).expanduser() if value else None

    # ------------------------------------------------------------------ any value
    def raw(self, key: str, default: Any = None) -> Any:
        """The value at the dotted ``key`` as written (references unresolved)."""
        found = _walk(self._tree(), key)
        return default if found is _MISSING else found

    def get(self, key: str, default: Any = None) -> Any:
        """The value at the dotted ``key`` (``"sec.edgar_url"``), references resolved now;
        ``default`` when the key is absent. A missing secret raises ``MissingSecretError``."""
        found = _walk(self._tree(), key)
        if found is _MISSING:
            return default
        try:
            return resolve_references(found, self.resolver)
        except SecretError as exc:
            raise exc.located(f"config key {key!r} (profile {self.profile!r})") from None

    def secret(self, key: str) -> SecretValue:
        """The value at ``key`` as a ``SecretValue`` (for values that must never print)."""
        value = self.get(key)
        if value is None:
            raise KeyError(f"config key {key!r} is not set in profile {self.profile!r}")
        return SecretValue(str(value))

    def references(self) -> dict[str, str]:
        """Dotted key -> secret reference, for every value that is one."""
        return {key: value for key, value in _leaves(self._tree()) if is_reference(value)}

    def check_secrets(self) -> None:
        """Resolve every reference once, so a missing one fails now, naming its key."""
        for key in self.references():
            self.get(key)

    def to_dict(self, *, redact: bool = True) -> dict[str, Any]:
        """Every setting (nested); with ``redact`` secrets and URL passwords are
        ``[REDACTED]`` and nothing is resolved, so it is safe to print or store."""
        tree = self._tree()
        if not redact:
            resolved: dict[str, Any] = resolve_references(tree, self.resolver)
            return resolved
        return _redacted(tree)

    def sources(self) -> dict[str, str]:
        """Dotted key -> where its value came from: ``env $SPINE_…``, ``profile NAME``,
        ``defaults`` or ``built-in``."""
        env = {k.upper() for k in os.environ}
        out: dict[str, str] = {}
        for key, _ in _leaves(self._tree()):
            parts = key.split(".")
            var = ENV_PREFIX + ("__".join(["VALUES", *parts]) if parts[0] not in FIELDS
                                else parts[0]).upper()
            src = self._source
            if var in env:
                out[key] = f"env ${var}"
            elif src is not None and src.lines.get(("profiles", self.profile, *parts)):
                out[key] = f"profile {self.profile}"
            elif src is not None and src.lines.get(("defaults", *parts)):
                out[key] = "defaults"
            else:
                out[key] = "built-in"
        return out

    def _tree(self) -> dict[str, Any]:
        tree: dict[str, Any] = {name: getattr(self.settings, name) for name in FIELDS}
        for key, value in self.settings.values.items():
            tree.setdefault(key, value)
        return tree

    def __repr__(self) -> str:
        where = f", path={str(self.path)!r}" if self.path else ""
        return f"SpineConfig(profile={self.profile!r}{where}, settings={self.to_dict()!r})"


def _resolver_for(secrets_dir: str | None) -> SecretsResolver:
    """The process's resolver, with the profile's ``secrets_dir`` for ``secret:file:`` names."""
    base = SecretsResolver.default()
    if not secrets_dir:
        return base
    backends = [FileSecretBackend(secrets_dir) if isinstance(b, FileSecretBackend) else b
                for b in base.backends]
    return SecretsResolver(backends)


def _walk(tree: Mapping[str, Any], key: str) -> Any:
    current: Any = tree
    parts = key.split(".")
    if parts[0] == "values" and len(parts) > 1:
        parts = parts[1:]
    for part in parts:
        if isinstance(current, Mapping) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return _MISSING
    return current


def _leaves(tree: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(tree, Mapping) and (tree or not prefix):
        for key, value in tree.items():
            yield from _leaves(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(tree, list) and tree:
        for i, value in enumerate(tree):
            yield from _leaves(value, f"{prefix}.{i}")
    else:
        yield prefix, tree


def _redacted(data: Any) -> Any:
    if isinstance(data, str):
        return REDACTED if is_reference(data) else _url_without_password(data)
    if isinstance(data, Mapping):
        return {k: _redacted(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_redacted(v) for v in data]
    return data


def _url_without_password(text: str) -> str:
    """``postgresql://user:pw@host/db`` -> ``postgresql://user:[REDACTED]@host/db``."""
    if "://" not in text or "@" not in text:
        return text
    try:
        parts = urlsplit(text)
    except ValueError:
        return text
    if not parts.password:
        return text
    netloc = f"{parts.username}:{REDACTED}@{parts.hostname or ''}"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))


def _config_error(exc: ValidationError, source: ProfileSource) -> ConfigError:
    error = exc.errors()[0]
    loc = tuple(str(p) for p in error["loc"])
    key = ".".join(loc) or "profile"
    return ConfigError(f"profile {source.profile!r}: {key}: {error['msg']}", source.path,
                       source.line_of(loc))
