"""A small client for the Docker Engine HTTP API (httpx over the engine's unix socket, or a
``tcp://`` ``DOCKER_HOST``): requests, streamed output frames and tar archives, with a
transport failure always reported as ``RuntimeUnavailableError`` and a timeout as
``EngineTimeoutError``. httpx (≈ 60 ms to import) loads on the first request, so defining a
``DockerAdapter`` on a machine without Docker costs nothing."""

from __future__ import annotations

import io
import os
import tarfile
from collections.abc import AsyncIterator, Mapping
from types import ModuleType
from typing import TYPE_CHECKING, Any

from .errors import RuntimeUnavailableError

if TYPE_CHECKING:
    import httpx

DEFAULT_SOCKET = "/var/run/docker.sock"
#: seconds a request may take unless the caller says otherwise (None: as long as it takes)
REQUEST_TIMEOUT = 30.0


class EngineTimeoutError(TimeoutError):
    """The engine did not answer within the request's timeout (``/wait`` uses this as its
    deadline)."""


def _httpx() -> ModuleType:
    import httpx  # loaded on first use: see the module docstring

    return httpx


def resolve_host(host: str | None = None) -> tuple[str | None, str]:
    """``(unix socket path or None, base URL)`` for ``host`` or ``$DOCKER_HOST``."""
    address = host or os.environ.get("DOCKER_HOST") or f"unix://{DEFAULT_SOCKET}"
    if address.startswith("unix://"):
        return address[len("unix://"):], "http://docker"
    if address.startswith("/"):
        return address, "http://docker"
    if address.startswith("tcp://"):
        return None, "http://" + address[len("tcp://"):]
    if address.startswith(("http://", "https://")):
        return None, address
    raise RuntimeUnavailableError(f"Docker host {address!r} is not supported; use unix:///path "
                                  "or tcp://host:port")


class FrameReader:
    """Splits Docker's multiplexed log stream (8-byte headers: stream, size) into chunks."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[tuple[str, bytes]]:
        self._buffer += data
        chunks = []
        while len(self._buffer) >= 8:
            size = int.from_bytes(self._buffer[4:8], "big")
            if len(self._buffer) < 8 + size:
                break
            stream = "stderr" if self._buffer[0] == 2 else "stdout"
            chunks.append((stream, bytes(self._buffer[8:8 + size])))
            del self._buffer[:8 + size]
        return chunks


def first_file(archive: bytes) -> bytes:
    """The first regular file of a tar archive (what ``GET /containers/{id}/archive`` sends)."""
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        for member in tar:
            if member.isfile():
                extracted = tar.extractfile(member)
                if extracted is not None:
                    return extracted.read()
    raise FileNotFoundError("the archive holds no regular file")


class DockerAPI:
    """Requests to one Docker engine; each call opens its own client so it works from any
    event loop."""

    def __init__(self, host: str | None = None) -> None:
        self.socket, self.base_url = resolve_host(host)

    @property
    def address(self) -> str:
        return f"unix://{self.socket}" if self.socket else self.base_url

    def _client(self, timeout: float | None) -> httpx.AsyncClient:
        http = _httpx()
        transport = http.AsyncHTTPTransport(uds=self.socket) if self.socket else None
        client: httpx.AsyncClient = http.AsyncClient(
            transport=transport, base_url=self.base_url,
            timeout=http.Timeout(timeout, connect=5.0))
        return client

    async def request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                      json: Any = None, timeout: float | None = REQUEST_TIMEOUT,
                      ) -> httpx.Response:
        """One request; ``timeout=None`` waits as long as the engine takes."""
        http = _httpx()
        try:
            async with self._client(timeout) as client:
                response: httpx.Response = await client.request(method, path, params=params,
                                                                json=json)
                await response.aread()
                return response
        except http.TimeoutException as exc:
            raise EngineTimeoutError(f"Docker engine at {self.address}: {method} {path} took "
                                     f"more than {timeout}s") from exc
        except http.TransportError as exc:
            raise RuntimeUnavailableError(
                f"Docker engine at {self.address} did not answer {method} {path}: "
                f"{type(exc).__name__}: {exc}") from exc

    async def stream(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                     ) -> AsyncIterator[bytes]:
        """The body of a long response (logs, image pulls) as it arrives."""
        http = _httpx()
        try:
            async with self._client(None) as client, \
                    client.stream(method, path, params=params) as response:
                if response.status_code >= 400:
                    await response.aread()
                    raise RuntimeUnavailableError(
                        f"Docker engine refused {method} {path}: {error_text(response)}")
                async for chunk in response.aiter_bytes():
                    yield chunk
        except http.TransportError as exc:
            raise RuntimeUnavailableError(
                f"Docker engine at {self.address} broke off {method} {path}: {exc}") from exc


def error_text(response: httpx.Response) -> str:
    """The engine's error message (``{"message": ...}``) or the response text."""
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}: {response.text[:200]}"
    if isinstance(body, dict) and body.get("message"):
        return f"HTTP {response.status_code}: {body['message']}"
    return f"HTTP {response.status_code}: {str(body)[:200]}"
