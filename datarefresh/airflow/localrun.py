"""Run the DAG through Airflow's own code path (`airflow dags test`) against a local AWS.

Used by `datarefresh demo --airflow` and the end-to-end tests: a throwaway AIRFLOW_HOME
with SQLite metadata, the package's dags folder (dags_folder()), one AWS connection per role
(AIRFLOW_CONN_*) and the pool. The tasks resolve the config and the key themselves
(config.resolve_config, secret.resolve_keyring), as in production.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from datarefresh.airflow.connections import connection_env
from datarefresh.airflow.dags import dags_folder
from datarefresh.config import CONFIG_ENV, Config
from datarefresh.errors import TerminalError
from datarefresh.extras import require

DAG_ID = "datarefresh_nightly"


def airflow_env(
    local,
    home: Path,
    config: Config,
    config_path: str | None = None,
    secret: str | None = None,
    allow_demo_key: bool = False,
) -> dict[str, str]:
    """`secret`: a key handed to the tasks in the environment variable the config names (without
    one they read it where the config says: that variable, its file or its Airflow Variable)."""
    from datarefresh.secret import DEMO_KEY, DEMO_KEY_ENV

    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "AWS_"))}
    env.update(connection_env(local))
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder()),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        }
    )
    env.pop(CONFIG_ENV, None)  # the DAG runs the config given here, not one from the caller's shell
    if config_path:
        env[CONFIG_ENV] = config_path
    if secret:
        if not config.secret.env:
            raise TerminalError(
                "the config reads the pseudonym key from a file or an Airflow Variable; the "
                "tasks read it there, so pass no secret"
            )
        env[config.secret.env] = secret
    if allow_demo_key or secret == DEMO_KEY.decode():  # the demo's own run: the DAG cannot take --demo-key
        env[DEMO_KEY_ENV] = "1"
    return env


def _airflow(args: list[str], env: dict[str, str], log: Path) -> subprocess.CompletedProcess:
    with open(log, "ab") as out:
        return subprocess.run(
            [sys.executable, "-m", "airflow", *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
        )


def prepare(home: Path, env: dict[str, str], config: Config) -> None:
    """Metadata DB and pool, once per AIRFLOW_HOME."""
    home.mkdir(parents=True, exist_ok=True)
    marker = home / ".datarefresh-ready"
    if marker.exists():
        return
    log = home / "setup.log"
    for args in (
        ["db", "migrate"],
        ["pools", "set", config.airflow.pool, str(config.airflow.pool_slots), "datarefresh S3 work"],
    ):
        if _airflow(args, env, log).returncode:
            raise TerminalError(f"airflow {' '.join(args)} failed; see {log}")
    marker.touch()


def dags_test(
    local,
    home: Path,
    config: Config,
    logical_date: str,
    *,
    secret: str | None = None,
    allow_demo_key: bool = False,
    config_path: str | None = None,
    conf: str | None = None,
) -> Path:
    """Run one DAG run in-process through the scheduler code path; returns the log file."""
    require("airflow", "running the DAG (airflow dags test)")
    env = airflow_env(local, home, config, config_path, secret, allow_demo_key)
    prepare(home, env, config)
    log = home / f"dags-test-{logical_date.replace(':', '')}.log"
    args = ["dags", "test", DAG_ID, logical_date] + (["--conf", conf] if conf else [])
    if _airflow(args, env, log).returncode:
        raise TerminalError(f"airflow dags test {DAG_ID} {logical_date} failed; see {log}")
    return log
