import pytest

from datarefresh.config import SecretConfig
from datarefresh.errors import SecretError
from datarefresh import secret
from datarefresh.secret import DEMO_KEY, resolve_keyring
from tests.conftest import REPO, TEST_KEY


def _pseudonym(keyring):
    import pyarrow as pa

    return keyring.hash_values("EMAIL_ADDRESS", pa.array(["a@b.c"]))[0]


def test_key_sources_env_file_and_airflow_variable(tmp_path, monkeypatch):
    key = TEST_KEY.decode()
    monkeypatch.setenv("MY_KEY", key)
    (tmp_path / "key").write_text(key + "\n")
    monkeypatch.setenv("AIRFLOW_VAR_DR_KEY", key)
    from_env = _pseudonym(resolve_keyring(SecretConfig(env="MY_KEY")))
    from_file = _pseudonym(resolve_keyring(SecretConfig(file=str(tmp_path / "key"))))
    from datarefresh.airflow.variables import get_variable

    from_var = _pseudonym(
        resolve_keyring(SecretConfig(airflow_variable="dr_key"), variable_getter=get_variable)
    )
    assert from_env == from_file == from_var  # the same key, wherever it comes from
    monkeypatch.setenv("MY_KEY", "0f" + key[2:])  # another key, another pseudonym
    assert _pseudonym(resolve_keyring(SecretConfig(env="MY_KEY"))) != from_env


def test_missing_key_is_refused_and_never_echoed(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("NOPE", raising=False)
    with pytest.raises(SecretError, match="environment variable NOPE"):
        resolve_keyring(SecretConfig(env="NOPE"))
    with pytest.raises(SecretError, match="cannot read the pseudonym key file"):
        resolve_keyring(SecretConfig(file=str(tmp_path / "missing")))
    from datarefresh.airflow.variables import get_variable

    with pytest.raises(SecretError, match="cannot read Airflow Variable 'not_set'"):
        resolve_keyring(SecretConfig(airflow_variable="not_set"), variable_getter=get_variable)
    demo = resolve_keyring(SecretConfig(env="NOPE"), allow_demo_key=True)
    assert "published demo key" in capsys.readouterr().err
    assert repr(demo) == "Keyring(<secret>)" and DEMO_KEY.decode() not in repr(demo)


def test_an_airflow_variable_is_read_through_the_getter_the_airflow_package_registers(monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_DR_KEY", TEST_KEY.decode())
    monkeypatch.setattr(secret, "_variable_getter", None)
    with pytest.raises(SecretError, match="Airflow Variable 'dr_key', which only an Airflow task can read"):
        resolve_keyring(SecretConfig(airflow_variable="dr_key"))  # outside Airflow: refused, clearly
    from datarefresh.airflow.variables import install

    install()  # what every task does before it runs
    assert _pseudonym(resolve_keyring(SecretConfig(airflow_variable="dr_key"))) == _pseudonym(
        resolve_keyring(SecretConfig(env="AIRFLOW_VAR_DR_KEY"))
    )


def test_only_the_airflow_package_imports_airflow():
    import re

    offenders = [
        str(p.relative_to(REPO))
        for p in (REPO / "datarefresh").rglob("*.py")
        if "airflow" not in p.relative_to(REPO / "datarefresh").parts[:1]
        and re.search(r"^\s*(from|import) airflow\b", p.read_text(encoding="utf-8"), re.M)
    ]
    assert offenders == []
