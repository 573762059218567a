from pathlib import Path

import pytest
import yaml

from datarefresh.anonymize.operators import REGISTRY
from datarefresh.config import ACTIONS, bundled_demo_config, load_config, parse_config, policy_to_yaml
from datarefresh.errors import ConfigError
from tests.conftest import REPO

EXAMPLE = REPO / "examples" / "config.yaml"


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "cfg.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def test_example_config_loads_and_is_the_bundled_default():
    cfg = load_config(EXAMPLE)
    assert set(cfg.tables) == {"customers", "orders", "order_items", "support_tickets", "events"}
    assert cfg.tables["orders"].foreign_keys[0].parent_table == "customers"
    assert cfg.environments["dev"].sampling.fraction == 0.05
    bundled = REPO / "datarefresh" / "data" / "demo_config.yaml"
    assert bundled.read_bytes() == EXAMPLE.read_bytes()
    assert bundled_demo_config() == cfg


def test_every_action_has_an_operator():
    assert set(ACTIONS) == set(REGISTRY)


@pytest.mark.parametrize(
    "text, key, words",
    [
        (
            "tables:\n  t:\n    columns:\n      email: {action: fakes, entity: EMAIL_ADDRESS}\n",
            "tables.t.columns.email.action",
            "fake",
        ),
        (
            "tables:\n  t:\n    columns:\n      email: {action: fake}\n",
            "tables.t.columns.email",
            "needs an entity",
        ),
        ("tables:\n  t:\n    primary_kee: id\n", "tables.t.primary_kee", "Extra inputs"),
        (
            "tables:\n  t:\n    foreign_keys: [{column: c, references: nowhere.id}]\n",
            "tables.t.foreign_keys.0.references",
            "unknown table 'nowhere'",
        ),
        (
            "tables:\n  t:\n    foreign_keys: [{column: c, references: justtable}]\n",
            "tables.t.foreign_keys.0.references",
            "table.column",
        ),
        ("environments:\n  prod: {bucket: s3://x}\n", "environments.prod", ""),
        (
            "environments:\n  dev: {bucket: s3://x, sampling: {mode: sample, fraction: 1.5}}\n",
            "environments.dev.sampling.fraction",
            "less than or equal",
        ),
        ("secret: {file: /k, airflow_variable: v}\n", "secret", "only one"),
        (
            "tables:\n  t:\n    columns:\n      z: {action: generalize, params: {to: zip9}}\n",
            "tables.t.columns.z",
            "generalize",
        ),
    ],
)
def test_bad_config_names_file_and_key(tmp_path, text, key, words):
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    msg = str(err.value)
    assert str(path) in msg
    assert f"key {key}" in msg
    assert words in msg


def test_invalid_yaml_names_the_line(tmp_path):
    path = _write(tmp_path, "tables:\n  t:\n    columns: [unclosed\n")
    with pytest.raises(ConfigError, match=r"cfg.yaml: invalid YAML at line \d+"):
        load_config(path)


def test_missing_file_and_non_mapping(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="top level must be a mapping"):
        load_config(_write(tmp_path, "- a\n- b\n"))


def test_policy_yaml_round_trips():
    cfg = load_config(EXAMPLE)
    again = parse_config(yaml.safe_load(policy_to_yaml(cfg.tables)))
    assert again.tables == cfg.tables


def test_cli_reports_config_errors_without_traceback(tmp_path, cli, secret_env):
    path = _write(tmp_path, "tables:\n  t:\n    columns:\n      a: {action: nope}\n")
    result = cli("sanitize", tmp_path, tmp_path / "out", "--config", path)
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: file {path}, key tables.t.columns.a.action")
    assert "Traceback" not in result.output


def test_cli_debug_shows_the_traceback(tmp_path, cli):
    path = _write(tmp_path, "tables: [1]\n")
    with pytest.raises(ConfigError):
        cli("--debug", "plan", tmp_path, "--config", path)


def test_resolve_config_takes_the_argument_then_the_environment_then_the_bundled_one(tmp_path, monkeypatch):
    from datarefresh.config import resolve_config

    given, from_env = tmp_path / "given.yaml", tmp_path / "env.yaml"
    given.write_text("tables: {a: {}}\n", encoding="utf-8")
    from_env.write_text("tables: {b: {}}\n", encoding="utf-8")
    monkeypatch.delenv("DATAREFRESH_CONFIG", raising=False)
    assert set(resolve_config().tables) == set(bundled_demo_config().tables)
    monkeypatch.setenv("DATAREFRESH_CONFIG", str(from_env))
    assert set(resolve_config().tables) == {"b"}
    assert set(resolve_config(given).tables) == {"a"}
