"""Packaging (spec A4, F4): real archives written from real workflow files, read back with
``zipfile``, tampered with byte by byte, and run with ``python x.pyz`` in fresh processes."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from engine import (
    DiscoveredWorkflow,
    NotAPackageError,
    PackageError,
    PackageManifest,
    PackageSecretError,
    PackageTamperedError,
    RunStatus,
    SecretsResolver,
    SecretValue,
    Step,
    Workflow,
    WorkflowPackager,
    load_file,
    registry,
)
from engine.secrets import masking
from engine.store import RunStore

RESOURCES = Path(__file__).resolve().parents[1] / "resources" / "packaging" / "flows"
LOCAL_MODULES = ("pkg_orders", "pkg_helpers", "pkg_secret", "pkg_nested", "pkgtools",
                 "pkg_checkpointed")
TOKEN = "pkg-T0ken-5e1f7a-never-in-an-archive"


@pytest.fixture
def flows(tmp_path: Path) -> Iterator[Path]:
    """A copy of the fixture flows under the test's folder, loaded fresh: the modules, paths,
    registered workflows and known secret values of one test never reach another."""
    folder = tmp_path / "flows"
    shutil.copytree(RESOURCES, folder)
    saved_path, known = list(sys.path), masking.known_values()
    workflows, pipelines = set(registry.list_workflows()), set(registry.list_pipelines())
    _forget_modules()
    yield folder
    _forget_modules()
    sys.path[:] = saved_path
    masking.forget(masking.known_values() - known)
    for name in set(registry.list_workflows()) - workflows:
        registry.unregister_workflow(name)
    for name in set(registry.list_pipelines()) - pipelines:
        registry.unregister_pipeline(name)


def _forget_modules() -> None:
    for name in [n for n in sys.modules if n.split(".")[0] in LOCAL_MODULES]:
        del sys.modules[name]


def load(file: Path, name: str) -> DiscoveredWorkflow:
    found, errors = load_file(file)
    assert errors == []
    return next(w for w in found if w.name == name)


def run_archive(archive: Path, *args: str, cwd: Path, env: dict[str, str] | None = None
                ) -> subprocess.CompletedProcess[str]:
    """``python ARCHIVE args`` in a fresh process, away from the flows folder."""
    environ = {k: v for k, v in os.environ.items() if k not in ("SPINE_DB", "PKG_TOKEN")}
    environ.update({"SPINE_HOME": str(cwd / "home"), **(env or {})})
    return subprocess.run([sys.executable, str(archive), *args], cwd=cwd, env=environ,
                          capture_output=True, text=True, timeout=120)


def members(archive: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(archive) as zf:
        return {name: zf.read(name) for name in zf.namelist() if not name.endswith("/")}


def rewrite(archive: Path, edit: Callable[[dict[str, bytes]], None]) -> None:
    """Write ``archive`` again with its members changed by ``edit`` (the shebang is dropped)."""
    files = members(archive)
    edit(files)
    with zipfile.ZipFile(archive, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)


def pin(distribution: str) -> str:
    return f"{distribution}=={importlib.metadata.version(distribution)}"


# --------------------------------------------------------------------------- writing
def test_the_archive_holds_manifest_definition_and_the_handler_sources(
        flows: Path, tmp_path: Path) -> None:
    result = WorkflowPackager().package(load(flows / "pkg_orders.py", "pkg.orders"),
                                        tmp_path / "dist")
    assert result.archive_path == tmp_path / "dist" / "pkg_orders.pyz"
    assert result.archive_path.read_bytes().startswith(b"#!/usr/bin/env python3\n")
    files = members(result.archive_path)
    carried = {"pkg_orders.py", "pkg_helpers.py", "pkgtools/__init__.py", "pkgtools/fmt.py"}
    assert set(files) == carried | {"__main__.py", "manifest.json", "workflow.yaml"}
    for name in carried:  # byte for byte the user's files
        assert files[name] == (flows / name).read_bytes()

    manifest = result.manifest
    assert (manifest.workflow_name, manifest.workflow_version, manifest.step_count) == \
        ("pkg.orders", 1, 3)
    assert (manifest.name, manifest.version) == ("pkg.orders", 1)
    assert manifest.tags == ("packaging",)
    assert (manifest.definition, manifest.entry) == ("yaml", "workflow.yaml")
    assert manifest.modules == ("pkg_orders",)
    assert manifest.handler_files == tuple(sorted(carried))
    # the engine's distribution, and PyYAML imported by the helper; never the stdlib
    assert manifest.requirements == (pin("spine-tui"), pin("PyYAML"))
    assert manifest.warnings == ()

    # the checksum is SHA-256 over "<sha256>  <path>" lines of every other file, sorted
    digests = {n: hashlib.sha256(d).hexdigest() for n, d in files.items()
               if n != "manifest.json"}
    listing = "".join(f"{digests[n]}  {n}\n" for n in sorted(digests))
    assert manifest.checksum == "sha256:" + hashlib.sha256(listing.encode()).hexdigest()
    assert dict(manifest.files) == digests
    assert json.loads(files["manifest.json"]) == manifest.to_dict()
    assert WorkflowPackager.inspect(result.archive_path) == manifest
    assert "function: pkg_orders:make_orders" in files["workflow.yaml"].decode()

    again = WorkflowPackager().package(load(flows / "pkg_orders.py", "pkg.orders"),
                                       tmp_path / "again")
    assert again.manifest.checksum == manifest.checksum  # same contents, same checksum


def test_the_archive_runs_with_python_after_its_sources_are_gone(flows: Path,
                                                                  tmp_path: Path) -> None:
    archive = WorkflowPackager().package(load(flows / "pkg_orders.py", "pkg.orders"),
                                         tmp_path / "dist").archive_path
    shutil.rmtree(flows)  # the archive's own copies are what runs
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    db = tmp_path / "store" / "runs.db"

    ran = run_archive(archive, "--param", "n=4", "--db", str(db), cwd=elsewhere)
    assert ran.returncode == 0, ran.stderr
    header, *summary = ran.stdout.splitlines()
    run_id = header.split()[1]
    assert header == f"run {run_id}  pkg.orders (3 steps)"
    assert "completed" in summary[0] and "$25.00" in ran.stdout  # (1+2+3+4) units x 2.5
    store = RunStore(db)
    try:
        record = store.get_run(run_id)
        assert (record.status, record.started_by) == (RunStatus.COMPLETED, "package")
        assert store.outputs(run_id)["report"]["report"] == "$25.00"
    finally:
        store.close()

    as_json = run_archive(archive, "--json", "--db", str(db), cwd=elsewhere)
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout)["outputs"]["report"]["report"] == "$15.00"


def test_exit_status_is_1_for_a_failed_run_and_2_for_bad_input(flows: Path,
                                                                tmp_path: Path) -> None:
    archive = WorkflowPackager().package(load(flows / "pkg_orders.py", "pkg.orders"),
                                         tmp_path).archive_path
    usage = run_archive(archive, "--help", cwd=tmp_path)
    assert usage.returncode == 0 and "pkg.orders v1 (3 steps)" in usage.stdout
    shown = run_archive(archive, "--manifest", cwd=tmp_path)  # nothing runs
    assert shown.returncode == 0
    assert json.loads(shown.stdout) == WorkflowPackager.inspect(archive).to_dict()
    bad = run_archive(archive, "--param", "no-equals-sign", cwd=tmp_path)
    assert bad.returncode == 2 and bad.stderr.startswith("error: ")
    assert "Traceback" not in bad.stderr
    assert not (tmp_path / "home").exists()  # no run store was even opened

    failed = run_archive(archive, "--param", "fail=true", cwd=tmp_path)
    assert failed.returncode == 1
    assert "failed" in failed.stdout and "asked to fail" in failed.stdout


def test_a_missing_requirement_is_named_before_anything_runs(flows: Path,
                                                             tmp_path: Path) -> None:
    archive = WorkflowPackager().package(load(flows / "pkg_orders.py", "pkg.orders"),
                                         tmp_path).archive_path

    def require_more(files: dict[str, bytes]) -> None:  # requirements are not checksummed
        data = json.loads(files["manifest.json"])
        data["requirements"].append("no-such-dist-for-spine==1.0")
        files["manifest.json"] = json.dumps(data).encode()

    rewrite(archive, require_more)
    ran = run_archive(archive, cwd=tmp_path)
    assert ran.returncode == 2
    assert "needs no-such-dist-for-spine==1.0, not installed here" in ran.stderr
    assert "pip install 'no-such-dist-for-spine==1.0'" in ran.stderr


def test_a_workflow_that_is_no_yaml_is_defined_by_its_module(flows: Path,
                                                             tmp_path: Path) -> None:
    child = WorkflowPackager().package(load(flows / "pkg_nested.py", "pkg.child"), tmp_path)
    assert (child.manifest.definition, child.manifest.entry) == ("module", "pkg_nested")
    assert "workflow.yaml" not in members(child.archive_path)
    assert any("lambda" in w for w in child.manifest.warnings)
    ran = run_archive(child.archive_path, cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert '{"value": 21}' in ran.stdout

    # a sub-workflow and a pipeline defined by the carried module are there when it runs
    parent = WorkflowPackager().package(load(flows / "pkg_nested.py", "pkg.parent"), tmp_path)
    assert parent.manifest.definition == "yaml" and parent.manifest.warnings == ()
    ran = run_archive(parent.archive_path, cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert '{"doubled": 42}' in ran.stdout


def test_settings_a_yaml_spec_cannot_hold_keep_the_module_as_the_definition(
        flows: Path, tmp_path: Path) -> None:
    (flows / "pkg_checkpointed.py").write_text(
        "from engine import CheckpointConfig, Step, Workflow\n\n\n"
        "def tick() -> dict:\n    return {'ticked': True}\n\n\n"
        "wf = Workflow('pkg.checkpointed', [Step.from_function('tick', tick)],\n"
        "              checkpoint_config=CheckpointConfig(frequency='per_step'))\n")
    result = WorkflowPackager().package(load(flows / "pkg_checkpointed.py",
                                             "pkg.checkpointed"), tmp_path)
    assert (result.manifest.definition, result.manifest.entry) == ("module", "pkg_checkpointed")
    assert result.manifest.warnings == (
        "the definition is module 'pkg_checkpointed', not a YAML spec: a YAML spec has no "
        "place for its checkpoint_config",)
    ran = run_archive(result.archive_path, "--json", cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout)["outputs"] == {"tick": {"ticked": True}}


# --------------------------------------------------------------------------- secrets
def test_no_archive_byte_holds_a_secret_and_the_reference_is_resolved_where_it_runs(
        flows: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PKG_TOKEN", TOKEN)
    assert SecretsResolver().resolve("secret:env:PKG_TOKEN") == TOKEN  # known to the masker
    item = load(flows / "pkg_secret.py", "pkg.secret")
    plain = WorkflowPackager(compressed=False).package(item, tmp_path / "plain")
    packed = WorkflowPackager().package(item, tmp_path / "packed")
    for archive in (plain.archive_path, packed.archive_path):
        assert TOKEN.encode() not in archive.read_bytes()
        assert all(TOKEN.encode() not in data for data in members(archive).values())
    definition = members(plain.archive_path)["workflow.yaml"].decode()
    assert "token: secret:env:PKG_TOKEN" in definition

    db = tmp_path / "store" / "runs.db"
    ran = run_archive(packed.archive_path, "--db", str(db), cwd=tmp_path,
                      env={"PKG_TOKEN": TOKEN})
    assert ran.returncode == 0, ran.stderr
    assert hashlib.sha256(TOKEN.encode()).hexdigest()[:40] in ran.stdout  # it had the value
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name == "runs.db" for p in written)
    assert [p for p in written if TOKEN.encode() in p.read_bytes()] == []


def test_a_resolved_secret_value_in_a_definition_is_refused(flows: Path,
                                                            tmp_path: Path) -> None:
    def connect(password: str = "") -> dict:
        return {"ok": bool(password)}

    wf = Workflow("pkg.resolved", [Step.from_function(
        "connect", connect, config={"db": {"password": SecretValue(TOKEN)}})])
    with pytest.raises(PackageError, match=r"step 'connect' config 'db.password' holds a "
                                           r"resolved SecretValue"):
        WorkflowPackager().package(wf, tmp_path / "dist")
    assert not (tmp_path / "dist").exists()


def test_source_holding_a_value_resolved_in_this_process_is_refused(flows: Path,
                                                                    tmp_path: Path) -> None:
    masking.register("PKG_TEST_MARKER")  # a value pkg_helpers.py spells out
    with pytest.raises(PackageSecretError) as caught:
        WorkflowPackager().package(load(flows / "pkg_orders.py", "pkg.orders"),
                                   tmp_path / "dist")
    assert caught.value.files == ("pkg_helpers.py",)
    assert "PKG_TEST_MARKER" not in str(caught.value)  # the error never shows the value
    assert not (tmp_path / "dist").exists()  # nothing written


# --------------------------------------------------------------------------- reading
@pytest.fixture
def archive(flows: Path, tmp_path: Path) -> Path:
    return WorkflowPackager().package(load(flows / "pkg_orders.py", "pkg.orders"),
                                      tmp_path / "dist").archive_path


def test_inspect_names_each_changed_missing_or_added_file(archive: Path) -> None:
    original = archive.read_bytes()

    def change(files: dict[str, bytes]) -> None:
        files["pkg_helpers.py"] += b"\n# edited\n"

    rewrite(archive, change)
    with pytest.raises(PackageTamperedError, match="changed: pkg_helpers.py") as caught:
        WorkflowPackager.inspect(archive)
    assert (caught.value.changed, caught.value.missing, caught.value.added) == \
        (("pkg_helpers.py",), (), ())

    archive.write_bytes(original)
    rewrite(archive, lambda files: files.pop("pkgtools/fmt.py"))
    with pytest.raises(PackageTamperedError, match="missing: pkgtools/fmt.py"):
        WorkflowPackager.inspect(archive)

    archive.write_bytes(original)
    rewrite(archive, lambda files: files.update({"sitecustomize.py": b"print('hi')\n"}))
    with pytest.raises(PackageTamperedError, match="not in the manifest: sitecustomize.py"):
        WorkflowPackager.inspect(archive)

    def relist(files: dict[str, bytes]) -> None:  # file and its listed digest both changed
        files["pkg_helpers.py"] += b"\n# edited\n"
        data = json.loads(files["manifest.json"])
        data["files"]["pkg_helpers.py"] = hashlib.sha256(files["pkg_helpers.py"]).hexdigest()
        files["manifest.json"] = json.dumps(data).encode()

    archive.write_bytes(original)
    rewrite(archive, relist)
    with pytest.raises(PackageTamperedError, match="does not match its checksum"):
        WorkflowPackager.inspect(archive)


def test_a_tampered_archive_never_runs_its_code(archive: Path, tmp_path: Path) -> None:
    marker = tmp_path / "marker"

    def plant(files: dict[str, bytes]) -> None:
        files["pkg_helpers.py"] += b"\nPath(os.environ[MARKER_ENV]).write_text('tampered')\n"

    rewrite(archive, plant)
    ran = run_archive(archive, cwd=tmp_path, env={"PKG_TEST_MARKER": str(marker)})
    assert ran.returncode == 2
    assert "was modified after it was packaged (changed: pkg_helpers.py)" in ran.stderr
    assert not marker.exists()


def test_a_file_that_is_not_our_package_is_named_as_such(tmp_path: Path) -> None:
    text = tmp_path / "notes.pyz"
    text.write_text("hello\n")
    plain = tmp_path / "plain.zip"
    with zipfile.ZipFile(plain, "w") as zf:
        zf.writestr("__main__.py", "print('hi')\n")
    foreign = tmp_path / "foreign.pyz"
    with zipfile.ZipFile(foreign, "w") as zf:
        zf.writestr("manifest.json", json.dumps({"format": "something-else"}))
    broken = tmp_path / "broken.pyz"
    with zipfile.ZipFile(broken, "w") as zf:
        zf.writestr("manifest.json", "{not json")
    cases = {text: "it is not a zip archive", plain: "it is a zip without manifest.json",
             foreign: "does not say format 'spine-workflow-package'",
             broken: "manifest.json is not JSON", tmp_path / "absent.pyz": "no such file",
             tmp_path: "it is a folder"}
    for path, reason in cases.items():
        with pytest.raises(NotAPackageError, match=reason) as caught:
            WorkflowPackager.inspect(path)
        assert caught.value.path == str(path)
        assert isinstance(caught.value, PackageError)


def test_manifest_round_trips_and_rejects_what_it_did_not_write(archive: Path) -> None:
    manifest = WorkflowPackager.inspect(archive)
    assert PackageManifest.from_dict(manifest.to_dict()) == manifest
    data = manifest.to_dict()
    data["step_count"] = "three"
    with pytest.raises(NotAPackageError, match="step_count must be a whole number"):
        PackageManifest.from_dict(data)
    with pytest.raises(PackageError, match="uses package format 99"):
        PackageManifest.from_dict({**manifest.to_dict(), "format_version": 99})


# --------------------------------------------------------------------------- samples
@pytest.mark.parametrize(("module", "archive_name"), [
    ("a4_portable_etl", "portable_etl.pyz"),
    ("f4_portable_financial_etl", "portable_financial_etl.pyz")])
def test_a_packaged_sample_runs_from_its_archive(module: str, archive_name: str,
                                                 tmp_path: Path) -> None:
    """``python -m sample_workflows.X`` packages, runs, inspects and runs the archive; the
    archive carries the sample's file and its pipelines module, and finds the rest of the
    samples package (``_common``, the bundled data) where spine-tui is installed."""
    scratch = tmp_path / "scratch"
    env = {**os.environ, "SPINE_SAMPLES_SCRATCH": str(scratch), "PGUSER": TOKEN,
           "SPINE_DB": str(tmp_path / "spine.db")}
    ran = subprocess.run([sys.executable, "-m", f"sample_workflows.{module}"], cwd=tmp_path,
                         env=env, capture_output=True, text=True, timeout=180)
    assert ran.returncode == 0 and ran.stderr == "", ran.stderr
    assert f"$ python {archive_name}   (exit 0)" in ran.stdout
    assert ran.stdout.count("completed in") == 2  # here, and from the archive
    archive = scratch / "dist" / archive_name
    manifest = WorkflowPackager.inspect(archive)
    assert set(manifest.handler_files) == {"sample_workflows/__init__.py",
                                           "sample_workflows/_warehouse.py",
                                           f"sample_workflows/{module}.py"}
    assert manifest.requirements == (pin("spine-tui"),)
    assert manifest.warnings == ()
    assert all(TOKEN.encode() not in data for data in members(archive).values())
    assert TOKEN not in ran.stdout  # F4's resolved user name shows as [REDACTED]
