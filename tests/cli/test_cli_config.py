"""``spine-engine config show`` (a profile's settings, secrets redacted, bad input exit 2) and
``spine-engine flags`` (list the registered flags, set one for every process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from engine import FeatureFlags, SecretsResolver
from engine.secrets import masking

Cli = Callable[..., Any]  # the conftest's ``cli`` fixture

CONFIG = """\
default_profile: dev
defaults:
  sec: {edgar_url: "https://efts.sec.gov"}
profiles:
  dev:
    database_url: "postgresql://etl:dev-pw-2468@localhost/sec"
  prod:
    database_url: secret:env:CLI_CFG_DATABASE_URL
    sec: {token: "secret:env:CLI_CFG_TOKEN"}
"""
PROD_URL = "postgresql://etl:prod-secret-1357@db/sec"
FLOW = """\
from engine import FeatureFlags, Step, Workflow
FeatureFlags.register("cli_test.new_parser", default=False, description="v2 parser")
FeatureFlags.register("cli_test.enrich", default=True)
wf = Workflow("cli_test.flagged", [Step.wait("nap", 0)])
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
            cli: Cli) -> Iterator[Path]:
    """A project folder (spine.yaml, flows/) as the working directory; flags and masked
    values registered by a test do not outlive it."""
    folder = tmp_path / "project"
    (folder / "flows").mkdir(parents=True)
    (folder / "spine.yaml").write_text(CONFIG, encoding="utf-8")
    (folder / "flows" / "flagged.py").write_text(FLOW, encoding="utf-8")
    monkeypatch.chdir(folder)
    for key in [k for k in os.environ if k.startswith(("SPINE_FEATURE_", "CLI_CFG_"))]:
        monkeypatch.delenv(key)
    monkeypatch.delenv("SPINE_PROFILE", raising=False)
    monkeypatch.setattr(FeatureFlags, "_flags", dict(FeatureFlags._flags))
    monkeypatch.setattr(FeatureFlags, "_values", dict(FeatureFlags._values))
    before = masking.known_values()
    previous = SecretsResolver.set_default(None)
    yield folder
    SecretsResolver.set_default(previous)
    masking.forget(masking.known_values() - before)


# --------------------------------------------------------------------------- config
def test_config_show_prints_the_default_profile_with_passwords_redacted(
        cli: Cli, project: Path) -> None:
    out = cli("config", "show")
    assert out.code == 0, out.err
    assert "profile dev" in out.out and "spine.yaml" in out.out
    assert "postgresql://etl:[REDACTED]@localhost/sec" in out.out
    assert "dev-pw-2468" not in out.out
    assert "sec.edgar_url" in out.out and "defaults" in out.out


