import os
from pathlib import Path
from engine import SecretsResolver, EnvSecretBackend, FileSecretBackend
from engine import ManagedWorkflow

# ── Load .env file (stdlib — no dotenv dependency needed) ──
def load_env_file(env_path: str = ".env") -> dict[str, str]:
    """Parse a .env file and inject into os.environ."""
    loaded = {}
    path = Path(env_path)
    if not path.exists():
        return loaded
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if "=" in line:
            key, _, value = line.partition("=")
            value = value.strip().strip('"').strip("'")
            os.environ[key.strip()] = value
            loaded[key.strip()] = value
    return loaded

# ── Example .env file contents ──
# PGHOST=localhost
# PGPORT=5447
# PGDATABASE=sec_dev_data
# PGUSER=postgres
# PGPASSWORD=secret:env:POSTGRES_PASSWORD
# POSTGRES_PASSWORD=spine
# BATCH_SIZE=50000
# LOG_LEVEL=INFO

# Load env vars from file
env_vars = load_env_file(".env")

# Set up secrets resolver (env vars are the first backend)
resolver = SecretsResolver([
    EnvSecretBackend(),                            # PGPASSWORD, POSTGRES_PASSWORD
    FileSecretBackend("/run/secrets"),             # Docker secrets fallback
])

def connect_to_database() -> dict:
    """Build connection config from environment."""
    password = resolver.resolve("postgres_password", default="spine")
    return {
        "host": os.getenv("PGHOST", "localhost"),
        "port": int(os.getenv("PGPORT", "5447")),
        "database": os.getenv("PGDATABASE", "sec_dev_data"),
        "user": os.getenv("PGUSER", "postgres"),
        "password": password,
        "connected": True,
    }

def count_records(connected: bool = False) -> dict:
    """Query record count from database."""
    if not connected:
        return {"error": "Not connected"}
    # In production: psycopg2.connect(**db_config)
    return {"table": "silver_financial_facts", "row_count": 17_903_144}

def generate_summary(row_count: int = 0, table: str = "") -> dict:
    """Generate summary report."""
    return {
        "report": f"{table}: {row_count:,} rows",
        "status": "healthy" if row_count > 0 else "empty",
    }

# ── Build workflow ──
wf = (
    ManagedWorkflow("infra.env_driven_pipeline")
    .step("connect", connect_to_database)
    .step("count", count_records)
    .step("summary", generate_summary)
    .build()
)
result = wf.run()
wf.show()
# ✅ infra.env_driven_pipeline — 3 steps — completed
#    connect  → localhost:5447/sec_dev_data
#    count    → 17,903,144 rows
#    summary  → healthy
