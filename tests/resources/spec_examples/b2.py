import csv
from engine import etl_pipeline
from engine import workflow_step
from engine import WorkflowRunner, StepResult

@workflow_step(name="extract_csv")
def extract_csv(file_path: str = "data/companies.csv") -> dict:
    """Read CSV into list of dicts."""
    with open(file_path) as f:
        records = list(csv.DictReader(f))
    return {"records": records, "count": len(records)}

@workflow_step(name="validate_records")
def validate_records(records: list = None, count: int = 0) -> dict:
    """Quality gate: all records must have 'cik' field."""
    valid = [r for r in (records or []) if r.get("cik")]
    reject_count = count - len(valid)
    if reject_count > count * 0.1:
        raise ValueError(f"Too many rejects: {reject_count}/{count}")
    return {"valid_records": valid, "rejected": reject_count}

@workflow_step(name="load_to_db")
def load_to_db(valid_records: list = None) -> dict:
    """Write validated records to database (mock)."""
    return {"inserted": len(valid_records or []), "table": "companies"}

from engine import Workflow, Step
wf = Workflow(
    name="csv.loader",
    steps=[
        extract_csv.as_step(),
        validate_records.as_step(),
        load_to_db.as_step(),
    ],
)
