"""Settings and bookkeeping both clients share: headers, timeouts, the operations they cover."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from importlib import metadata
from typing import Any

import httpx

from spine_client._core import declared

__all__ = ["client_headers", "covered_operations", "method_signature", "stream_timeout"]


def _version() -> str:
    try:
        return metadata.version("spine-tui")
    except metadata.PackageNotFoundError:
        return "0"


USER_AGENT = f"spine-client/{_version()}"


def client_headers(api_key: str | None) -> dict[str, str]:
    """The headers of every request: who is asking and, when a key is given, its bearer auth."""
    headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    return headers


def stream_timeout(timeout: float | None) -> httpx.Timeout:
    """The timeout of a log stream or a download: connecting is bounded, waiting for the next
    bytes is not (a quiet step may send nothing but keepalives for minutes)."""
    return httpx.Timeout(timeout, read=None)


def covered_operations(client: type, namespace: type) -> dict[str, list[str]]:
    """Operation id to the client methods (``runs.get``) that cover it.

    Namespaces are the client's attributes annotated with a ``namespace`` subclass; their
    methods and the client's own count when they declare operations.
    """
    owners: list[tuple[str, type]] = [("", client)]
    for attribute, kind in typing.get_type_hints(client).items():
        if isinstance(kind, type) and issubclass(kind, namespace):
            owners.append((attribute + ".", kind))
    found: dict[str, list[str]] = {}
    for prefix, owner in owners:
        for cls in reversed(owner.__mro__[:-1]):
            for name, member in vars(cls).items():
                for operation_id in declared(member):
                    found.setdefault(operation_id, []).append(prefix + name)
    return {op: sorted(set(methods)) for op, methods in sorted(found.items())}


def method_signature(build: Callable[..., Any]) -> inspect.Signature:
    """The signature a bound call builder shows (``help()``, IDEs): the builder's parameters,
    returning what its ``Call`` parses to rather than the ``Call``."""
    signature = inspect.signature(build)
    returns = signature.return_annotation
    if isinstance(returns, str) and returns.startswith("Call[") and returns.endswith("]"):
        returns = returns[len("Call["):-1]
    return signature.replace(return_annotation=returns)
