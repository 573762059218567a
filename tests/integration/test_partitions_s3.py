"""Hive-style partitions on S3: `events/dt=.../` in prod is read with its `dt` column, cut into
one work unit per partition, and published in the same layout."""

from __future__ import annotations

import csv
import gzip
import io
import json

import pyarrow.parquet as pq
import pytest

from datarefresh.config import parse_config
from datarefresh.devtools.demo_data import generate
from datarefresh.refresh.run import parse_as_of, plan_run, process_unit, publish_run, run_levels
from datarefresh.storage.publish import POINTER
from tests.conftest import TEST_KEY

DAYS = ("2026-11-29", "2026-11-30")


@pytest.fixture(scope="module")
def partitioned(admin_s3, config, tmp_path_factory):
    local = tmp_path_factory.mktemp("parts")
    generate(local, rows=60, seed=5)
    events = local / "events" / "part-00000.csv.gz"
    rows = list(csv.reader(io.StringIO(gzip.decompress(events.read_bytes()).decode())))
    events.unlink()
    half = (len(rows) - 1) // 2
    for day, chunk in zip(DAYS, (rows[1:1 + half], rows[1 + half:])):
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows([rows[0]] + chunk)
        (local / "events" / f"dt={day}").mkdir()
        (local / "events" / f"dt={day}" / "part-0.csv.gz").write_bytes(gzip.compress(buf.getvalue().encode()))
    for path in sorted(local.rglob("*")):
        if path.is_file():
            admin_s3.upload_file(str(path), "datarefresh-prod", f"raw/parts/{path.relative_to(local).as_posix()}")
    data = config.model_dump(mode="json", exclude_none=True)
    data["source"]["uri"] = "s3://datarefresh-prod/raw/parts"
    data["tables"]["events"]["columns"]["dt"] = {"action": "keep", "type": "string"}
    return parse_config(data), len(rows) - 1


def test_partitions_are_units_columns_and_folders_on_s3(partitioned, aws, admin_s3, monkeypatch):
    cfg, prod_rows = partitioned
    monkeypatch.setenv("DATAREFRESH_SECRET", TEST_KEY.decode())
    # staging only: dev reads its outputs back the same way (_read_outputs), only sampled
    plan = plan_run(cfg, aws, envs=("staging",), tables=("customers", "events"),
                    as_of=parse_as_of("2099-06-01T00:00:00Z"))
    units = [u for u in plan.units if u.table == "events"]
    assert [[o.key.split("/")[-2] for o in u.objects] for u in units] == [[f"dt={d}"] for d in DAYS]
    assert plan.source_columns["events"][-1] == "dt" and plan.partitions["events"] == [("dt", "string")]
    results = [process_unit(cfg, aws, plan, u.table, u.index) for level in run_levels(plan) for u in level]
    report = publish_run(cfg, aws, plan, results)
    for env in ("staging",):
        r = report["environments"][env]
        assert r["published"], r.get("reason")
        pointer = json.loads(admin_s3.get_object(Bucket=f"datarefresh-{env}", Key=POINTER)["Body"].read())
        manifest = json.loads(admin_s3.get_object(Bucket=f"datarefresh-{env}", Key=pointer["manifest"])["Body"].read())
        keys = [f["key"] for f in manifest["tables"]["events"]["files"]]
        assert {k.split("/")[-2] for k in keys} <= {f"dt={d}" for d in DAYS}  # before: flattened into part-*.parquet
        body = admin_s3.get_object(Bucket=f"datarefresh-{env}", Key=keys[0])["Body"].read()
        assert "dt" not in pq.read_schema(io.BytesIO(body)).names  # the folder carries it
    assert report["environments"]["staging"]["tables"]["events"] == prod_rows


def test_pull_keeps_the_partition_folders(partitioned, config, local, tmp_path, monkeypatch):
    import pyarrow.dataset as ds

    from datarefresh.pull import pull

    for k, v in local.env("datarefresh-staging-reader").items():
        monkeypatch.setenv(k, v)
    r = pull(partitioned[0], env="staging", dest=tmp_path / "data", tables=("events",), quiet=True)
    events = tmp_path / "data" / "current" / "events"
    assert sorted(p.name for p in events.iterdir()) == [f"dt={d}" for d in DAYS]
    t = ds.dataset(events, partitioning="hive").to_table()
    assert t.num_rows == r["tables"]["events"] and set(t.column("dt").to_pylist()) == set(DAYS)
