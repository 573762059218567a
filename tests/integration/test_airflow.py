"""The DAG: import checks, then whole runs through `airflow dags test` against the local
AWS server with IAM enforced."""

from __future__ import annotations

import datetime as dt
import gzip
import io
import json
import subprocess
import sys

import pyarrow.parquet as pq
import pytest

from datarefresh.airflow.dags import dags_folder
from datarefresh.airflow.localrun import dags_test
from datarefresh.errors import TerminalError
from datarefresh.storage.publish import POINTER
from tests.conftest import REPO, TEST_KEY

HEAVY = ("pyarrow", "pandas", "presidio_analyzer", "spacy", "boto3", "great_expectations", "numpy")


def test_dagbag_imports_without_errors_and_without_heavy_work():
    code = f"""
import sys, json
from airflow.dag_processing.dagbag import DagBag
before = set(sys.modules)
bag = DagBag(dag_folder={str(dags_folder())!r})  # the folder the package ships
dag = bag.dags.get("datarefresh_nightly")
print(json.dumps({{"errors": {{k: str(v) for k, v in bag.import_errors.items()}},
                  "tasks": sorted(t.task_id for t in dag.tasks) if dag else [],
                  "schedule": str(dag.schedule) if dag else None, "tags": sorted(dag.tags) if dag else [],
                  "params": sorted(dag.params.keys()) if dag else [], "doc": bool(dag and dag.doc_md),
                  "owner": dag.default_args.get("owner") if dag else None,
                  "heavy": sorted(m for m in set(sys.modules) - before if m.split('.')[0] in {HEAVY!r})}}))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["errors"] == {}
    assert got["tasks"] == [
        "plan",
        "process_level_0",
        "process_level_1",
        "process_level_2",
        "publish",
        "units_level_0",
        "units_level_1",
        "units_level_2",
    ]
    assert got["schedule"] == "0 2 * * *" and got["doc"] and got["owner"] == "data-platform"
    assert got["params"] == ["allow_backwards", "as_of", "dev_fraction", "envs", "tables"]
    # parse time does no data work: none of the heavy libraries is even imported
    assert got["heavy"] == []


def test_params_schema_rejects_bad_input():
    from datarefresh.airflow.dags import build_nightly_dag

    params = build_nightly_dag().params

    def resolve(name, value):
        return params.get_param(name).resolve(value)

    assert resolve("tables", ["orders"]) == ["orders"]
    assert resolve("dev_fraction", 0.2) == 0.2
    assert resolve("as_of", "2026-11-01T02:00:00+00:00")
    for name, bad in (
        ("tables", ["no_such_table"]),
        ("dev_fraction", 1.5),
        ("dev_fraction", 0),
        ("envs", []),
        ("envs", ["prod"]),
        ("as_of", "yesterday-ish"),
        ("allow_backwards", "yes"),
    ):
        with pytest.raises(Exception, match="Failed validating|Invalid input"):
            resolve(name, bad)


def test_terminal_errors_fail_without_retry_and_transient_ones_retry():
    from airflow.sdk.exceptions import AirflowFailException

    from datarefresh.airflow.tasks import _terminal_fails_fast
    from datarefresh.errors import PolicyError, StorageError

    @_terminal_fails_fast
    def gate():
        raise PolicyError("column is in the data but not in the policy", table="t", column="c")

    @_terminal_fails_fast
    def flaky():
        raise StorageError("S3 kept failing")

    with pytest.raises(AirflowFailException, match="table t, column c"):
        gate()
    with pytest.raises(StorageError):
        flaky()


def test_publish_fails_when_plan_did_not_finish():
    # publish waits for everything (all_done), so it runs after a failed plan too: it must fail (the
    # run's state follows it), never succeed or be skipped
    from airflow.sdk.exceptions import AirflowFailException

    from datarefresh.airflow.tasks import publish

    with pytest.raises(AirflowFailException, match="plan task did not finish"):
        publish(None, [])


def _pointer(admin_s3, env):
    return json.loads(admin_s3.get_object(Bucket=f"datarefresh-{env}", Key=POINTER)["Body"].read())


@pytest.fixture(scope="module")
def airflow_home(tmp_path_factory):
    return tmp_path_factory.mktemp("airflow")


@pytest.fixture(scope="module")
def seeded_prod(local, config, tmp_path_factory):
    from datarefresh.devtools.demo import seed_prod
    from datarefresh.devtools.demo_data import generate

    seed_prod(local, config, rows=250, say=lambda _m: None)
    raw = tmp_path_factory.mktemp("raw")
    generate(raw, rows=250, seed=0)  # the very data seed_prod uploaded
    return raw


def test_dags_test_publishes_clean_snapshots_idempotently(local, config, admin_s3, airflow_home, seeded_prod):
    from datarefresh.refresh.local import discover_local

    day = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=2)).replace(
        hour=2, minute=0, second=0, microsecond=0
    )
    dags_test(local, airflow_home, config, day.isoformat(), secret=TEST_KEY.decode())
    pointers = {env: _pointer(admin_s3, env) for env in ("dev", "staging")}
    emails = set(discover_local(seeded_prod)["customers"].sample(10**9).column("email").to_pylist())
    for env, p in pointers.items():
        assert p["as_of"] == day.isoformat()  # the snapshot is as of the run's data interval end
        manifest = json.loads(
            admin_s3.get_object(Bucket=f"datarefresh-{env}", Key=p["manifest"])["Body"].read()
        )
        assert manifest["validation"]["passed"]
        assert set(manifest["tables"]) == set(config.tables)
        for t in manifest["tables"].values():
            for f in t["files"]:
                body = admin_s3.get_object(Bucket=f"datarefresh-{env}", Key=f["key"])["Body"].read()
                blob = json.dumps(pq.read_table(io.BytesIO(body)).to_pylist(), default=str)
                assert not [e for e in emails if e in blob]
    assert pointers["staging"]["tables"]["customers"] == 250
    assert 0 < pointers["dev"]["tables"]["customers"] < 250

    # the same date again: same snapshot, the pointer untouched
    dags_test(local, airflow_home, config, day.isoformat(), secret=TEST_KEY.decode())
    assert {env: _pointer(admin_s3, env) for env in ("dev", "staging")} == pointers

    # an earlier date runs, but does not move the pointers backwards
    dags_test(
        local, airflow_home, config, (day - dt.timedelta(hours=1)).isoformat(), secret=TEST_KEY.decode()
    )
    assert {env: _pointer(admin_s3, env) for env in ("dev", "staging")} == pointers


def test_as_of_comes_from_the_param_the_data_interval_or_the_trigger_time():
    import datetime as dt
    from types import SimpleNamespace

    from datarefresh.airflow.tasks import run_as_of

    end = dt.datetime(2026, 11, 29, 2, tzinfo=dt.timezone.utc)
    triggered = dt.datetime(2026, 11, 30, 12, 54, 15, tzinfo=dt.timezone.utc)
    assert run_as_of({"params": {"as_of": "2026-11-01T00:00:00Z"}, "data_interval_end": end}).day == 1
    assert run_as_of({"params": {"as_of": None}, "data_interval_end": end}) == end
    # a run triggered from the UI has no logical date, hence no data interval
    manual = {"params": {"as_of": None}, "dag_run": SimpleNamespace(run_after=triggered)}
    assert run_as_of(manual) == triggered


def _snapshot_objects(admin_s3, env) -> set[tuple[str, str]]:
    """Every version and delete marker under an environment's snapshots/ (manifests included)."""
    pages = admin_s3.get_paginator("list_object_versions").paginate(
        Bucket=f"datarefresh-{env}", Prefix="snapshots/"
    )
    return {
        (v["Key"], v["VersionId"])
        for page in pages
        for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
    }


