"""Run the DAG through Airflow's own code path (`airflow dags test`) against a local AWS.

Used by `datarefresh demo --airflow` and the end-to-end tests: a throwaway AIRFLOW_HOME
with SQLite metadata, the repository's dags/ folder, one AWS connection per role
(AIRFLOW_CONN_*), the pool, and the pseudonym key in the environment.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from datarefresh.airflow.connections import connection_env
from datarefresh.airflow.dags import dags_folder
from datarefresh.config import Config
from datarefresh.errors import TerminalError

DAG_ID = "datarefresh_nightly"


def airflow_env(local, home: Path, config_path: str | None = None, secret: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "AWS_"))}
    env.update(connection_env(local))
    env.update({"AIRFLOW_HOME": str(home), "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder()),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False", "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING"})
    if config_path:
        env["DATAREFRESH_CONFIG"] = config_path
    if secret:
        env["DATAREFRESH_SECRET"] = secret
        from datarefresh.secret import DEMO_KEY, DEMO_KEY_ENV

        if secret == DEMO_KEY.decode():  # the demo's own run: the DAG cannot take --demo-key
            env[DEMO_KEY_ENV] = "1"
    return env


def _airflow(args: list[str], env: dict[str, str], log: Path) -> subprocess.CompletedProcess:
    with open(log, "ab") as out:
        return subprocess.run([sys.executable, "-m", "airflow", *args], env=env, stdout=out,
                              stderr=subprocess.STDOUT, check=False)


def prepare(home: Path, env: dict[str, str], config: Config) -> None:
    """Metadata DB and pool, once per AIRFLOW_HOME."""
    home.mkdir(parents=True, exist_ok=True)
    marker = home / ".datarefresh-ready"
    if marker.exists():
        return
    log = home / "setup.log"
    for args in (["db", "migrate"], ["pools", "set", config.airflow.pool, str(config.airflow.pool_slots),
                                     "datarefresh S3 work"]):
        if _airflow(args, env, log).returncode:
            raise TerminalError(f"airflow {' '.join(args)} failed; see {log}")
    marker.touch()


def dags_test(local, home: Path, config: Config, logical_date: str, *, secret: str,
              config_path: str | None = None, conf: str | None = None) -> Path:
    """Run one DAG run in-process through the scheduler code path; returns the log file."""
    env = airflow_env(local, home, config_path, secret)
    prepare(home, env, config)
    log = home / f"dags-test-{logical_date.replace(':', '')}.log"
    args = ["dags", "test", DAG_ID, logical_date] + (["--conf", conf] if conf else [])
    if _airflow(args, env, log).returncode:
        raise TerminalError(f"airflow dags test {DAG_ID} {logical_date} failed; see {log}")
    return log
