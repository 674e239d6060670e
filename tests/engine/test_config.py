"""``SpineConfig``: profiles from ``spine.yaml`` (with shared defaults and aliases), ``SPINE_*``
environment overrides, ``.env`` files a profile asks for, secret references resolved only when
read and redacted whenever shown, and errors that say where the file is wrong."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

import engine
from engine import (
    ConfigError,
    ManagedWorkflow,
    MissingSecretError,
    SecretsResolver,
    SecretValue,
    SpineConfig,
)
from engine.secrets import masking

CONFIG = """\
default_profile: dev
defaults:
  log_level: info
  sec:
    edgar_url: https://efts.sec.gov/LATEST
    target_table: silver_facts
profiles:
  dev:
    database_url: sqlite:///dev.db
    dotenv: .env
  staging:
    database_url: postgresql://etl:stage-pw-1234@stage-db:5432/sec
  prod:
    database_url: secret:env:CFG_TEST_DATABASE_URL
    log_level: WARNING
    secrets_dir: secrets
    sec:
      target_table: gold_facts
      api_token: secret:file:sec_api_token
"""


@pytest.fixture(autouse=True)
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A project folder with spine.yaml and a .env; no SPINE_* settings leak in or out."""
    for key in list(os.environ):
        if key.startswith("SPINE_") or key.startswith("CFG_TEST_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "spine.yaml").write_text(CONFIG, encoding="utf-8")
    (tmp_path / ".env").write_text("CFG_TEST_FROM_DOTENV=dotenv-value\n"
                                   "SPINE_VALUES__SEC__BATCH=500\n", encoding="utf-8")
    before = masking.known_values()
    previous = SecretsResolver.set_default(None)
    environ = dict(os.environ)
    yield tmp_path
    SecretsResolver.set_default(previous)
    masking.forget(masking.known_values() - before)
    os.environ.clear()  # .env files load into the environment: put it back as it was
    os.environ.update(environ)


def test_the_default_profile_merges_defaults_and_loads_its_dotenv(workdir: Path) -> None:
    config = SpineConfig.load()
    assert config.profile == "dev"
    assert config.path == workdir / "spine.yaml"
    assert config.available_profiles == ("dev", "staging", "prod")
    assert config.database_url == "sqlite:///dev.db"
    assert config.log_level == "INFO"  # normalised
    assert config.get("sec.edgar_url") == "https://efts.sec.gov/LATEST"
    assert config.get("sec") == {"edgar_url": "https://efts.sec.gov/LATEST",
                                 "target_table": "silver_facts", "batch": 500}
    assert config.dotenv_files == (workdir / ".env",)
    assert os.environ["CFG_TEST_FROM_DOTENV"] == "dotenv-value"
    assert config.get("missing.key", "fallback") == "fallback"


def test_spec_14c_names_with_the_production_alias(monkeypatch: pytest.MonkeyPatch,
                                                  workdir: Path) -> None:
    monkeypatch.setenv("CFG_TEST_DATABASE_URL", "postgresql://etl:prod-pw-5678@prod-db/sec")
    (workdir / "secrets").mkdir()
    (workdir / "secrets" / "sec_api_token").write_text("tok-9876-abcd\n", encoding="utf-8")
    config = SpineConfig.load(profile="production")  # the spec's spelling of "prod"

    def fetch_data(endpoint: str) -> dict:
        return {"endpoint": endpoint}

    def store_data(table: str) -> dict:
        return {"table": table}

    wf = (
        ManagedWorkflow(
            "sec.daily_etl",
            db=str(workdir / "runs.db"),
        )
        .step("fetch", fetch_data, config={"endpoint": config.get("sec.edgar_url")})
        .step("store", store_data, config={"table": config.get("sec.target_table")})
        .build()
    )
    result = wf.run()
    assert result.outputs == {"fetch": {"endpoint": "https://efts.sec.gov/LATEST"},
                              "store": {"table": "gold_facts"}}
    assert config.profile == "prod"
    assert config.database_url == "postgresql://etl:prod-pw-5678@prod-db/sec"
    assert config.get("sec.api_token") == "tok-9876-abcd"  # relative secrets_dir, from the file
    assert isinstance(config.secret("sec.api_token"), SecretValue)
    assert masking.mask("tok-9876-abcd") == "[REDACTED]"  # a resolved value is masked


def test_environment_overrides_beat_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPINE_PROFILE", "staging")
    monkeypatch.setenv("SPINE_LOG_LEVEL", "debug")
    monkeypatch.setenv("SPINE_VALUES__SEC__TARGET_TABLE", "override_table")
    monkeypatch.setenv("SPINE_DB", "/tmp/elsewhere.db")
    config = SpineConfig.load()
    assert config.profile == "staging"
    assert config.log_level == "DEBUG"
    assert config.get("sec.target_table") == "override_table"
    assert config.db == Path("/tmp/elsewhere.db")
    sources = config.sources()
    assert sources["log_level"] == "env $SPINE_LOG_LEVEL"
    assert sources["sec.target_table"] == "env $SPINE_VALUES__SEC__TARGET_TABLE"
    assert sources["database_url"] == "profile staging"
    assert sources["sec.edgar_url"] == "defaults"
    assert sources["secrets_dir"] == "built-in"
    assert SpineConfig.load(profile="dev").profile == "dev"  # an explicit profile wins


def test_dotenv_never_overrides_what_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CFG_TEST_FROM_DOTENV", "real-env")
    SpineConfig.load(profile="dev")
    assert os.environ["CFG_TEST_FROM_DOTENV"] == "real-env"


def test_secrets_are_redacted_when_shown_and_resolved_only_when_read(
        monkeypatch: pytest.MonkeyPatch) -> None:
    config = SpineConfig.load(profile="prod")  # CFG_TEST_DATABASE_URL is not set: no error yet
    shown = config.to_dict()
    assert shown["database_url"] == "[REDACTED]"
    assert shown["sec"]["api_token"] == "[REDACTED]"
    assert config.references() == {"database_url": "secret:env:CFG_TEST_DATABASE_URL",
                                   "sec.api_token": "secret:file:sec_api_token"}
    assert config.raw("database_url") == "secret:env:CFG_TEST_DATABASE_URL"
    with pytest.raises(MissingSecretError) as info:
        config.check_secrets()
    assert "config key 'database_url' (profile 'prod')" in str(info.value)
    assert "secret:env:CFG_TEST_DATABASE_URL" in str(info.value)

    monkeypatch.setenv("CFG_TEST_DATABASE_URL", "postgresql://etl:pw-in-env-4321@db/sec")
    assert config.database_url == "postgresql://etl:pw-in-env-4321@db/sec"
    staging = SpineConfig.load(profile="staging")
    assert staging.to_dict()["database_url"] == \
        "postgresql://etl:[REDACTED]@stage-db:5432/sec"  # a password in a plain URL too
    assert "stage-pw-1234" not in repr(staging)
    assert "pw-in-env-4321" not in repr(config)


def test_no_config_file_means_environment_only(workdir: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    (workdir / "spine.yaml").unlink()
    monkeypatch.setenv("SPINE_DATABASE_URL", "sqlite:///env.db")
    config = SpineConfig.load(profile="prod")
    assert config.path is None and config.profile == "prod"
    assert config.database_url == "sqlite:///env.db"
    assert config.sources()["database_url"] == "env $SPINE_DATABASE_URL"


def test_spine_config_env_points_at_another_file(workdir: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    other = workdir / "conf" / "team.yaml"
    other.parent.mkdir()
    other.write_text("profiles:\n  dev:\n    database_url: sqlite:///team.db\n",
                     encoding="utf-8")
    monkeypatch.setenv("SPINE_CONFIG", str(other))
    assert SpineConfig.load().database_url == "sqlite:///team.db"
    monkeypatch.setenv("SPINE_CONFIG", str(workdir / "absent.yaml"))
    with pytest.raises(ConfigError, match=r"absent.yaml.*\(from \$SPINE_CONFIG\) does not"):
        SpineConfig.load()


@pytest.mark.parametrize(("text", "line", "says"), [
    ("profiles:\n  dev: [unclosed\n", 3, "invalid YAML"),
    ("default_profile: dev\nprofile:\n  dev: {}\n", 2, "unknown top-level key 'profile'"),
    ("profiles:\n  dev:\n    log_level: LOUD\n", 3, "log_level: Value error, must be one of"),
    ("profiles:\n  dev: 3\n", 2, "profile 'dev' must be a mapping"),
    ("profiles:\n  dev:\n    dotenv: missing.env\n", None, "dotenv file"),
    ("- a list\n", 1, "must be a mapping"),
])
def test_a_broken_file_says_where(workdir: Path, text: str, line: int | None,
                                  says: str) -> None:
    (workdir / "spine.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=says) as info:
        SpineConfig.load()
    assert info.value.path is not None and info.value.path.name == "spine.yaml"
    assert info.value.line == line
    if line:
        assert f"spine.yaml:{line}:" in str(info.value)


def test_an_override_that_does_not_parse_is_a_config_error(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPINE_VALUES", "not json")
    with pytest.raises(ConfigError, match="check the SPINE_\\* variables"):
        SpineConfig.load()


def test_an_unknown_profile_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"unknown profile 'qa' \(profiles: dev, staging, "
                                          r"prod\)"):
        SpineConfig.load(profile="qa")


def test_config_names_are_public_and_loaded_lazily() -> None:
    assert {"SpineConfig", "ConfigError"} <= set(engine.__all__)
    script = textwrap.dedent("""
        import sys, engine
        assert "pydantic_settings" not in sys.modules
        engine.SpineConfig
        assert "pydantic_settings" in sys.modules
    """)
    subprocess.run([sys.executable, "-c", script], check=True)
