"""API keys of ``spine-engine serve``, in the run store: the only writer of ``api_keys``.

A key is shown once, when it is made (``spk_<id>_<secret>``), and only the SHA-256 of the
whole key is kept. A fast hash is enough here, unlike for passwords: the secret is 32 random
bytes, so there is nothing to guess that a slow hash would protect. The ``<id>`` part finds
the row without scanning, and the digests are compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, cast

from .db import Database
from .records import to_datetime
from .schema import StoreError

Scope = Literal["read", "run", "admin"]
#: what each scope may do, in increasing power: a key allows its scope and those below it
SCOPES: tuple[Scope, ...] = ("read", "run", "admin")
_KEY = re.compile(r"spk_([0-9a-f]{12})_([A-Za-z0-9_-]{20,})")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
LAST_USED_RESOLUTION_SECONDS = 60.0  # write "last used" at most once a minute per key


class ApiKeyError(StoreError):
    """An API key cannot be created or revoked as asked (bad name or scope, unknown key)."""


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    key_id: str
    name: str
    scope: Scope
    created_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None

    def allows(self, needed: Scope) -> bool:
        """Whether this key's scope covers ``needed`` (admin ⊃ run ⊃ read)."""
        return self.revoked_at is None and SCOPES.index(self.scope) >= SCOPES.index(needed)


class ApiKeyStore:
    """Create, verify, list and revoke API keys."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._last_used: dict[str, float] = {}

    def create(self, name: str, scope: str) -> tuple[str, ApiKeyRecord]:
        """A new key for ``name``: returns the key itself (shown once) and its record."""
        if not _NAME.fullmatch(name):
            raise ApiKeyError(f"API key name {name!r} must be 1-64 letters, digits, '.', '_' "
                              "or '-', starting with a letter or digit")
        if scope not in SCOPES:
            raise ApiKeyError(f"unknown scope {scope!r}; use one of {', '.join(SCOPES)}")
        key_id = secrets.token_hex(6)
        key = f"spk_{key_id}_{secrets.token_urlsafe(32)}"
        now = time.time()
        with self.db.transaction() as conn:
            if conn.execute("SELECT 1 FROM api_keys WHERE name = ?", (name,)).fetchone():
                raise ApiKeyError(f"an API key named {name!r} already exists; revoke it first "
                                  "or pick another name")
            conn.execute("INSERT INTO api_keys (key_id, name, scope, key_hash, created_at) "
                         "VALUES (?, ?, ?, ?, ?)", (key_id, name, scope, _digest(key), now))
        return key, ApiKeyRecord(key_id, name, cast(Scope, scope), _when(now))

    def verify(self, key: str) -> ApiKeyRecord | None:
        """The record of a valid, unrevoked key, else ``None`` (malformed, unknown, revoked)."""
        match = _KEY.fullmatch(key.strip())
        if match is None:
            return None
        rows = self.db.query("SELECT * FROM api_keys WHERE key_id = ?", [match.group(1)])
        if not rows or not hmac.compare_digest(rows[0]["key_hash"], _digest(key.strip())):
            return None
        record = _record(rows[0])
        if record.revoked_at is not None:
            return None
        self._touch(record.key_id)
        return record

    def any_active(self) -> bool:
        """Whether at least one key can be used (then every request needs one)."""
        return bool(self.db.scalar("SELECT count(*) FROM api_keys WHERE revoked_at IS NULL"))

    def list(self) -> list[ApiKeyRecord]:
        return [_record(r) for r in self.db.query("SELECT * FROM api_keys ORDER BY created_at")]

    def revoke(self, name: str) -> ApiKeyRecord:
        """Stop a key from working; its row stays, so the name shows as revoked."""
        with self.db.transaction() as conn:
            cursor = conn.execute("UPDATE api_keys SET revoked_at = ? WHERE name = ? AND "
                                  "revoked_at IS NULL", (time.time(), name))
            if cursor.rowcount == 0:
                known = [r[0] for r in conn.execute(
                    "SELECT name FROM api_keys WHERE revoked_at IS NULL ORDER BY name")]
                raise ApiKeyError(f"no active API key named {name!r}; active keys: "
                                  f"{', '.join(known) or 'none'}")
        return _record(self.db.query("SELECT * FROM api_keys WHERE name = ?", [name])[0])

    def _touch(self, key_id: str) -> None:
        now = time.time()
        if now - self._last_used.get(key_id, 0.0) < LAST_USED_RESOLUTION_SECONDS:
            return
        self._last_used[key_id] = now
        with self.db.transaction() as conn:
            conn.execute("UPDATE api_keys SET last_used_at = ? WHERE key_id = ?", (now, key_id))


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _record(row: dict[str, Any]) -> ApiKeyRecord:
    return ApiKeyRecord(key_id=row["key_id"], name=row["name"], scope=row["scope"],
                        created_at=_when(row["created_at"]),
                        last_used_at=to_datetime(row.get("last_used_at")),
                        revoked_at=to_datetime(row.get("revoked_at")))


def _when(value: float) -> datetime:
    return datetime.fromtimestamp(value, UTC)
