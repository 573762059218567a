"""An embedded local AWS: moto's S3/IAM/STS server on loopback with IAM enforcement on.

`up` starts it in the background, creates the prod bucket (versioning on) and the
environment buckets, the roles and policies rendered by datarefresh.iam, a base
user allowed to assume them and an admin user (for seeding prod, local only), then
switches IAM enforcement on and writes an AWS config/credentials pair with one
profile per role. `down` stops it. Starting twice reuses the running server.

The server checks signatures, identity policies, resource ARNs, explicit Deny and
role trust policies; it does not evaluate most policy conditions, session policies
or ExternalId, so the policies use resource ARNs and explicit Deny only.
"""

from __future__ import annotations

import configparser
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import boto3

from datarefresh.config import Config
from datarefresh.devtools.localaws_server import BACKDATE_PATH, HEALTH_PATH
from datarefresh.errors import TerminalError
from datarefresh.extras import require
from datarefresh.iam import render, roles
from datarefresh.storage.uri import S3Uri

STATE = "localaws.json"
DEFAULT_PORT = 4566
BASE_USER = "datarefresh-base"
ADMIN_USER = "datarefresh-admin"
# moto's fixed bootstrap credentials: only valid before enforcement is switched on
_BOOT = {"aws_access_key_id": "bootstrap", "aws_secret_access_key": "bootstrap", "region_name": "us-east-1"}


@dataclass
class LocalAws:
    workdir: Path
    state: dict

    @property
    def endpoint(self) -> str:
        return self.state["endpoint"]

    @property
    def config_file(self) -> Path:
        return self.workdir / "aws" / "config"

    @property
    def credentials_file(self) -> Path:
        return self.workdir / "aws" / "credentials"

    def env(self, profile: str = BASE_USER) -> dict[str, str]:
        """Environment variables that point boto3 (and the aws CLI) at this server."""
        return {
            "AWS_CONFIG_FILE": str(self.config_file),
            "AWS_SHARED_CREDENTIALS_FILE": str(self.credentials_file),
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_PROFILE": profile,
            "AWS_DEFAULT_REGION": "us-east-1",
        }

    def exports(self, profile: str = BASE_USER) -> str:
        return "\n".join(f"export {k}={v}" for k, v in self.env(profile).items())

    def backdate(self, bucket: str, versions: list[dict], when) -> None:
        """Set the LastModified of object versions (the demo's prod history; this server only)."""
        body = json.dumps({"bucket": bucket, "objects": versions, "last_modified": when.isoformat()}).encode()
        req = urllib.request.Request(
            self.endpoint + BACKDATE_PATH,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=30) as resp:
            changed = json.loads(resp.read())["changed"]
        if changed != len(versions):
            raise TerminalError(
                f"the local AWS server backdated {changed} of {len(versions)} object versions "
                f"in {bucket}; is it an older server? restart it: datarefresh localaws down"
            )

    def session(self, profile: str = BASE_USER) -> boto3.Session:
        keys = self.state["users"][profile] if profile in self.state["users"] else None
        if keys is None:
            raise TerminalError(f"no local user {profile}")
        return boto3.Session(
            aws_access_key_id=keys["access_key_id"],
            aws_secret_access_key=keys["secret_access_key"],
            region_name="us-east-1",
        )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False


def _healthy(endpoint: str) -> bool:
    try:
        with urllib.request.urlopen(f"{endpoint}{HEALTH_PATH}", timeout=5) as r:
            return r.status == 200
    except OSError:
        return False


def _free_port(preferred: int, host: str = "127.0.0.1") -> int:
    for port in (preferred, 0):
        with socket.socket() as s:
            try:
                s.bind((host, port))
                return s.getsockname()[1]
            except OSError:
                continue
    raise TerminalError(f"no free port on {host}")


def load(workdir: Path) -> LocalAws | None:
    path = workdir / STATE
    if not path.exists():
        return None
    state = json.loads(path.read_text())
    if _alive(state["pid"]) and _healthy(state["endpoint"]):
        return LocalAws(workdir, state)
    return None


