"""Runs ``tui.chatty`` as a tracked run in its own process: ``log_writer.py DB RUN_ID LINES RATE``."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from tui_run import chatty  # noqa: E402

from engine import TrackedWorkflowRunner  # noqa: E402

if __name__ == "__main__":
    db, run_id, lines, rate = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    with TrackedWorkflowRunner(db) as runner:
        result = runner.execute(chatty, {"lines": lines, "rate": rate}, run_id=run_id,
                                source=__file__)
    print(result.status)