def test_config_show_json_redacts_secrets_and_names_their_references(
        cli: Cli, project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLI_CFG_DATABASE_URL", PROD_URL)
    monkeypatch.setenv("CLI_CFG_TOKEN", "tok-112233")
    out = cli("config", "show", "--profile", "prod", "--json")
    assert out.code == 0, out.err
    data = json.loads(out.out)
    assert data["profile"] == "prod"
    assert data["profiles"] == ["dev", "prod"]
    assert data["settings"]["database_url"] == "[REDACTED]"
    assert data["settings"]["sec"] == {"edgar_url": "https://efts.sec.gov",
                                       "token": "[REDACTED]"}
    assert data["secrets"] == {"database_url": "secret:env:CLI_CFG_DATABASE_URL",
                               "sec.token": "secret:env:CLI_CFG_TOKEN"}
    assert PROD_URL not in out.out and "tok-112233" not in out.out


def test_config_show_with_a_missing_secret_exits_2_naming_key_and_reference(
        cli: Cli, project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPINE_PROFILE", "prod")
    out = cli("config", "show")
    assert out.code == 2
    assert "config key 'database_url' (profile 'prod')" in out.err
    assert "secret:env:CLI_CFG_DATABASE_URL" in out.err and "not found" in out.err
    assert "Traceback" not in out.err
    unchecked = cli("config", "show", "--no-check", "--json")
    assert unchecked.code == 0
    assert json.loads(unchecked.out)["settings"]["database_url"] == "[REDACTED]"


@pytest.mark.parametrize(("argv", "says"), [
    (("--profile", "qa"), "unknown profile 'qa' (profiles: dev, prod)"),
    (("--file", "nope.yaml"), "config file 'nope.yaml' does not exist"),
])
def test_config_show_bad_input_exits_2(cli: Cli, project: Path,
                                       argv: tuple[str, ...], says: str) -> None:
    out = cli("config", "show", *argv)
    assert out.code == 2
    assert says in out.err


def test_config_show_of_a_broken_file_names_its_line(cli: Cli,
                                                     project: Path) -> None:
    (project / "spine.yaml").write_text("profiles:\n  dev:\n    log_level: LOUD\n",
                                        encoding="utf-8")
    out = cli("config", "show")
    assert out.code == 2
    assert "spine.yaml:3:" in out.err and "log_level" in out.err


# --------------------------------------------------------------------------- flags
def test_flags_list_shows_registered_flags_and_what_decides_them(
        cli: Cli, project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPINE_FEATURE_CLI_TEST_ENRICH", "0")
    out = cli("flags", "list", "--paths", "flows", "--json")
    assert out.code == 0, out.err
    flags = {f["name"]: f for f in json.loads(out.out)["flags"]}
    assert flags["cli_test.new_parser"] == {
        "name": "cli_test.new_parser", "enabled": False, "default": False,
        "source": "default", "description": "v2 parser", "registered": True}
    assert flags["cli_test.enrich"]["enabled"] is False
    assert flags["cli_test.enrich"]["source"] == "env"
    table = cli("flags", "list", "--paths", "flows")
    assert table.code == 0
    assert "cli_test.new_parser" in table.out and "$SPINE_FEATURE_CLI_TEST_ENRICH" in table.out
    samples = cli("flags")  # alone: lists, over ./workflows or the bundled samples (B5's)
    assert samples.code == 0 and "use_new_parser" in samples.out


def test_flags_set_persists_for_every_process(cli: Cli, project: Path,
                                              tmp_path: Path) -> None:
    out = cli("flags", "set", "cli_test.new_parser", "on", "--paths", "flows")
    assert out.code == 0, out.err
    flags_file = tmp_path / "home" / "flags.json"  # $SPINE_HOME/flags.json
    assert f"saved in {flags_file}" in out.out
    assert json.loads(flags_file.read_text()) == {"flags": {"cli_test.new_parser": True}}
    listed = json.loads(cli("flags", "list", "--paths", "flows", "--json").out)["flags"]
    assert {f["name"]: (f["enabled"], f["source"]) for f in listed}["cli_test.new_parser"] == \
        (True, "file")

    check = ("import runpy, sys; runpy.run_path('flows/flagged.py'); "
             "from engine import FeatureFlags; "
             "print(FeatureFlags.is_enabled('cli_test.new_parser'))")
    other = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True,
                           cwd=project, env=dict(os.environ), timeout=60, check=True)
    assert other.stdout.strip() == "True"

    assert cli("flags", "set", "cli_test.new_parser", "off", "--paths", "flows").code == 0
    assert json.loads(flags_file.read_text()) == {"flags": {"cli_test.new_parser": False}}


def test_flags_set_warns_when_the_environment_wins(cli: Cli, project: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPINE_FEATURE_CLI_TEST_NEW_PARSER", "0")
    out = cli("flags", "set", "cli_test.new_parser", "on", "--paths", "flows")
    assert out.code == 0
    assert "$SPINE_FEATURE_CLI_TEST_NEW_PARSER is set here and wins" in out.err


@pytest.mark.parametrize(("argv", "says"), [
    (("set", "cli_test.unknown", "on"), "unknown feature flag 'cli_test.unknown'"),
    (("set", "cli_test.new_parser", "maybe"), "'maybe' is not on or off"),
])
def test_flags_bad_input_exits_2(cli: Cli, project: Path,
                                 argv: tuple[str, ...], says: str) -> None:
    out = cli("flags", *argv, "--paths", "flows")
    assert out.code == 2
    assert says in out.err


def test_flags_set_force_saves_an_unregistered_flag(cli: Cli,
                                                     project: Path) -> None:
    out = cli("flags", "set", "cli_test.later", "on", "--paths", "flows", "--force")
    assert out.code == 0
    listed = json.loads(cli("flags", "list", "--paths", "flows", "--json").out)["flags"]
    later = next(f for f in listed if f["name"] == "cli_test.later")
    assert later["registered"] is False and later["enabled"] is True


def test_a_broken_flags_file_is_a_clear_error(cli: Cli, project: Path,
                                              tmp_path: Path) -> None:
    flags_file = tmp_path / "home" / "flags.json"
    flags_file.parent.mkdir(parents=True, exist_ok=True)
    flags_file.write_text("{not json", encoding="utf-8")
    out = cli("flags", "list", "--paths", "flows")
    assert out.code == 2
    assert "feature flags file" in out.err and "fix it or delete it" in out.err
