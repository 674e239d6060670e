from pathlib import Path
from engine import Workflow, Step, StepResult
from engine import WorkflowPackager, PackageManifest
from engine import SecretsResolver, EnvSecretBackend


# ── Named handlers (can be serialized into .pyz) ──

def load_env_config(ctx, config) -> StepResult:
    """Load environment config — works both locally and from .pyz."""
    import os

    resolver = SecretsResolver([EnvSecretBackend()])
    db_host = os.getenv("PGHOST", "localhost")
    db_port = os.getenv("PGPORT", "5447")
    db_name = os.getenv("PGDATABASE", "sec_dev_data")
    db_user = resolver.resolve("pguser", default="postgres")

    return StepResult.ok(output={
        "db_url": f"postgresql://{db_user}@{db_host}:{db_port}/{db_name}",
        "env_loaded": True,
    })


def fetch_financial_data(ctx, config) -> StepResult:
    """Fetch data using env-configured connection."""
    db_url = ctx.get_output("load_env", "db_url", "")
    return StepResult.ok(output={
        "source": db_url,
        "records": 5000,
        "table": "silver_financial_facts",
    })


def calculate_metrics(ctx, config) -> StepResult:
    """Calculate financial metrics from fetched data."""
    records = ctx.get_output("fetch", "records", 0)
    return StepResult.ok(output={
        "metrics_calculated": records,
        "ratios": ["gross_margin", "roe", "current_ratio", "altman_z"],
    })


# ── Build the workflow ──
wf = Workflow(
    name="portable.financial_etl",
    domain="finance",
    version=2,
    description="Portable financial ETL — runs from .pyz archive",
    steps=[
        Step.lambda_("load_env", load_env_config),
        Step.lambda_("fetch", fetch_financial_data),
        Step.lambda_("calculate", calculate_metrics),
        Step.pipeline("store", "warehouse.store_metrics"),
    ],
    tags=["portable", "finance", "etl"],
    defaults={"batch_size": 5000},
)

# ── Package into .pyz archive ──
packager = WorkflowPackager()
result = packager.package(wf, output_dir=Path("dist"))

print(f"Archive created: {result.archive_path}")
print(f"  Workflow:     {result.manifest.workflow_name}")
print(f"  Version:      {result.manifest.workflow_version}")
print(f"  Steps:        {result.manifest.step_count}")
print(f"  Handlers:     {result.manifest.handler_files}")
print(f"  Warnings:     {result.manifest.warnings}")
print(f"  Tags:         {result.manifest.tags}")

# ── Inspect without running ──
manifest = WorkflowPackager.inspect(result.archive_path)
print(f"\nInspect archive:")
print(f"  Name: {manifest.workflow_name}")
print(f"  Packaged at: {manifest.packaged_at}")

# ── How to run ──
# Option 1: Direct execution
#   python dist/portable_financial_etl.pyz
#
# Option 2: With env file
#   PGHOST=prod-db.company.com PGPORT=5432 python dist/portable_financial_etl.pyz
#
# Option 3: With .env file loaded
#   export $(cat .env.production | xargs) && python dist/portable_financial_etl.pyz
#
# Option 4: Docker with env file
#   docker run --env-file .env.production -v ./dist:/app spine:latest python /app/portable_financial_etl.pyz

print("""
Usage:
  python dist/portable_financial_etl.pyz                    # defaults
  PGHOST=prod-db python dist/portable_financial_etl.pyz     # override host
  docker run --env-file .env spine:latest python wf.pyz     # containerized
""")
