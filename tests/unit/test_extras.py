"""`pip install datarefresh` is the library and the CLI: nothing outside datarefresh/airflow/ imports
Airflow or moto at module level, and a command that needs an extra says which one to install."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import metadata

import pytest

from datarefresh import extras

# Runs in a fresh interpreter in which importing Airflow, moto or Flask fails as if they were not
# installed: every core module imports, and `datarefresh sanitize` runs end to end.
_WITHOUT_EXTRAS = r"""
import importlib, json, pkgutil, sys

BLOCKED = {"airflow", "moto", "flask"}

class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r} (blocked by the test)", name=name)
        return None

sys.meta_path.insert(0, Blocker())
import datarefresh
from datarefresh import cli

imported = []
for mod in pkgutil.walk_packages(datarefresh.__path__, "datarefresh."):
    if mod.name.startswith("datarefresh.airflow"):  # the adapter: the one package that imports Airflow
        continue
    importlib.import_module(mod.name)
    imported.append(mod.name)
try:
    cli.main(["sanitize", sys.argv[1], sys.argv[2], "--demo-key"], standalone_mode=False)
finally:
    loaded = sorted({m.split(".")[0] for m in sys.modules} & BLOCKED)
    print(json.dumps({"imported": imported, "loaded": loaded}))
"""


def test_core_and_sanitize_run_without_airflow_or_moto(tmp_path):
    src, dest = tmp_path / "src", tmp_path / "out"
    (src / "people").mkdir(parents=True)
    (src / "people" / "people.csv").write_text(
        "id,email,city\n1,ann.lee@example.com,Oslo\n2,bo.kim@example.org,Lima\n3,cy.ray@example.net,Pune\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", _WITHOUT_EXTRAS, str(src), str(dest)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=180,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["loaded"] == []
    # the walk really covered the core, the run and the dev tools
    assert {
        "datarefresh.cli",
        "datarefresh.anonymize.engine",
        "datarefresh.validate.expectations",
        "datarefresh.storage.publish",
        "datarefresh.extras",
    } <= set(got["imported"])
    assert any(m.endswith(".localaws") for m in got["imported"]) and any(
        m.endswith(".demo") for m in got["imported"]
    )
    written = sorted(p.relative_to(dest).parts[0] for p in dest.rglob("*.parquet"))
    assert written and set(written) == {"people"}
    assert "ann.lee@example.com" not in b"".join(p.read_bytes() for p in dest.rglob("*.parquet")).decode(
        "latin-1"
    )


@pytest.fixture
def without(monkeypatch):
    """Make distributions look uninstalled to importlib.metadata."""
    gone: set[str] = set()
    real = metadata.distribution

    def distribution(name):
        if extras._normalize(name) in gone:
            raise metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(extras.metadata, "distribution", distribution)
    return gone


def test_the_extras_come_from_the_package_metadata_and_are_installed_here():
    assert {n for n, _ in extras._declared("datarefresh", "airflow")} == {
        "apache-airflow",
        "apache-airflow-providers-amazon",
    }
    assert extras._declared("datarefresh", "localaws") == [("moto", ["server"])]
    for extra in ("airflow", "localaws", "dev", "test", "celery"):
        assert extras.missing(extra) == [], extra  # ./dev setup installs every extra from the lock


def test_a_missing_extra_names_the_pip_command(without, tmp_path, cli):
    without.add("flask")  # moto's [server] part: moto alone cannot serve
    assert extras.missing("localaws") == ["flask"]
    assert extras.missing("dev") == ["flask"]  # dev includes localaws
    assert extras.missing("airflow") == []
    with pytest.raises(extras.MissingExtraError, match=r"pip install 'datarefresh\[localaws\]'"):
        extras.require("localaws", "the local AWS server")
    result = cli("localaws", "up", "--workdir", tmp_path / "w", "--port", "0")
    assert result.exit_code == 1
    assert (
        "needs the [localaws] extra (flask not installed): pip install 'datarefresh[localaws]'"
        in result.output
    )
    assert not (tmp_path / "w" / "moto.log").exists()  # refused before starting anything


def test_running_the_dag_locally_needs_the_airflow_extra(without, tmp_path):
    from datarefresh.airflow.localrun import dags_test
    from datarefresh.config import bundled_demo_config

    without.add("apache-airflow-providers-amazon")
    with pytest.raises(extras.MissingExtraError, match=r"pip install 'datarefresh\[airflow\]'"):
        dags_test(None, tmp_path, bundled_demo_config(), "2026-11-01T02:00:00+00:00")
