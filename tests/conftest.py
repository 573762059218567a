from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

from datarefresh.anonymize.keyed import Keyring

# Property tests draw the same examples on every run, so CI never fails on a draw that a
# re-run would not repeat; `HYPOTHESIS_PROFILE=explore ./dev test tests/unit` draws new ones
# (a failure found that way goes into the test as an @example).
settings.register_profile("repeatable", derandomize=True)
settings.register_profile("explore", derandomize=False, max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))

# TEST KEY: public on purpose, for tests only, never a real secret. 64 hex characters (256 bits)
# because datarefresh refuses keys with less than 128 bits of randomness.
TEST_KEY = b"498b86d642f1230fecf61f4a1d2767b5d1620d05f160ab52d0dbeb69cbfdb36f"
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def keyring() -> Keyring:
    return Keyring(TEST_KEY)


@pytest.fixture(scope="session")
def demo_source(tmp_path_factory) -> Path:
    """A small demo prod data set shared by the tests (read-only: copy before mutating)."""
    from datarefresh.devtools.demo_data import generate

    root = tmp_path_factory.mktemp("prod")
    generate(root, rows=400, seed=7)
    return root


@pytest.fixture
def secret_env(monkeypatch):
    monkeypatch.setenv("DATAREFRESH_SECRET", TEST_KEY.decode())
    return TEST_KEY.decode()


@pytest.fixture
def cli():
    from click.testing import CliRunner

    from datarefresh.cli import main

    runner = CliRunner()

    def invoke(*args, env=None):
        return runner.invoke(main, [str(a) for a in args], env=env, catch_exceptions=False)

    return invoke


def pytest_collection_modifyitems(items):
    for item in items:
        parts = Path(str(item.fspath)).parts
        if "integration" in str(item.fspath) or "faults" in parts:  # both need the local AWS server
            item.add_marker(pytest.mark.integration)
        if "faults" in parts:
            item.add_marker(pytest.mark.faults)


os.environ.setdefault("TLDEXTRACT_CACHE", str(REPO / ".pytest_cache" / "tldextract"))


@pytest.fixture(autouse=True)
def _demo_key_warning_per_test():
    """The demo-key warning is printed once per process (one run); every test is a run of its own."""
    import sys

    secret = sys.modules.get("datarefresh.secret")
    if secret is not None:
        secret._warned.clear()
