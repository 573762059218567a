"""The README's Airflow path with the real services: api-server, scheduler and dag-processor on
loopback (SQLite, LocalExecutor) against the local AWS with IAM enforced. The DAG is unpaused on
creation (demo config), so its scheduled run starts at once and must succeed on the demo's prod
history; a run triggered through the REST API with a conf succeeds; a backfill of two past dates
succeeds and reads each date's prod versions. Headless Chromium screenshots the grid and the
trigger form (assertions stay on the API). One table keeps the runs short."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

from datarefresh.airflow.localrun import DAG_ID, airflow_env, prepare
from datarefresh.config import load_config
from tests.conftest import REPO, TEST_KEY

pytestmark = pytest.mark.integration
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DEADLINE = 300  # seconds for all runs together


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Api:
    def __init__(self, base: str):
        self.base = base

    def call(self, method: str, path: str, body: dict | None = None) -> dict:
        for attempt in range(30):
            req = urllib.request.Request(
                self.base + path,
                method=method,
                data=json.dumps(body).encode() if body is not None else None,
                headers={"Content-Type": "application/json"},
            )
            try:
                with urllib.request.urlopen(req, timeout=60) as resp:
                    return json.loads(resp.read() or b"{}")
            except urllib.error.HTTPError as exc:
                # 503: SQLite was locked by the scheduler; the API rolled back, so asking again is safe
                if exc.code != 503 or attempt == 29:
                    raise
                time.sleep(1)
        raise AssertionError("unreachable")

    def wait(self, what: str, check, timeout: float = DEADLINE, every: float = 1.0):
        end = time.monotonic() + timeout
        while True:
            try:
                got = check()
                if got:
                    return got
            except (urllib.error.URLError, ConnectionError, KeyError):
                pass
            if time.monotonic() > end:
                raise AssertionError(f"timed out waiting for {what}")
            time.sleep(every)


@pytest.fixture(scope="module")
def one_table_config(tmp_path_factory) -> Path:
    raw = yaml.safe_load((REPO / "examples" / "config.yaml").read_text())
    raw["tables"] = {"customers": raw["tables"]["customers"]}
    raw["airflow"]["retries"] = 0  # a failure shows at once instead of after the retry delay
    path = tmp_path_factory.mktemp("cfg") / "config.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def airflow(local, one_table_config, tmp_path_factory):
    from datarefresh.devtools.demo import seed_prod

    config = load_config(str(one_table_config))
    history = seed_prod(local, config, rows=120, say=lambda _m: None)
    home = tmp_path_factory.mktemp("airflow-home")
    port = _free_port()
    env = airflow_env(local, home, config, config_path=str(one_table_config), secret=TEST_KEY.decode())
    env.update(
        {
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",  # the UI and API without a login
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
            "AIRFLOW__API_AUTH__JWT_SECRET": "test-only-jwt-secret-" + "0" * 64,
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "0.5",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        }
    )
    prepare(home, env, config)
    procs = []

    def start(name: str) -> None:
        log = open(home / f"{name}.log", "ab")
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "airflow", name],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )

    api = Api(f"http://127.0.0.1:{port}")
    try:
        start("api-server")  # first: the scheduler's tasks report to its execution API
        api.wait("the api-server", lambda: api.call("GET", "/api/v2/monitor/health"), timeout=90, every=0.5)
        start("dag-processor")
        start("scheduler")
        yield {"api": api, "home": home, "port": port, "history": history, "env": env}
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)


def _runs(api: Api) -> list[dict]:
    return api.call("GET", f"/api/v2/dags/{DAG_ID}/dagRuns?limit=50")["dag_runs"]


def _finished(api: Api, run_ids: set[str]):
    runs = {r["dag_run_id"]: r for r in _runs(api) if r["dag_run_id"] in run_ids}
    if len(runs) == len(run_ids) and all(r["state"] in ("success", "failed") for r in runs.values()):
        return runs
    return None


def _publish_report(api: Api, run_id: str) -> dict:
    return api.call(
        "GET",
        f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/publish/xcomEntries/"
        "return_value?deserialize=true",
    )["value"]


def test_scheduled_triggered_and_backfill_runs_succeed_through_the_api(airflow):
    api = airflow["api"]
    dag = api.wait("the DAG to be parsed", lambda: api.call("GET", f"/api/v2/dags/{DAG_ID}"))
    assert dag["is_paused"] is False  # the demo config unpauses it: a trigger does not stay queued
    details = api.call("GET", f"/api/v2/dags/{DAG_ID}/details")
    assert details["description"] and "empty means all" in details["doc_md"]
    # the Params form: tables optional (null allowed) and a multi-select of the configured tables
    tables = details["params"]["tables"]["schema"]
    assert "null" in tables["type"] and tables["examples"] == ["customers"]

    # unpaused on creation: the scheduler starts the run of the latest interval at once. One run at a
    # time below: SQLite (the only metadata DB the lock provides a driver for) does not take the
    # scheduler and the API writing concurrently well.
    scheduled = api.wait(
        "the scheduled run", lambda: [r["dag_run_id"] for r in _runs(api) if r["run_type"] == "scheduled"]
    )
    done = api.wait("the scheduled run to finish", lambda: _finished(api, set(scheduled)), every=2)
    triggered = api.call(
        "POST",
        f"/api/v2/dags/{DAG_ID}/dagRuns",
        {"logical_date": None, "conf": {"tables": ["customers"], "dev_fraction": 0.5}},
    )
    airflow["triggered"] = triggered["dag_run_id"]
    done |= api.wait(
        "the triggered run to finish", lambda: _finished(api, {triggered["dag_run_id"]}), every=2
    )
    today = dt.datetime.now(dt.timezone.utc).date()
    backfill = api.call(
        "POST",
        "/api/v2/backfills",
        {  # what `airflow backfill create` in the README does
            "dag_id": DAG_ID,
            "from_date": f"{today - dt.timedelta(days=2)}T00:00:00Z",
            "to_date": f"{today}T00:00:00Z",
            "max_active_runs": 1,
            "reprocess_behavior": "none",
        },
    )
    assert backfill["dag_id"] == DAG_ID
    backfilled = api.wait(
        "the backfill's two runs",
        lambda: (lambda b: b if len(b) == 2 else None)(
            [r for r in _runs(api) if r["run_type"] == "backfill"]
        ),
    )
    done |= api.wait(
        "the backfill to finish", lambda: _finished(api, {r["dag_run_id"] for r in backfilled}), every=2
    )
    assert {i: r["state"] for i, r in done.items()} == dict.fromkeys(done, "success"), airflow["home"]
    assert len(done) == 4

    # each backfilled date read that day's prod versions: the demo's history grows day by day
    rows = {}
    for r in backfilled:
        report = _publish_report(api, r["dag_run_id"])
        rows[report["as_of"][:10]] = report["tables"]["customers"]["rows_in"]
    expected = {}
    for when, n in airflow["history"].items():  # newest version at or before each run's 02:00
        for day in rows:
            if when <= f"{day}T02:00:00" and when > expected.get(day, ("", 0))[0]:
                expected[day] = (when, n)
    assert rows == {day: n for day, (_, n) in expected.items()} and len(set(rows.values())) == 2

    # the triggered run used its conf; its mapped task is labelled with the table, not 0
    customers = _publish_report(api, triggered["dag_run_id"])["tables"]["customers"]
    assert (
        customers["rows_out"]["dev"] > 0.3 * customers["rows_in"]
    )  # dev_fraction 0.5, not the config's 0.05
    tis = api.call("GET", f"/api/v2/dags/{DAG_ID}/dagRuns/{triggered['dag_run_id']}/taskInstances")
    assert [t["rendered_map_index"] for t in tis["task_instances"] if t["task_id"] == "process_level_0"] == [
        "customers"
    ]


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install -y chromium)")
def test_grid_and_trigger_form_render_in_a_browser(airflow, tmp_path):
    """The grid and the trigger form in headless Chromium, driven over the DevTools protocol."""
    port, out = airflow["port"], tmp_path
    api = airflow["api"]
    run_id = airflow.get("triggered") or api.wait("a run to show", lambda: _runs(api))[-1]["dag_run_id"]
    import base64

    from websockets.sync.client import connect

    debug_port = _free_port()
    profile = out / "chromium-profile"
    browser = subprocess.Popen(
        [
            CHROMIUM,
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            f"--user-data-dir={profile}",
            f"--remote-debugging-port={debug_port}",
            "--window-size=1400,1000",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        Api(f"http://127.0.0.1:{debug_port}").wait(
            "chromium",
            lambda: (
                urllib.request.urlopen(f"http://127.0.0.1:{debug_port}/json/version", timeout=5).status == 200
            ),
            timeout=30,
            every=0.3,
        )
        page = next(
            t
            for t in json.loads(urllib.request.urlopen(f"http://127.0.0.1:{debug_port}/json").read())
            if t["type"] == "page"
        )
        with connect(page["webSocketDebuggerUrl"], max_size=2**26) as ws:
            seq = iter(range(1, 10**6))

            def cdp(method: str, **params):
                n = next(seq)
                ws.send(json.dumps({"id": n, "method": method, "params": params}))
                while True:
                    msg = json.loads(ws.recv(timeout=60))
                    if msg.get("id") == n:
                        return msg.get("result", {})

            def js(expr: str):
                return (
                    cdp("Runtime.evaluate", expression=expr, returnByValue=True)
                    .get("result", {})
                    .get("value")
                )

            def wait_for(expr: str, timeout: float = 30) -> None:
                end = time.monotonic() + timeout
                while not js(expr):
                    if time.monotonic() > end:
                        raise AssertionError(f"the UI never showed: {expr}")
                    time.sleep(0.3)

            def shot(name: str) -> None:
                (out / name).write_bytes(
                    base64.b64decode(cdp("Page.captureScreenshot", format="png")["data"])
                )

            cdp("Page.enable")
            cdp("Page.navigate", url=f"http://127.0.0.1:{port}/dags/{DAG_ID}/runs/{run_id}")
            wait_for("document.body.innerText.includes('process_level_0')")
            shot("grid.png")
            wait_for("[...document.querySelectorAll('button')].some(b => b.innerText.trim() === 'Trigger')")
            js("[...document.querySelectorAll('button')].find(b => b.innerText.trim() === 'Trigger').click()")
            try:
                # on a run's page the button opens a menu (Trigger / Trigger again with this config); the
                # params sit in a collapsed section of the dialog: open it until the form shows
                wait_for(
                    """(() => {
                    const item = [...document.querySelectorAll('[role=menuitem]')]
                        .find(m => m.innerText.trim() === 'Trigger');
                    if (item) item.click();
                    [...document.querySelectorAll('[aria-expanded=false]')]
                        .filter(b => b.innerText.includes('Run Parameters')).forEach(b => b.click());
                    return document.body.innerText.includes('Trigger Dag')
                        && document.body.innerText.includes('empty means all');
                })()""",
                    timeout=45,
                )
            finally:
                shot("trigger-form.png")  # also when the form did not show: the picture says why
    finally:
        os.killpg(browser.pid, signal.SIGTERM)
        browser.wait(timeout=20)
    for name in ("grid.png", "trigger-form.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    keep = os.environ.get("DATAREFRESH_SCREENSHOTS")  # a folder to keep them in (CI artifacts)
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        for name in ("grid.png", "trigger-form.png"):
            shutil.copy(out / name, Path(keep) / name)
