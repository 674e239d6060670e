"""A job that starts a grandchild and prints both pids as JSON, then sleeps (or exits at once,
leaving the grandchild behind); with --ignore-term both ignore SIGTERM, so only SIGKILL works."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time

parser = argparse.ArgumentParser()
parser.add_argument("--ignore-term", action="store_true")
parser.add_argument("--exit", action="store_true", help="exit at once, leaving the grandchild")
args = parser.parse_args()

if args.ignore_term:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    sleeper = [sys.executable, "-c",
               "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
               "print('grandchild ready', flush=True); time.sleep(120)"]
else:
    sleeper = ["sleep", "120"]
grandchild = subprocess.Popen(sleeper)
print(json.dumps({"pid": os.getpid(), "grandchild": grandchild.pid}), flush=True)
if not args.exit:
    time.sleep(120)
