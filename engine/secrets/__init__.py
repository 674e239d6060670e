"""Secrets: resolvers with pluggable backends, ``SecretValue``, references in step config
(``secret:env:NAME``, ``secret:file:NAME``) resolved when the step runs, and the masker that
keeps resolved values out of everything the engine stores (logs, errors, outputs, events)."""

from __future__ import annotations

from . import masking
from .backends import (
    DEFAULT_SECRETS_DIR,
    SECRETS_DIR_ENV,
    EnvSecretBackend,
    FileSecretBackend,
    SecretBackend,
)
from .errors import (
    MissingSecretError,
    SecretBackendError,
    SecretError,
    SecretReferenceError,
    UnknownSecretBackendError,
)
from .references import (
    SecretReference,
    has_references,
    is_reference,
    is_well_formed,
    parse_reference,
    resolve_references,
)
from .resolver import SecretsResolver, resolve_secret
from .value import SecretValue

__all__ = [
    "DEFAULT_SECRETS_DIR",
    "SECRETS_DIR_ENV",
    "EnvSecretBackend",
    "FileSecretBackend",
    "MissingSecretError",
    "SecretBackend",
    "SecretBackendError",
    "SecretError",
    "SecretReference",
    "SecretReferenceError",
    "SecretValue",
    "SecretsResolver",
    "UnknownSecretBackendError",
    "has_references",
    "is_reference",
    "is_well_formed",
    "masking",
    "parse_reference",
    "resolve_references",
    "resolve_secret",
]
