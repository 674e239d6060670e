"""``spine-engine package`` and ``inspect``: archives written from the fixture flows, read back,
tampered with, and run with ``python`` in a fresh process."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

FLOWS = Path(__file__).resolve().parents[1] / "resources" / "packaging" / "flows"


def test_package_writes_an_archive_that_inspect_reads_and_python_runs(cli,
                                                                      tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    packaged = cli("package", "pkg.orders", "--paths", str(FLOWS), "-o", str(dist))
    assert packaged.code == 0, packaged.err
    archive = dist / "pkg_orders.pyz"
    assert archive.is_file()
    assert "wrote" in packaged.out and "pkg.orders v1" in packaged.out
    assert "pkg_helpers.py, pkg_orders.py, pkgtools/__init__.py, pkgtools/fmt.py" \
        in packaged.out
    assert "spine-tui==" in packaged.out and "PyYAML==" in packaged.out

    shown = cli("inspect", str(archive))
    assert shown.code == 0, shown.err
    assert "checksum verified" in shown.out and "workflow.yaml" in shown.out
    manifest = json.loads(cli("inspect", str(archive), "--json").out)
    assert (manifest["workflow_name"], manifest["step_count"]) == ("pkg.orders", 3)

    by_file = json.loads(cli("package", str(FLOWS / "pkg_secret.py"), "-o", str(dist),
                             "--json").out)
    assert by_file["archive"] == str(dist / "pkg_secret.pyz")
    assert by_file["manifest"]["handler_files"] == ["pkg_secret.py"]
    assert by_file["size_bytes"] == (dist / "pkg_secret.pyz").stat().st_size

    ran = subprocess.run([sys.executable, str(archive), "--param", "n=2"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)  # $SPINE_DB: this test's
    assert ran.returncode == 0, ran.stderr
    assert "$7.50" in ran.stdout  # (1 + 2) units x 2.5
    runs = json.loads(cli("runs", "--json").out)["runs"]
    assert [(r["workflow"], r["status"], r["started_by"]) for r in runs] == \
        [("pkg.orders", "completed", "package")]


def test_bad_input_exits_2_with_a_specific_error(cli, tmp_path: Path) -> None:
    unknown = cli("package", "pkg.nope", "--paths", str(FLOWS), "-o", str(tmp_path))
    assert unknown.code == 2 and "no workflow named 'pkg.nope'" in unknown.err
    assert list(tmp_path.iterdir()) == []

    not_ours = cli("inspect", str(FLOWS / "pkg_orders.py"))
    assert not_ours.code == 2
    assert "is not a spine workflow package: it is not a zip archive" in not_ours.err
    absent = cli("inspect", str(tmp_path / "absent.pyz"))
    assert absent.code == 2 and "no such file" in absent.err

    assert cli("package", "pkg.orders", "--paths", str(FLOWS), "-o", str(tmp_path)).code == 0
    archive = tmp_path / "pkg_orders.pyz"
    with zipfile.ZipFile(archive) as zf:
        files = {n: zf.read(n) for n in zf.namelist() if not n.endswith("/")}
    files["pkgtools/fmt.py"] += b"\n# edited after packaging\n"
    with zipfile.ZipFile(archive, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    tampered = cli("inspect", str(archive))
    assert tampered.code == 2
    assert "was modified after it was packaged (changed: pkgtools/fmt.py)" in tampered.err
    assert "Traceback" not in tampered.out + tampered.err

    usage = cli("package", "pkg.orders", "--paths", str(FLOWS))  # -o is required
    assert usage.code == 2
