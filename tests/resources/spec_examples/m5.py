from engine import ManagedWorkflow
from engine import Workflow, Step, StepResult
from engine import workflow_step
from datetime import datetime, UTC

# === Domain functions (zero framework coupling) ===

def collect_pipeline_metrics(domain: str = "all") -> dict:
    """Collect success rates, durations, error counts across all pipelines."""
    return {
        "total_runs_today": 147,
        "success_rate": 0.965,
        "avg_duration_sec": 23.4,
        "p99_duration_sec": 120.0,
        "error_breakdown": {"TRANSIENT": 3, "DATA_QUALITY": 2, "TIMEOUT": 0},
    }

def check_data_freshness(domains: list = None) -> dict:
    """Check asset freshness across domains."""
    domains = domains or ["sec", "finra", "portfolio"]
    return {
        "stale_assets": 2,
        "fresh_assets": 45,
        "freshness_pct": 95.7,
        "stale_details": [
            {"domain": "sec", "asset": "10-K/TSLA", "lag_hours": 48},
            {"domain": "finra", "asset": "otc/NMS_T1", "lag_hours": 26},
        ],
    }

def calculate_sla_compliance(
    success_rate: float = 0,
    freshness_pct: float = 0,
    p99_duration_sec: float = 0,
) -> dict:
    """Determine if we're meeting our SLAs."""
    sla_targets = {
        "success_rate": 0.95,
        "freshness_pct": 90.0,
        "p99_duration_sec": 300.0,
    }
    return {
        "sla_met": all([
            success_rate >= sla_targets["success_rate"],
            freshness_pct >= sla_targets["freshness_pct"],
            p99_duration_sec <= sla_targets["p99_duration_sec"],
        ]),
        "violations": [
            k for k, target in sla_targets.items()
            if {"success_rate": success_rate, "freshness_pct": freshness_pct,
                "p99_duration_sec": p99_duration_sec}[k]
            < target if k != "p99_duration_sec"
            else {"success_rate": success_rate, "freshness_pct": freshness_pct,
                  "p99_duration_sec": p99_duration_sec}[k] > target
        ],
        "generated_at": datetime.now(UTC).isoformat(),
    }

def generate_dashboard_html(
    total_runs_today: int = 0,
    success_rate: float = 0,
    stale_assets: int = 0,
    sla_met: bool = False,
) -> dict:
    """Produce dashboard HTML/JSON artifact."""
    status = "🟢 Healthy" if sla_met else "🔴 SLA Violation"
    return {
        "dashboard_status": status,
        "summary": f"{total_runs_today} runs | {success_rate:.1%} success | {stale_assets} stale",
        "rendered": True,
    }

# === Compose into managed workflow ===

dashboard = (
    ManagedWorkflow("ops.production_dashboard")
    .step("metrics", collect_pipeline_metrics)
    .step("freshness", check_data_freshness)
    .step("sla", calculate_sla_compliance)
    .step("render", generate_dashboard_html)
    .build()
)

result = dashboard.run()
dashboard.show()
# ✅ ops.production_dashboard — 4 steps — completed in 0.02s
#    metrics    → 147 runs, 96.5% success
#    freshness  → 2 stale assets
#    sla        → SLA met ✓
#    render     → 🟢 Healthy
