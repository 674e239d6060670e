"""The run store's public face: reading runs back, and where the store file lives.

Front ends (the CLI, the TUI, the HTTP API) read runs through these names; the modules
behind them are private. Writing is the recorder's job (``engine.store.recorder``), and run
control goes through ``engine.RunControl``.
"""

from .alerts import ALERT_STATUSES, AlertOutbox, AlertRecord, UnknownAlertError
from .anomalies import AnomalyRecord, UnknownAnomalyError
from .api_keys import SCOPES, ApiKeyError, ApiKeyRecord, ApiKeyStore
from .breakers import BreakerRecord, CircuitState
from .dead_letters import DeadLetter, UnknownDeadLetterError
from .incremental import CursorRecord
from .lineage import LineageRecord, dataset_lineage, run_lineage
from .paths import default_db_path, resolve_db_path
from .records import (
    ApprovalRecord,
    ArtifactRecord,
    ArtifactState,
    EventRecord,
    LogRecord,
    RunRecord,
    StepOutput,
    StepRecord,
)
from .runs import RunStore, StoreLike, UnknownRunError, open_store, run_filter
from .schedules import (
    ScheduleExistsError,
    ScheduleRecord,
    ScheduleStore,
    UnknownScheduleError,
)
from .schema import StoreError, StoreFileError
from .time_window import TimeWindow, TimeWindowError, check_bound
from .views import WorkflowStats, count_runs, find_log, log_seqs, logs_by_seq, workflow_stats

__all__ = [
    "SCOPES",
    "ALERT_STATUSES",
    "AlertOutbox",
    "AlertRecord",
    "AnomalyRecord",
    "ApiKeyError",
    "ApiKeyRecord",
    "ApiKeyStore",
    "ApprovalRecord",
    "ArtifactRecord",
    "ArtifactState",
    "BreakerRecord",
    "CircuitState",
    "CursorRecord",
    "DeadLetter",
    "EventRecord",
    "LineageRecord",
    "LogRecord",
    "RunRecord",
    "RunStore",
    "ScheduleExistsError",
    "ScheduleRecord",
    "ScheduleStore",
    "StepOutput",
    "StepRecord",
    "StoreError",
    "StoreFileError",
    "StoreLike",
    "TimeWindow",
    "TimeWindowError",
    "UnknownAlertError",
    "UnknownAnomalyError",
    "UnknownDeadLetterError",
    "UnknownRunError",
    "UnknownScheduleError",
    "WorkflowStats",
    "check_bound",
    "count_runs",
    "dataset_lineage",
    "default_db_path",
    "find_log",
    "log_seqs",
    "logs_by_seq",
    "open_store",
    "resolve_db_path",
    "run_filter",
    "run_lineage",
    "workflow_stats",
]
