"""Keys that can't be guessed: fewer than 128 bits of randomness are refused, with a message
that says how to make a key; the published demo key only with --demo-key."""

from __future__ import annotations

import base64
import secrets

import pytest

from datarefresh.config import SecretConfig, bundled_demo_config
from datarefresh.errors import SecretError
from datarefresh.secret import DEMO_KEY, DEMO_KEY_ENV, MAKE_KEY, key_weakness, resolve_keyring
from tests.conftest import TEST_KEY

WEAK = [
    "4821",
    "x" * 40,
    "a" * 64,
    "0123456789abcdef" * 2,
    "deadbeefdeadbeefcafebabecafebabe",
    # 120 bits (random hex, fixed so every test process collects the same ids)
    "724204852f6e30d5b9a9918e2218c4",
    "ubaT5k5tSiXMiXlW8WVLF",  # 126 bits (random url-safe, fixed likewise)
    "correct horse battery staple",  # a passphrase: its entropy cannot be judged
    "datarefresh-test-key-0123456789abcdef",  # the old test key: words and a run of digits
    "my-company-pseudonym-key-2026-production",
    "abcdefghijklmnopqrstuvwxyzABCDEF0123",
]


@pytest.mark.parametrize("weak", WEAK)
def test_weak_keys_are_refused_with_how_to_make_one(weak, monkeypatch):
    monkeypatch.setenv("DR_KEY", weak)
    with pytest.raises(SecretError) as err:
        resolve_keyring(SecretConfig(env="DR_KEY"))
    msg = str(err.value)
    assert MAKE_KEY in msg and "environment variable DR_KEY" in msg and "128 bits" in msg
    assert weak not in msg  # the key never appears in a message


def test_generated_keys_pass_in_every_usual_form(tmp_path):
    for _ in range(200):
        for key in (
            secrets.token_hex(16),
            secrets.token_hex(32),
            secrets.token_hex(32).upper(),
            secrets.token_urlsafe(32),
            base64.b64encode(secrets.token_bytes(32)).decode(),
        ):
            assert key_weakness(key.encode()) is None, key
    raw = tmp_path / "raw.key"
    raw.write_bytes(secrets.token_bytes(32))  # a key file straight from the OS's generator
    assert key_weakness(raw.read_bytes()) is None
    assert key_weakness(TEST_KEY) is None  # the tests' own key follows the rule


def test_demo_key_only_when_asked_for(monkeypatch, capsys):
    monkeypatch.delenv(DEMO_KEY_ENV, raising=False)
    monkeypatch.setenv("DR_KEY", DEMO_KEY.decode())
    with pytest.raises(SecretError, match="published demo key"):
        resolve_keyring(SecretConfig(env="DR_KEY"))
    resolve_keyring(SecretConfig(env="DR_KEY"), allow_demo_key=True)
    assert "NOT protected" in capsys.readouterr().err
    monkeypatch.setenv(
        DEMO_KEY_ENV, "1"
    )  # what the demo's Airflow run sets: for the local demo's buckets only
    resolve_keyring(SecretConfig(env="DR_KEY"), config=bundled_demo_config())


@pytest.mark.parametrize("key", [None, DEMO_KEY.decode()])
def test_demo_key_env_never_applies_outside_the_local_demo(key, monkeypatch):
    monkeypatch.setenv(DEMO_KEY_ENV, "1")  # left set on a real worker
    monkeypatch.delenv("DR_KEY", raising=False)
    if key:
        monkeypatch.setenv("DR_KEY", key)
    demo = bundled_demo_config()
    for real in (
        demo.model_copy(
            update={
                "environments": {
                    "dev": demo.environments["dev"].model_copy(update={"bucket": "s3://acme-dev-data"})
                }
            }
        ),
        demo.model_copy(update={"source": demo.source.model_copy(update={"uri": "s3://acme-prod/raw"})}),
        None,
    ):
        with pytest.raises(
            SecretError, match=f"{DEMO_KEY_ENV}=1 is set, but it applies only to the embedded local demo"
        ):
            resolve_keyring(SecretConfig(env="DR_KEY"), config=real)
    resolve_keyring(SecretConfig(env="DR_KEY"), config=demo)  # the demo's own run still works


def test_cli_refuses_a_weak_key(tmp_path, cli, demo_source):
    result = cli("sanitize", demo_source, tmp_path / "out", env={"DATAREFRESH_SECRET": "4821"})
    assert result.exit_code == 1
    assert "too weak" in result.output and "secrets.token_hex(32)" in result.output
    assert not (tmp_path / "out").exists()
