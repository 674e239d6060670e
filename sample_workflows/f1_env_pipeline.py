""".env-driven database pipeline: credentials from a .env file and secret references (spec F1).

``load_env`` loads the .env file (``env_file`` param, else ``./.env`` if it exists, else the
bundled ``data/f1.env``) with python-dotenv's rules: variables already set win. ``connect``
takes its password from the config reference ``secret:env:PGPASSWORD``, resolved by the engine
at the moment the step runs, so the .env loaded one step earlier is seen; the bundled .env's
``PGPASSWORD`` is itself ``secret:env:POSTGRES_PASSWORD``, followed to its value. The value
is held only by that call and masked (``[REDACTED]``) in anything the run stores. The spec's
``count_records`` returns a fixed row count; here it counts ``silver_financial_facts`` in the
SQLite copy of the SEC database the F5 sample uses (no Postgres is needed: the credentials are
resolved and checked, then the bundled copy is queried).
"""

from __future__ import annotations

import os
from pathlib import Path

from dotenv import load_dotenv

from engine import EnvSecretBackend, FileSecretBackend, ManagedWorkflow, SecretsResolver
from sample_workflows._common import data_file
from sample_workflows._sec_db import connect, sec_db_path

# ── Secrets resolver: env vars first, then Docker/Kubernetes mounted secrets ──
resolver = SecretsResolver([
    EnvSecretBackend(),
    FileSecretBackend(),  # $SPINE_SECRETS_DIR, else /run/secrets
])


def load_env(env_file: str = "") -> dict:
    """Load the .env file into the environment (existing variables win, as in python-dotenv)."""
    path = Path(env_file) if env_file else Path(".env")
    if not env_file and not path.is_file():
        path = data_file("f1.env")
    if not path.is_file():
        raise FileNotFoundError(f".env file {path} does not exist (set by env_file)")
    load_dotenv(path, override=False)
    return {"env_file": str(path), "batch_size": int(os.getenv("BATCH_SIZE", "50000"))}


def connect_to_database(password: str = "") -> dict:
    """Build the connection settings from the environment; the password arrives resolved."""
    if not password:
        raise ValueError("no database password: set PGPASSWORD (or POSTGRES_PASSWORD)")
    return {
        "host": os.getenv("PGHOST", "localhost"),
        "port": int(os.getenv("PGPORT", "5447")),
        "database": os.getenv("PGDATABASE", "sec_dev_data"),
        "user": resolver.resolve("pguser", default="postgres"),
        "password_set": True,  # never the password itself
        "connected": True,
    }


def count_records(connected: bool = False, db_path: str = "") -> dict:
    """Count the facts in the SEC database (the bundled SQLite copy, or ``db_path``)."""
    if not connected:
        return {"error": "Not connected"}
    with connect(str(sec_db_path(db_path))) as conn:
        count = conn.execute("SELECT COUNT(*) FROM silver_financial_facts").fetchone()[0]
    conn.close()
    return {"table": "silver_financial_facts", "row_count": count}


def generate_summary(row_count: int = 0, table: str = "") -> dict:
    """Generate the summary report."""
    return {
        "report": f"{table}: {row_count:,} rows",
        "status": "healthy" if row_count > 0 else "empty",
    }


# ── Build workflow ──
wf = (
    ManagedWorkflow("infra.env_driven_pipeline", domain="infra",
                    description="Load a .env file, resolve the database password from a secret "
                                "reference at run time, count the facts",
                    tags=["infrastructure", "dotenv", "secrets", "managed"])
    .step("load_env", load_env)
    .step("connect", connect_to_database, config={"password": "secret:env:PGPASSWORD"})
    .step("count", count_records)
    .step("summary", generate_summary)
    .build()
)

if __name__ == "__main__":
    result = wf.run()
    wf.show()
