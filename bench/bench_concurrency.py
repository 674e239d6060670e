"""Four processes write tracked runs into one store while a fifth reads, for a minute.

Counts lock errors seen by any process and checks that every written event is in the store.
Run: .venv/bin/python bench/bench_concurrency.py [SECONDS]
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from engine import RunStore

WRITER = Path(__file__).parent.parent / "tests" / "resources" / "store" / "writer_proc.py"


def main(seconds: float = 60.0) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "conc.db"
        RunStore(db).close()
        procs = [subprocess.Popen([sys.executable, str(WRITER), str(db), f"w{i}", str(seconds)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for i in range(4)]
        errors: list[str] = []
        reads = 0
        stop = threading.Event()

        def read() -> None:
            nonlocal reads
            store = RunStore(db)
            while not stop.is_set():
                try:
                    for run in store.list_runs(limit=20):
                        store.step_runs(run.run_id)
                    reads += 1
                except Exception as exc:  # counted, not raised: the figure is the count
                    errors.append(repr(exc))

        reader = threading.Thread(target=read)
        start = time.monotonic()
        reader.start()
        outs = [p.communicate() for p in procs]
        stop.set()
        reader.join()
        elapsed = time.monotonic() - start
        lock_errors = sum(err.count("locked") for _, err in outs) + len(errors)
        runs = sum(int(out.split()[-1]) for out, _ in outs)
        store = RunStore(db)
        events = store.db.scalar("SELECT count(*) FROM events")
        print(f"{elapsed:.0f} s, 4 writers + 1 reader: {runs} runs, {events} events "
              f"(expected {runs * 12}), {reads} reader sweeps, lock errors: {lock_errors}, "
              f"exit codes: {[p.returncode for p in procs]}")


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 60.0)
