"""A wheel built from the repository works without the checkout: `pip wheel --no-deps .`, installed
into a fresh venv that sees the locked dependencies (the test's own site-packages, through a .pth)
but not the editable install, runs `datarefresh sanitize` from another folder and Airflow loads its
DAG from the folder the package ships. No network: nothing is resolved or downloaded."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.integration

_LOAD = r"""
import json, sys
from airflow.dag_processing.dagbag import DagBag
import datarefresh
from datarefresh.airflow.dags import dags_folder
from datarefresh.config import bundled_demo_config
from datarefresh.validate.expectations import expectations_dir, user_expectations

bag = DagBag(dag_folder=str(dags_folder()))  # as Airflow's dag-processor reads the folder
dag = bag.dags.get("datarefresh_nightly")
print(json.dumps({"package": datarefresh.__file__, "dags_folder": str(dags_folder()),
                  "dags": sorted(bag.dags),
                  "errors": {k: str(v) for k, v in bag.import_errors.items()},
                  "fileloc": dag.fileloc if dag else None, "tasks": len(dag.tasks) if dag else 0,
                  "expectations_dir": str(expectations_dir(bundled_demo_config())),
                  "customers_rules": len(user_expectations(bundled_demo_config(), "customers"))}))
"""


def _run(args, **kw) -> subprocess.CompletedProcess:
    out = subprocess.run(args, capture_output=True, text=True, timeout=300, **kw)
    assert out.returncode == 0, f"{args[:3]}: {out.stderr[-3000:]}"
    return out


@pytest.fixture(scope="module")
def wheel_venv(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("wheel")
    # build from a copy: setuptools writes build/ and *.egg-info next to the sources
    src = root / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    shutil.copytree(
        REPO / "datarefresh", src / "datarefresh", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "-q",
            "-w",
            str(root / "dist"),
            str(src),
        ]
    )
    (wheel,) = (root / "dist").glob("datarefresh-*.whl")
    venv = root / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    purelib = Path(
        _run(
            [str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]
        ).stdout.strip()
    )
    # the locked dependencies: a path line in a .pth adds the folder but runs none of its own .pth
    # files, so the editable install's finder (__editable__*.pth) stays out
    (purelib / "locked_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run(
        [
            str(Path(sys.executable).parent / "uv"),
            "pip",
            "install",
            "--quiet",
            "--offline",
            "--no-deps",
            "--python",
            str(venv / "bin" / "python"),
            str(wheel),
        ]
    )
    return venv


def _env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "PYTHON", "DATAREFRESH"))}
    return env | {"AIRFLOW_HOME": str(tmp / "airflow"), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}


def test_the_wheel_runs_sanitize_from_another_folder(wheel_venv, tmp_path):
    work = tmp_path / "elsewhere"
    (work / "src" / "people").mkdir(parents=True)
    (work / "src" / "people" / "people.csv").write_text(
        "id,email\n1,ann.lee@example.com\n2,bo.kim@example.org\n"
    )
    out = _run(
        [str(wheel_venv / "bin" / "datarefresh"), "sanitize", "src", "out", "--demo-key"],
        cwd=work,
        env=_env(tmp_path),
    )
    assert "people" in out.stdout and "2 rows out" in out.stdout
    parts = list((work / "out" / "people").rglob("*.parquet"))
    assert parts and b"ann.lee@example.com" not in b"".join(p.read_bytes() for p in parts)
    where = _run(
        [str(wheel_venv / "bin" / "python"), "-c", "import datarefresh.cli as c; print(c.__file__)"],
        cwd=work,
        env=_env(tmp_path),
    ).stdout.strip()
    assert Path(where).is_relative_to(wheel_venv) and not Path(where).is_relative_to(REPO)


def test_airflow_loads_the_dag_and_the_suites_from_the_wheel(wheel_venv, tmp_path):
    out = _run([str(wheel_venv / "bin" / "python"), "-c", _LOAD], cwd=tmp_path, env=_env(tmp_path))
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["errors"] == {} and got["dags"] == ["datarefresh_nightly"] and got["tasks"] > 3
    for key in ("package", "dags_folder", "fileloc", "expectations_dir"):
        assert Path(got[key]).is_relative_to(wheel_venv), (key, got[key])  # from the wheel, not the checkout
    assert got["customers_rules"] > 0


def test_the_wheel_ships_every_file_of_the_package(wheel_venv):
    """Package data is listed by pattern in pyproject.toml: a new data file nobody added there would be
    missing from every wheel (the word lists were, until this test)."""
    tracked = subprocess.run(
        ["git", "ls-files", "datarefresh"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    purelib = Path(
        _run(
            [
                str(wheel_venv / "bin" / "python"),
                "-c",
                "import sysconfig; print(sysconfig.get_paths()['purelib'])",
            ]
        ).stdout.strip()
    )
    missing = [f for f in tracked if not (purelib / f).is_file()]
    assert tracked and not missing
