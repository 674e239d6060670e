"""What running the packaging samples (A4, F4) does: package the workflow into ``dist/`` under
the samples scratch folder, run it here, inspect the archive without running it, then run the
archive with ``python`` in a fresh process, as a server would."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from engine import PackageResult, Workflow, WorkflowPackager
from sample_workflows._common import run_and_show, scratch_path


def package_run_inspect(workflow: Workflow, params: Mapping[str, Any] | None = None,
                        archive_args: Sequence[str] = ()) -> PackageResult:
    """Package first (before a run resolves any secret here), then run, inspect, run the archive."""
    packaged = WorkflowPackager().package(workflow, output_dir=scratch_path("dist"))
    run_and_show(workflow, params)
    manifest = WorkflowPackager.inspect(packaged.archive_path)  # checked, nothing runs
    print(f"\nArchive:      {packaged.archive_path}")
    print(f"  Workflow:     {manifest.workflow_name} v{manifest.workflow_version}, "
          f"{manifest.step_count} steps, tags {', '.join(manifest.tags)}")
    print(f"  Handlers:     {', '.join(manifest.handler_files)}")
    print(f"  Requires:     {', '.join(manifest.requirements)}")
    print(f"  Checksum:     {manifest.checksum}")
    print(f"  Packaged at:  {manifest.packaged_at}")
    for warning in manifest.warnings:
        print(f"  Warning:      {warning}")
    command = [sys.executable, str(packaged.archive_path), *archive_args]
    ran = subprocess.run(command, capture_output=True, text=True, timeout=120)
    print(f"\n$ python {packaged.archive_path.name} {' '.join(archive_args)}".rstrip()
          + f"   (exit {ran.returncode})")
    print(ran.stdout, end="")
    if ran.returncode:
        print(ran.stderr, end="")
    return packaged
