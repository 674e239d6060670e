"""Database credentials from a Vault-style secrets API, then mounted files, then env (spec F2).

``APISecretBackend`` is the spec's custom ``SecretBackend`` with the HTTP call made for real:
``GET {VAULT_ADDR}/v1/secret/data/<name>`` with the ``X-Vault-Token`` header (HashiCorp
Vault's KV v2 answer, ``data.data.value``); a 404 means "not here" and the next backend is
asked, anything else fails the step (an unreachable API as TRANSIENT, so a retry policy
retries it). The resolver hands values out once per step, never caching them, and masks each
one: ``creds`` returns the password for ``connect`` (as the spec does), and the run store
(and ``show``) keep it as ``[REDACTED]`` — the username too, since every value a secrets
backend hands out is treated as secret (the in-memory result holds the real values). The
spec's two ``print`` lines are log records here, so the script's first line is its report. ``python -m sample_workflows.f2_vault_credentials`` starts a demo
API on 127.0.0.1 when ``VAULT_ADDR`` is not set.
"""

from __future__ import annotations

import logging
import os

import httpx

from engine import (
    EnvSecretBackend,
    FileSecretBackend,
    ManagedWorkflow,
    SecretBackend,
    SecretsResolver,
)

#: under ``spine.run``, which the engine keeps at INFO, so a recorded run's log has these lines
log = logging.getLogger("spine.run.f2")
VAULT_ADDR_ENV = "VAULT_ADDR"
DEFAULT_VAULT_ADDR = "http://127.0.0.1:8200"


class APISecretBackend(SecretBackend):
    """Fetch secrets from a Vault-style REST API (``secret:api:<name>`` in references)."""

    def __init__(self, api_url: str, api_token: str | None = None,
                 timeout: float = 5.0) -> None:
        self.api_url = api_url.rstrip("/")
        self.api_token = api_token or os.getenv("VAULT_TOKEN", "")
        self.timeout = timeout

    def get(self, name: str) -> str | None:
        """The secret's value from ``/v1/secret/data/<name>``; None when the API has none."""
        try:
            response = httpx.get(f"{self.api_url}/v1/secret/data/{name}",
                                 headers={"X-Vault-Token": self.api_token},
                                 timeout=self.timeout)
        except httpx.TransportError as exc:  # unreachable: worth a retry, so say it that way
            raise ConnectionError(f"secrets API at {self.api_url} unreachable: {exc}") from exc
        if response.status_code == 404:
            return None
        response.raise_for_status()
        value = response.json()["data"]["data"]["value"]
        return str(value)

    def describe(self, name: str) -> str:
        return f"api ({self.api_url}/v1/secret/data/{name})"


def make_resolver(api_url: str | None = None, api_token: str | None = None) -> SecretsResolver:
    """The resolution chain: API, then Docker/Kubernetes mounted secrets, then env vars."""
    return SecretsResolver([
        APISecretBackend(api_url or os.getenv(VAULT_ADDR_ENV, DEFAULT_VAULT_ADDR),
                         api_token or os.getenv("VAULT_TOKEN")),
        FileSecretBackend(),   # $SPINE_SECRETS_DIR, else /run/secrets
        EnvSecretBackend(),    # fallback to env vars
    ])


def fetch_credentials(vault_addr: str = "") -> dict:
    """Resolve the database credentials through the chain (the API first)."""
    resolver = make_resolver(vault_addr or None)
    username = resolver.resolve("db_username", default="postgres")
    password_sv = resolver.resolve_secret_value("db_password")

    # SecretValue prevents accidental logging (the spec prints; a run's log keeps these)
    log.info("Username: %s", username)
    log.info("Password: %s", password_sv)  # logs: [REDACTED]

    return {
        "username": username,
        "password": password_sv.get_secret(),  # stored as [REDACTED]: the masker knows it
        "source": "vault",
    }


def connect_with_credentials(username: str = "", password: str = "",
                             source: str = "") -> dict:
    """Check the credentials are complete (a real pipeline would open the connection here)."""
    if not (username and password):
        raise ValueError("incomplete database credentials")
    return {
        "connected": True,
        "user": username,
        "credential_source": source,
        "host": "localhost:5447",
    }


def query_company_count(connected: bool = False) -> dict:
    """Count companies in the Silver layer (fixed, as in the spec)."""
    return {"companies": 10_587, "source": "silver_companies"}


# ── Build workflow ──
wf = (
    ManagedWorkflow("infra.vault_credentials", domain="infra",
                    description="Fetch database credentials from a Vault-style API with file "
                                "and env fallbacks; the password never reaches the store",
                    tags=["infrastructure", "secrets", "vault", "managed"])
    .step("creds", fetch_credentials)
    .step("connect", connect_with_credentials)
    .step("query", query_company_count)
    .build()
)

if __name__ == "__main__":
    if os.getenv(VAULT_ADDR_ENV):
        result = wf.run()
    else:  # no Vault here: start the demo one for this run
        from sample_workflows._vault import DEMO_SECRETS, DEMO_TOKEN, serve_vault

        os.environ["VAULT_TOKEN"] = DEMO_TOKEN
        with serve_vault(DEMO_SECRETS, DEMO_TOKEN) as url:
            result = wf.run({"vault_addr": url})
    wf.show()
