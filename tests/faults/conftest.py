"""The fault suite's shared setup: one local AWS server (IAM enforced) for the whole suite,
prod seeded with the demo data plus canary values, a fault proxy in front of the server, and
a fork server that runs `datarefresh` command lines as child processes through the proxy."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from datarefresh.devtools import localaws
from datarefresh.config import bundled_demo_config
from tests.localaws_server import running
from tests.conftest import REPO, TEST_KEY
from tests.faults.helpers import fresh_as_of
from tests.faults.proxy import FaultProxy

ROWS = 150
# Planted in prod's PII columns: none may ever reach a dev or staging bucket.
CANARIES = ["qvxcanary", "900-77-3131", "4000007731773177"]


def pytest_configure(config):
    config.addinivalue_line("markers", "faults: fault injection against the local AWS server (tests/faults)")


def plant_canaries(folder: Path) -> None:
    path = folder / "customers" / "part-00000.parquet"
    t = pq.read_table(path)
    n = t.num_rows

    def put(col, values):
        arr = t.column(col).to_pylist()
        arr[: len(values)] = values
        return t.set_column(t.schema.get_field_index(col), col, pa.array(arr, t.schema.field(col).type))

    t = put("email", [f"qvxcanary{i}@gmail.com" for i in range(3)])
    t = put("last_name", ["Qvxcanary"] * 3)
    t = put("street_address", ["77 Qvxcanary Street"])
    t = put("national_id", ["900-77-3131"])
    t = put("card_number", ["4000007731773177"])
    assert t.num_rows == n
    pq.write_table(t, path)


def upload_tree(admin, folder: Path, prefix: str) -> None:
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            key = f"{prefix}/{path.relative_to(folder).as_posix()}"
            admin.upload_file(str(path), "datarefresh-prod", key)


@pytest.fixture(scope="session")
def fconfig():
    return bundled_demo_config()


@pytest.fixture(scope="session")
def flocal(fconfig, tmp_path_factory):
    with running(fconfig, tmp_path_factory.mktemp("faults-aws")) as server:
        yield server


@pytest.fixture(scope="session")
def admin(flocal):
    return flocal.session(localaws.ADMIN_USER).client("s3", endpoint_url=flocal.endpoint)


@pytest.fixture(scope="session")
def prod_data(admin, tmp_path_factory) -> Path:
    """The demo data set with canaries, in s3://datarefresh-prod/raw (the default config's source)."""
    from datarefresh.devtools.demo_data import generate

    root = tmp_path_factory.mktemp("faults-prod")
    generate(root, rows=ROWS, seed=0)
    plant_canaries(root)
    upload_tree(admin, root, "raw")
    return root


@pytest.fixture(scope="session")
def proxy(flocal):
    with FaultProxy(flocal.endpoint) as p:
        yield p


@pytest.fixture(scope="session")
def run_env(flocal, proxy) -> dict:
    return flocal.env(localaws.BASE_USER) | {
        "AWS_ENDPOINT_URL": proxy.endpoint,
        "DATAREFRESH_SECRET": TEST_KEY.decode(),
    }


@dataclass
class Child:
    id: str
    out: Path
    started: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)
    pid: int | None = None
    code: int | None = None

    @property
    def output(self) -> str:
        return self.out.read_text(errors="replace")

    @property
    def rss(self) -> dict:
        return json.loads(Path(str(self.out) + ".rss").read_text())

    def wait(self, timeout: float = 180) -> int:
        assert self.done.wait(timeout), f"{self.id} did not finish in {timeout}s"
        return self.code  # type: ignore[return-value]


class ForkServer:
    def __init__(self, workdir: Path, warm_args: list[str], warm_env: dict):
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env["PYTHONPATH"] = str(REPO)
        self.workdir = workdir
        self.log = workdir / "forkserver.log"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.faults.forkserver"],
            cwd=REPO,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=open(self.log, "w"),  # noqa: SIM115 - lives as long as the server
            text=True,
            bufsize=1,
        )
        self.children: dict[str, Child] = {"warm": Child("warm", self.log)}
        self._n = 0
        self._lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()
        self._send({"args": warm_args, "env": warm_env})
        self.warm_code = self.children["warm"].wait(300)

    def _send(self, msg: dict) -> None:
        self.proc.stdin.write(json.dumps(msg) + "\n")  # type: ignore[union-attr]
        self.proc.stdin.flush()  # type: ignore[union-attr]

    def _read(self) -> None:
        for line in self.proc.stdout:  # type: ignore[union-attr]
            msg = json.loads(line)
            child = self.children[msg["id"]]
            if "pid" in msg:
                child.pid = msg["pid"]
                child.started.set()
            else:
                child.code = msg["exit"]
                child.started.set()
                child.done.set()

    def start(self, args: list[str], env: dict, **opts) -> Child:
        with self._lock:
            self._n += 1
            child = Child(f"c{self._n}", self.workdir / f"c{self._n}.out")
            self.children[child.id] = child
            self._send(
                {"id": child.id, "args": [str(a) for a in args], "env": env, "out": str(child.out), **opts}
            )
        return child

    def run(self, args: list[str], env: dict, timeout: float = 180, **opts) -> Child:
        child = self.start(args, env, **opts)
        child.wait(timeout)
        return child

    def close(self) -> None:
        self.proc.stdin.close()  # type: ignore[union-attr]
        self.proc.wait(30)


@dataclass
class Suite:
    forks: ForkServer
    env: dict
    reference: list  # the warm-up refresh's requests, in order (a first publish of both environments)
    workdir: Path


@pytest.fixture(scope="session")
def suite(prod_data, proxy, run_env, tmp_path_factory) -> Suite:
    workdir = tmp_path_factory.mktemp("faults-runs")
    proxy.reset()
    forks = ForkServer(workdir, ["refresh", "--as-of", fresh_as_of()], run_env)
    assert forks.warm_code == 0, forks.log.read_text()[-3000:]
    reference = list(proxy.requests)
    yield Suite(forks, run_env, reference, workdir)
    forks.close()


@pytest.fixture
def small_tmp(request):
    """A small filesystem (size from the test's parameter, e.g. "16k") for the run's temporary
    folder: tmpfs when this user may mount, else None (the test falls back to a file size limit)."""
    mount = Path(tempfile.mkdtemp(prefix="datarefresh-smalltmp-"))
    ok = (
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={request.param}", "tmpfs", str(mount)], capture_output=True
        ).returncode
        == 0
    )
    yield mount if ok else None
    if ok:
        subprocess.run(["umount", str(mount)], check=False)
    shutil.rmtree(mount, ignore_errors=True)