def test_a_failed_unit_leaves_no_file_of_its_run_and_touches_no_published_one(
    local, config, admin_s3, airflow_home, seeded_prod
):
    before = {env: _snapshot_objects(admin_s3, env) for env in ("dev", "staging")}  # published ones, if any
    # a second events file whose columns differ from the first: the events unit fails closed (no retry)
    # after the customers unit (the level before) has written its files to both buckets
    bad = gzip.compress(
        b"event_id,customer_id,event_type,occurred_at,payload,ssn\n"
        b"1,1,login,2026-11-01 00:00:00,{},123-45-6789\n"
    )
    put = admin_s3.put_object(Bucket="datarefresh-prod", Key="raw/events/part-00001.csv.gz", Body=bad)
    day = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=3)).replace(
        hour=2, minute=0, second=0, microsecond=0
    )
    try:
        with pytest.raises(TerminalError, match="dags test"):
            dags_test(
                local,
                airflow_home,
                config,
                day.isoformat(),
                secret=TEST_KEY.decode(),
                conf=json.dumps({"tables": ["customers", "events"]}),
            )  # two levels are enough
    finally:  # prod as the other tests know it
        admin_s3.delete_object(
            Bucket="datarefresh-prod", Key="raw/events/part-00001.csv.gz", VersionId=put["VersionId"]
        )
    log = (airflow_home / f"dags-test-{day.isoformat().replace(':', '')}.log").read_text()
    assert "table events: columns differ" in log  # the unit failed as planned, not plan
    assert "1 work unit(s) did not finish (events #0): nothing is published" in log  # publish ran, refused
    assert {env: _snapshot_objects(admin_s3, env) for env in ("dev", "staging")} == before
