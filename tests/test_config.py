"""Settings: defaults, the environment, the config file, and clear errors for bad values."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelyard.config import Settings
from modelyard.errors import InvalidInput


def test_defaults_live_under_the_home(tmp_path: Path) -> None:
    settings = Settings.from_env({"MODELYARD_HOME": str(tmp_path)})
    assert settings.home == tmp_path
    assert settings.store_uri == f"sqlite:///{tmp_path / 'modelyard.db'}"
    assert settings.artifact_uri == str(tmp_path / "artifacts")
    assert settings.is_sqlite


def test_home_defaults_to_dot_modelyard_in_the_user_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    settings = Settings.from_env({})
    assert settings.home == tmp_path / ".modelyard"


def test_environment_variables_are_read(tmp_path: Path) -> None:
    env = {
        "MODELYARD_HOME": str(tmp_path),
        "MODELYARD_STORE_URI": "postgresql+psycopg://u@127.0.0.1:5432/db",
        "MODELYARD_ARTIFACT_URI": str(tmp_path / "elsewhere"),
        "MODELYARD_USER": "alice",
        "MODELYARD_HEARTBEAT_INTERVAL": "0.5",
        "MODELYARD_HEARTBEAT_TIMEOUT": "2.5",
        "MODELYARD_METRIC_BATCH_SIZE": "10",
        "MODELYARD_CAPTURE_ENVIRONMENT": "false",
    }
    settings = Settings.from_env(env)
    assert settings.store_uri == "postgresql+psycopg://u@127.0.0.1:5432/db"
    assert not settings.is_sqlite
    assert settings.artifact_uri == str(tmp_path / "elsewhere")
    assert settings.user == "alice"
    assert (settings.heartbeat_interval_s, settings.heartbeat_timeout_s) == (0.5, 2.5)
    assert settings.metric_batch_size == 10
    assert settings.capture_environment is False


@pytest.mark.parametrize("bare", ["postgresql://", "postgres://"])
def test_plain_postgres_urls_get_the_driver_named(bare: str, tmp_path: Path) -> None:
    settings = Settings.from_env({"MODELYARD_HOME": str(tmp_path), "MODELYARD_STORE_URI": bare + "u@h/db"})
    assert settings.store_uri == "postgresql+psycopg://u@h/db"


def test_precedence_keyword_over_env_over_file(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('user = "from-file"\nmetric_batch_size = 7\nheartbeat_interval_s = 3.0\n')
    env = {"MODELYARD_HOME": str(tmp_path), "MODELYARD_USER": "from-env", "MODELYARD_METRIC_BATCH_SIZE": "8"}
    settings = Settings.from_env(env, metric_batch_size=9)
    assert settings.user == "from-env"  # env beats the file
    assert settings.metric_batch_size == 9  # a keyword beats both
    assert settings.heartbeat_interval_s == 3.0  # the file beats the default


def test_invalid_toml_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text("user = = 'x'\n")
    with pytest.raises(InvalidInput, match=r"config\.toml is not valid TOML"):
        Settings.from_env({"MODELYARD_HOME": str(tmp_path)})


def test_a_bad_value_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="MODELYARD_METRIC_BATCH_SIZE"):
        Settings.from_env({"MODELYARD_HOME": str(tmp_path), "MODELYARD_METRIC_BATCH_SIZE": "lots"})
    with pytest.raises(InvalidInput, match="MODELYARD_HEARTBEAT_TIMEOUT"):
        Settings.from_env({"MODELYARD_HOME": str(tmp_path), "MODELYARD_HEARTBEAT_TIMEOUT": "-1"})


def test_unknown_keys_in_the_file_are_refused(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('stroe_uri = "sqlite:///x.db"\n')
    with pytest.raises(InvalidInput, match="stroe_uri"):
        Settings.from_env({"MODELYARD_HOME": str(tmp_path)})


def test_settings_are_immutable(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    with pytest.raises(ValueError):
        settings.user = "mallory"  # type: ignore[misc]


def test_home_with_a_tilde_is_expanded(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    settings = Settings.from_env({"MODELYARD_HOME": "~/yard"})
    assert settings.home == tmp_path / "yard"
    assert settings.store_uri == f"sqlite:///{tmp_path / 'yard' / 'modelyard.db'}"


def test_a_heartbeat_timeout_must_outlast_the_interval(tmp_path: Path) -> None:
    env = {"MODELYARD_HOME": str(tmp_path), "MODELYARD_HEARTBEAT_INTERVAL": "30", "MODELYARD_HEARTBEAT_TIMEOUT": "20"}
    with pytest.raises(InvalidInput, match=r"MODELYARD_HEARTBEAT_TIMEOUT \(20s\) must be longer than .*\(30s\)"):
        Settings.from_env(env)


def test_every_variable_is_in_the_readme_configuration_table() -> None:
    from pathlib import Path

    from modelyard.config import _ENV_NAMES

    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("## Configuration") : readme.index("## CLI")]
    unused = {"MODELYARD_TRACKING_URI"}  # set_tracking_uri() sets the store URI; no code reads this one
    missing = [v for v in _ENV_NAMES.values() if v not in unused and f"| `{v}` |" not in table]
    assert missing == []


def test_the_readme_configuration_table_states_each_numeric_default() -> None:
    """A default written in the table is the one Settings uses (the inference log's flush interval
    went from 10 s to 1 s while the table still said 10)."""
    from modelyard.config import _ENV_NAMES

    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("## Configuration") : readme.index("## CLI")]
    stated = {}
    for line in table.splitlines():
        cells = [cell.strip().strip("`") for cell in line.split("|")[1:-1]]
        if len(cells) == 3:
            stated[cells[0]] = cells[1]
    wrong = []
    for field, variable in _ENV_NAMES.items():
        default = Settings.model_fields[field].default
        if isinstance(default, bool) or not isinstance(default, int | float):
            continue
        if variable in stated and float(stated[variable].replace(",", "")) != float(default):
            wrong.append(f"{variable}: README says {stated[variable]}, Settings uses {default}")
    assert wrong == []
