"""Scale-out for real: the DAG on Airflow's CeleryExecutor with two workers, Postgres metadata and
a Redis broker, all on loopback, against the local AWS server with IAM enforced.

One test, because every step needs the cluster it starts: the run succeeds, mapped units run on
both workers (separate processes, AIRFLOW_HOMEs and temp folders), the published snapshots are
byte-identical to a single-process `refresh` of the same as-of with the same key, and neither
XCom nor any worker log holds a raw value or the key. Needs `initdb`/`postgres` and
`redis-server` on PATH (.ci/run installs redis-server when missing). Everything it starts is
stopped, by process group, at the end.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import REPO, TEST_KEY

pytestmark = [pytest.mark.integration, pytest.mark.distributed]

DAG_ID = "datarefresh_nightly"
WORKERS = ("worker-a", "worker-b")
WORKER_ENV = "DATAREFRESH_TEST_WORKER"


def worker_hostname() -> str:
    """[core] hostname_callable for this test: both workers share one machine (one FQDN), so
    each task instance records the name of the worker that ran it instead."""
    return os.environ.get(WORKER_ENV) or socket.getfqdn()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _need(binary: str, hint: str) -> str:
    path = shutil.which(binary) or (
        f"/usr/local/bin/{binary}" if Path(f"/usr/local/bin/{binary}").exists() else None
    )
    if not path:
        pytest.fail(f"{binary} is not installed; {hint}")
    return path


class Cluster:
    """Processes started by this test, each in its own process group, stopped in reverse order."""

    def __init__(self, root: Path):
        self.root = root
        self.procs: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
        log = open(self.root / f"{name}.log", "ab")
        proc = subprocess.Popen(
            args,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=self.root,
            start_new_session=True,
        )
        log.close()
        self.procs.append((name, proc))
        return proc

    def check_alive(self) -> None:
        dead = [f"{n} (exit {p.returncode})" for n, p in self.procs if p.poll() is not None]
        if dead:
            raise AssertionError(f"stopped early: {', '.join(dead)}; logs in {self.root}")

    def stop(self) -> None:
        for _name, proc in reversed(self.procs):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 10  # a throwaway cluster: no graceful drain needed beyond this
        for _name, proc in reversed(self.procs):
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            try:  # the group: a worker's forked task processes and log server too
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()


def _wait(what: str, ready, cluster: Cluster, timeout: float):
    deadline = time.monotonic() + timeout
    while True:
        got = ready()
        if got:
            return got
        cluster.check_alive()
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out after {timeout:.0f} s waiting for {what}; logs in {cluster.root}"
            )
        time.sleep(0.5)


def _start_postgres(cluster: Cluster) -> int:
    initdb, postgres = _need("initdb", "PostgreSQL's server binaries are needed"), _need("postgres", "")
    # PostgreSQL refuses to run as root: run it as `nobody` in a folder it owns
    base = Path(tempfile.mkdtemp(prefix="datarefresh-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        os.chown(base, 65534, 65534)
        as_user = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    cluster.pg_base = base  # type: ignore[attr-defined]
    subprocess.run(
        as_user
        + [
            initdb,
            "-D",
            str(base / "data"),
            "-U",
            "airflow",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-sync",
            "--no-instructions",
        ],
        check=True,
        capture_output=True,
        cwd=base,
    )
    port = _free_port()
    cluster.start(
        "postgres",
        as_user
        + [
            postgres,
            "-D",
            str(base / "data"),
            "-p",
            str(port),
            "-k",
            str(base),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "fsync=off",
            "-c",
            "max_connections=200",
        ],
    )

    def ready():
        import psycopg2

        try:
            psycopg2.connect(host="127.0.0.1", port=port, user="airflow", dbname="postgres").close()
            return True
        except psycopg2.OperationalError:
            return False

    _wait("PostgreSQL", ready, cluster, 60)
    return port


def _start_redis(cluster: Cluster) -> int:
    redis_server = _need("redis-server", "install it (Debian: apt-get install redis-server; .ci/run does)")
    port = _free_port()
    cluster.start(
        "redis",
        [
            redis_server,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(cluster.root),
        ],
    )

    def ready():
        import redis

        try:
            return redis.Redis(host="127.0.0.1", port=port).ping()
        except redis.ConnectionError:
            return False

    _wait("Redis", ready, cluster, 30)
    return port


def _http(method: str, url: str, body: dict | None = None, token: str | None = None) -> tuple[int, dict]:
    req = urllib.request.Request(
        url,
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={
            "Content-Type": "application/json",
            **({"Authorization": f"Bearer {token}"} if token else {}),
        },
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, {"detail": exc.read().decode(errors="replace")[:500]}
    except OSError:
        return 0, {}


def _published(admin_s3, config) -> dict:
    """Per environment: the pointer's snapshot id, and (key, manifest sha256, sha256 of the bytes in
    the bucket) for every file of the current manifest."""
    out = {}
    for env, e in config.environments.items():
        bucket = e.bucket.removeprefix("s3://").split("/")[0]
        pointer = json.loads(admin_s3.get_object(Bucket=bucket, Key="current.json")["Body"].read())
        manifest = json.loads(admin_s3.get_object(Bucket=bucket, Key=pointer["manifest"])["Body"].read())
        files = []
        for table, t in sorted(manifest["tables"].items()):
            for f in t["files"]:
                body = admin_s3.get_object(Bucket=bucket, Key=f["key"])["Body"].read()
                files.append((table, f["key"], f["sha256"], hashlib.sha256(body).hexdigest()))
        out[env] = {
            "snapshot_id": pointer["snapshot_id"],
            "rows": pointer["tables"],
            "files": sorted(files),
            "validation": manifest["validation"]["passed"],
        }
    return out


def _empty_environment_buckets(admin_s3, config) -> None:
    for e in config.environments.values():
        bucket = e.bucket.removeprefix("s3://").split("/")[0]
        for page in admin_s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
            for v in page.get("Versions", []) + page.get("DeleteMarkers", []):
                admin_s3.delete_object(Bucket=bucket, Key=v["Key"], VersionId=v["VersionId"])
        assert admin_s3.list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0


def _raw_values(config) -> set[str]:
    """Identifying prod values of the seeded demo data (seed_prod generates rows=250, seed=0)."""
    from datarefresh.devtools.demo_data import generate
    from datarefresh.refresh.local import discover_local

    with tempfile.TemporaryDirectory() as tmp:
        generate(tmp, rows=250, seed=0)
        customers = discover_local(Path(tmp))["customers"].sample(10**9)
        values = set()
        for column in ("email", "national_id", "card_number", "phone", "street_address"):
            values |= {str(v) for v in customers.column(column).to_pylist() if v and len(str(v)) >= 8}
    return values


@pytest.mark.timeout(600)
def test_celery_two_workers_publish_what_one_process_publishes(
    local, config, admin_s3, aws, tmp_path, monkeypatch
):
    from datarefresh.airflow.connections import connection_env
    from datarefresh.airflow.dags import dags_folder
    from datarefresh.devtools.demo import seed_prod
    from datarefresh.refresh.run import refresh

    started = time.monotonic()

    def mark(step: str) -> None:  # phase timings, printed with -s (the test's budget is ~4 minutes)
        print(f"distributed test: {time.monotonic() - started:6.1f} s  {step}", flush=True)

    seed_prod(local, config, rows=250, say=lambda _m: None)
    as_of = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) + dt.timedelta(seconds=1)
    time.sleep(1.1)  # the as-of is after every seeded object

    cluster = Cluster(tmp_path)
    try:
        pg_port = _start_postgres(cluster)
        redis_port = _start_redis(cluster)
        mark("postgres and redis up")
        api_port = _free_port()
        password = secrets.token_urlsafe(16)
        db = f"airflow@127.0.0.1:{pg_port}/postgres"
        home = tmp_path / "airflow"
        home.mkdir()
        (home / "passwords.json").write_text(json.dumps({"admin": password}))
        base_env = {
            k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "AWS_", "DATAREFRESH"))
        }
        env = (
            base_env
            | connection_env(local)
            | {
                "AIRFLOW_HOME": str(home),
                "PYTHONPATH": str(REPO),  # the hostname callable above lives in the tests package
                "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"postgresql+psycopg2://{db}",
                "AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:{redis_port}/0",
                "AIRFLOW__CELERY__RESULT_BACKEND": f"db+postgresql+psycopg2://{db}",
                "AIRFLOW__CELERY__WORKER_CONCURRENCY": "1",  # one unit at a time per worker: both get work
                "AIRFLOW__CELERY__WORKER_PREFETCH_MULTIPLIER": "1",
                "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT": "21600",
                "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder()),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
                # no scheduled run of the nightly schedule: the only run is the one this test triggers
                "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
                "AIRFLOW__CORE__HOSTNAME_CALLABLE": f"{__name__}.worker_hostname",
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
                "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
                "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{api_port}",
                "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
                "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            }
        )
        airflow = [sys.executable, "-m", "airflow"]
        migrate = cluster.start("db-migrate", airflow + ["db", "migrate"], env)
        # meanwhile (a thread: the Airflow side is other processes), the reference: one process,
        # same snapshot, same key; its snapshots are read, then the buckets emptied, before the trigger
        monkeypatch.setenv("DATAREFRESH_SECRET", TEST_KEY.decode())
        reference: dict = {}

        def single_process():
            try:
                refresh(config, aws, envs=("dev", "staging"), as_of=as_of)
                reference["published"] = _published(admin_s3, config)
                _empty_environment_buckets(admin_s3, config)
                mark("single-process refresh")
                reference["raw"] = _raw_values(config)
            except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread below
                reference["error"] = exc

        thread = threading.Thread(target=single_process, daemon=True)
        thread.start()
        assert migrate.wait(timeout=300) == 0, f"airflow db migrate failed; see {tmp_path / 'db-migrate.log'}"
        cluster.procs.remove(("db-migrate", migrate))
        mark("db migrate")
        cluster.start(
            "api-server", airflow + ["api-server", "--host", "127.0.0.1", "--port", str(api_port)], env
        )
        cluster.start("scheduler", airflow + ["scheduler"], env)
        cluster.start("dag-processor", airflow + ["dag-processor"], env)
        worker_homes = {}
        for name in WORKERS:
            wh = tmp_path / name
            (wh / "tmp").mkdir(parents=True)
            worker_homes[name] = wh
            # --skip-serve-logs: no log server listening; the test reads each worker's log folder itself
            cluster.start(
                name,
                airflow
                + [
                    "celery",
                    "worker",
                    "--celery-hostname",
                    f"{name}@%h",
                    "--concurrency",
                    "1",
                    "--skip-serve-logs",
                ],
                env
                | {
                    "AIRFLOW_HOME": str(wh),
                    "TMPDIR": str(wh / "tmp"),
                    WORKER_ENV: name,
                    "DATAREFRESH_SECRET": TEST_KEY.decode(),
                },
            )  # tasks run on workers only

        api = f"http://127.0.0.1:{api_port}"
        _wait("the api-server", lambda: _http("GET", f"{api}/api/v2/monitor/health")[0] == 200, cluster, 120)
        status, body = _http("POST", f"{api}/auth/token", {"username": "admin", "password": password})
        assert status in (200, 201), body
        token = body["access_token"]
        pool = {
            "name": config.airflow.pool,
            "slots": config.airflow.pool_slots,
            "description": "datarefresh S3 work",
        }
        status, body = _http("POST", f"{api}/api/v2/pools", pool, token=token)
        assert status in (200, 201), body
        mark("api-server up, pool created")
        _wait(
            "the DAG to be parsed",
            lambda: _http("GET", f"{api}/api/v2/dags/{DAG_ID}", token=token)[0] == 200,
            cluster,
            120,
        )
        for name in WORKERS:  # both consume before the trigger, or one could take every unit
            _wait(
                f"{name} to be ready",
                lambda n=name: (
                    f"{n}@" in (log := (tmp_path / f"{n}.log").read_text(errors="replace"))
                    and " ready." in log
                ),
                cluster,
                120,
            )
        thread.join(timeout=300)
        if "error" in reference:
            raise reference["error"]
        single = reference["published"]
        status, run = _http(
            "POST",
            f"{api}/api/v2/dags/{DAG_ID}/dagRuns",
            {"logical_date": None, "conf": {"as_of": as_of.isoformat()}},
            token=token,
        )
        assert status == 200, run
        mark("DAG parsed, run triggered")
        run_url = f"{api}/api/v2/dags/{DAG_ID}/dagRuns/{run['dag_run_id']}"
        state = _wait(
            "the DAG run",
            lambda: (s := _http("GET", run_url, token=token)[1].get("state")) in ("success", "failed") and s,
            cluster,
            360,
        )
        _, tis = _http("GET", f"{run_url}/taskInstances?limit=1000", token=token)
        tis = tis["task_instances"]
        mark(f"DAG run {state}")
        summary = sorted((t["task_id"], t["map_index"], t["state"], t["hostname"]) for t in tis)
        assert state == "success", f"run {state}: {summary}; logs in {tmp_path}"

        # mapped units ran on both workers
        units = [t for t in tis if t["task_id"].startswith("process_level_")]
        assert len(units) >= 3, summary
        assert {t["hostname"] for t in units} == set(WORKERS), summary
        assert {t["pool"] for t in units} == {config.airflow.pool}, summary  # the pool bounds S3 concurrency
        # and each worker wrote the logs of the units it ran, in its own AIRFLOW_HOME
        for name, wh in worker_homes.items():
            ran = [t for t in units if t["hostname"] == name]
            logged = [p for p in (wh / "logs").rglob("*") if p.is_file() and "process_level_" in str(p)]
            assert len(logged) >= len(ran), (name, ran, logged)

        # byte-identical to the single-process run: same snapshot ids, files and sha256s
        distributed = _published(admin_s3, config)
        assert distributed == single
        assert all(e["validation"] for e in single.values())
        for files in (e["files"] for e in single.values()):
            assert all(manifest_sha == body_sha for _t, _k, manifest_sha, body_sha in files)

        # no raw value and no key in XCom or in any log the cluster wrote
        import psycopg2

        with psycopg2.connect(host="127.0.0.1", port=pg_port, user="airflow", dbname="postgres") as conn:
            with conn.cursor() as cur:
                cur.execute("SELECT task_id, map_index, value::text FROM xcom")
                xcoms = cur.fetchall()
        assert xcoms and any(t == "plan" for t, _m, _v in xcoms)
        largest = max(len(v or "") for _t, _m, v in xcoms)
        assert largest < 256 * 1024, f"XCom of {largest} bytes: only metadata should cross XCom"
        mark(f"largest XCom {largest} bytes")
        raw = reference["raw"]
        assert len(raw) > 1000
        key = TEST_KEY.decode()
        for task_id, map_index, value in xcoms:
            assert key not in (value or ""), (task_id, map_index)
            assert not [r for r in raw if r in (value or "")], (task_id, map_index)
        logs = [p for p in tmp_path.rglob("*") if p.is_file() and (p.suffix == ".log" or "/logs/" in str(p))]
        assert any("process_level_" in str(p) for p in logs)
        for path in logs:
            text = path.read_text(errors="replace")
            assert key not in text, path
            leaked = [r for r in raw if r in text]
            assert not leaked, f"{path}: {len(leaked)} raw values"
        mark("checks passed")
    finally:
        cluster.stop()
        if getattr(cluster, "pg_base", None):
            shutil.rmtree(cluster.pg_base, ignore_errors=True)
        mark("stopped")
