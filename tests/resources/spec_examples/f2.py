import os
from engine import (
    SecretsResolver,
    SecretBackend,
    EnvSecretBackend,
    FileSecretBackend,
    SecretValue,
    MissingSecretError,
)
from engine import ManagedWorkflow


class APISecretBackend(SecretBackend):
    """Fetch secrets from a REST API (Vault, AWS SM, custom service).

    In production, this would call:
      - HashiCorp Vault: GET /v1/secret/data/{key}
      - AWS Secrets Manager: boto3 secretsmanager.get_secret_value()
      - Custom API: GET /api/v1/secrets/{key}
    """

    def __init__(self, api_url: str, api_token: str | None = None):
        self.api_url = api_url.rstrip("/")
        self.api_token = api_token or os.getenv("VAULT_TOKEN", "")
        self._cache: dict[str, str] = {}

    def get(self, name: str) -> str | None:
        """Fetch secret from API with caching."""
        if name in self._cache:
            return self._cache[name]

        # Simulate API call (in production: requests.get(...))
        # vault_response = requests.get(
        #     f"{self.api_url}/v1/secret/data/{name}",
        #     headers={"X-Vault-Token": self.api_token},
        # )
        # return vault_response.json()["data"]["data"]["value"]

        mock_vault = {
            "db_username": "sec_pipeline_svc",
            "db_password": "rotated-credential-2026-02",
            "api_key_bloomberg": "BBG-xxxx-xxxx-xxxx",
            "api_key_factset": "FS-yyyy-yyyy-yyyy",
        }
        value = mock_vault.get(name)
        if value:
            self._cache[name] = value
        return value


# ── Resolution chain: API → Docker secrets → env vars ──
resolver = SecretsResolver([
    APISecretBackend(
        api_url="https://vault.internal.company.com",
        api_token=os.getenv("VAULT_TOKEN"),
    ),
    FileSecretBackend("/run/secrets"),   # Docker/K8s mounted secrets
    EnvSecretBackend(),                   # Fallback to env vars
])


def fetch_credentials() -> dict:
    """Resolve DB credentials from secrets chain."""
    username = resolver.resolve("db_username", default="postgres")
    password_sv = resolver.resolve_secret_value("db_password")

    # SecretValue prevents accidental logging
    print(f"  Username: {username}")
    print(f"  Password: {password_sv}")  # Prints: [REDACTED]

    return {
        "username": username,
        "password": password_sv.get_secret(),  # Actual value for connection
        "source": "vault",
    }


def connect_with_credentials(
    username: str = "", password: str = "", source: str = ""
) -> dict:
    """Connect to database using resolved credentials."""
    # In production:
    # conn = psycopg2.connect(
    #     host="localhost", port=5447, dbname="sec_dev_data",
    #     user=username, password=password,
    # )
    return {
        "connected": True,
        "user": username,
        "credential_source": source,
        "host": "localhost:5447",
    }


def query_company_count(connected: bool = False) -> dict:
    """Count companies in Silver layer."""
    return {"companies": 10_587, "source": "silver_companies"}


# ── Build workflow ──
wf = (
    ManagedWorkflow("infra.vault_credentials")
    .step("creds", fetch_credentials)
    .step("connect", connect_with_credentials)
    .step("query", query_company_count)
    .build()
)
result = wf.run()
wf.show()
# ✅ infra.vault_credentials — 3 steps
#    creds   → username=sec_pipeline_svc, source=vault
#    connect → localhost:5447 as sec_pipeline_svc
#    query   → 10,587 companies
