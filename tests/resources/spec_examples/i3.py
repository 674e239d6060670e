from engine import ManagedWorkflow

def fetch_daily_data(date: str, source: str = "sec") -> dict:
    """Fetch data for a specific date (idempotent via partition)."""
    return {"date": date, "source": source, "records": 150}

def process_daily(records: int = 0, date: str = "") -> dict:
    """Process daily batch."""
    return {"processed": records, "date": date, "quality_score": 0.98}

# Build persistent workflow
wf = (
    ManagedWorkflow("backfill.daily_ingest", db="spine_backfill.db")
    .step("fetch", fetch_daily_data)
    .step("process", process_daily)
    .build()
)

# Backfill: run for each date — partition key prevents re-processing
import datetime
start = datetime.date(2025, 1, 1)
for day_offset in range(30):
    date = (start + datetime.timedelta(days=day_offset)).isoformat()
    result = wf.run(
        params={"date": date, "source": "sec"},
        partition={"date": date},
    )
    # Second run with same partition → automatically skipped
    result2 = wf.run(params={"date": date}, partition={"date": date})
    # result2.status == "skipped"