def up(
    config: Config, workdir: Path, port: int | None = None, host: str = "127.0.0.1"
) -> tuple[LocalAws, bool]:
    """Start (or reuse) the server; returns (server, started_now). `host` is the address it listens on
    and the endpoint's host: loopback, or a container's own address in the docker/ compose stack."""
    workdir = workdir.resolve()
    running = load(workdir)
    if running:
        return running, False
    require("localaws", "the local AWS server (datarefresh localaws, datarefresh demo)")  # moto is an extra
    workdir.mkdir(parents=True, exist_ok=True)
    port = _free_port(
        DEFAULT_PORT if port is None else port, host
    )  # 0: any free port, never a shared default
    endpoint = f"http://{host}:{port}"
    log = open(workdir / "moto.log", "ab")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "datarefresh.devtools.localaws_server", "-H", host, "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while not _healthy(endpoint):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise TerminalError(f"the local AWS server did not start; see {workdir / 'moto.log'}")
        time.sleep(0.2)
    state = {"pid": proc.pid, "endpoint": endpoint, "port": port, "users": {}, "roles": {}}
    _bootstrap(config, endpoint, state)
    _enforce(endpoint)
    local = LocalAws(workdir, state)
    _write_aws_files(local, config)
    (workdir / STATE).write_text(json.dumps(state, indent=2))
    return local, True


def down(workdir: Path) -> bool:
    path = workdir.resolve() / STATE
    if not path.exists():
        return False
    state = json.loads(path.read_text())
    stopped = False
    if _alive(state["pid"]):
        os.killpg(state["pid"], signal.SIGTERM)
        for _ in range(50):
            if not _alive(state["pid"]):
                break
            time.sleep(0.1)
        stopped = True
    path.unlink()
    return stopped


def _bootstrap(config: Config, endpoint: str, state: dict) -> None:
    iam = boto3.client("iam", endpoint_url=endpoint, **_BOOT)
    s3 = boto3.client("s3", endpoint_url=endpoint, **_BOOT)
    account = config.iam.account_id
    for user, policy in (
        (
            BASE_USER,
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "sts:AssumeRole",
                        "Resource": f"arn:aws:iam::{account}:role/*",
                    }
                ],
            },
        ),
        (
            ADMIN_USER,
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]},
        ),
    ):
        iam.create_user(UserName=user)
        iam.put_user_policy(UserName=user, PolicyName=f"{user}-policy", PolicyDocument=json.dumps(policy))
        key = iam.create_access_key(UserName=user)["AccessKey"]
        state["users"][user] = {
            "access_key_id": key["AccessKeyId"],
            "secret_access_key": key["SecretAccessKey"],
            "arn": f"arn:aws:iam::{account}:user/{user}",
        }
    base_arn = state["users"][BASE_USER]["arn"]
    for r in render(config, principal=base_arn)["roles"]:
        iam.create_role(RoleName=r["name"], AssumeRolePolicyDocument=json.dumps(r["trust_policy"]))
        iam.put_role_policy(
            RoleName=r["name"], PolicyName=f"{r['name']}-policy", PolicyDocument=json.dumps(r["policy"])
        )
        state["roles"][r["name"]] = {
            "arn": f"arn:aws:iam::{account}:role/{r['name']}",
            "environment": r["environment"],
            "purpose": r["purpose"],
        }
    buckets = {S3Uri.parse(config.source.uri).bucket: True}  # type: ignore[union-attr]
    buckets.update({S3Uri.parse(e.bucket).bucket: False for e in config.environments.values()})
    for bucket, versioned in buckets.items():
        s3.create_bucket(Bucket=bucket)
        if versioned:
            s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})


def _enforce(endpoint: str) -> None:
    """From now on every request must be signed by a known identity and allowed by IAM."""
    req = urllib.request.Request(
        f"{endpoint}/moto-api/reset-auth", data=b"0", method="POST", headers={"Content-Type": "text/plain"}
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        if resp.status != 200:
            raise TerminalError("could not switch IAM enforcement on")


def _write_aws_files(local: LocalAws, config: Config) -> None:
    """The AWS CLI/SDK credentials and config files for every local user and role profile."""
    (local.workdir / "aws").mkdir(exist_ok=True)
    creds, cfg = configparser.ConfigParser(), configparser.ConfigParser()
    for user, keys in local.state["users"].items():
        creds[user] = {
            "aws_access_key_id": keys["access_key_id"],
            "aws_secret_access_key": keys["secret_access_key"],
        }
        cfg[f"profile {user}"] = {"region": "us-east-1", "endpoint_url": local.endpoint}
    for r in roles(config):
        cfg[f"profile {r.name}"] = {
            "role_arn": local.state["roles"][r.name]["arn"],
            "source_profile": BASE_USER,
            "region": "us-east-1",
            "endpoint_url": local.endpoint,
        }
    with local.credentials_file.open("w") as f:
        creds.write(f)
    local.credentials_file.chmod(0o600)
    with local.config_file.open("w") as f:
        cfg.write(f)
