from engine import scheduled_batch
from engine import workflow_step

@workflow_step(name="generate_report")
def generate_report(report_date: str = "today") -> dict:
    return {"report": f"Daily P&L report for {report_date}", "rows": 42}

@workflow_step(name="validate_report")
def validate_report(rows: int = 0) -> dict:
    return {"valid": rows > 0, "message": f"Report has {rows} rows"}

@workflow_step(name="send_email")
def send_email(report: str = "", valid: bool = False) -> dict:
    if not valid:
        return {"sent": False, "reason": "Report validation failed"}
    return {"sent": True, "recipients": ["team@company.com"]}

wf = scheduled_batch(
    name="daily.pnl_report",
    pipeline="reports.generate_daily",
    validator=validate_report,
    notifier=send_email,
    domain="reporting",
    description="Daily P&L report with email delivery",
)
