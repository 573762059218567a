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
from datarefresh.errors import ConfigError
from datarefresh.refresh.plan import parse_as_of, plan_run
from datarefresh.refresh.publish import publish_run
from datarefresh.refresh.run import run_levels
from datarefresh.refresh.unit import process_unit
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
    for day, chunk in zip(DAYS, (rows[1 : 1 + half], rows[1 + half :])):
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows([rows[0]] + chunk)
        (local / "events" / f"dt={day}").mkdir()
        (local / "events" / f"dt={day}" / "part-0.csv.gz").write_bytes(gzip.compress(buf.getvalue().encode()))
    for path in sorted(local.rglob("*")):
        if path.is_file():
            admin_s3.upload_file(
                str(path), "datarefresh-prod", f"raw/parts/{path.relative_to(local).as_posix()}"
            )
    data = config.model_dump(mode="json", exclude_none=True)
    data["source"]["uri"] = "s3://datarefresh-prod/raw/parts"
    data["tables"]["events"]["columns"]["dt"] = {"action": "keep", "type": "string"}
    return parse_config(data), len(rows) - 1


@pytest.fixture(scope="module")
def published(partitioned, aws):
    """The partitioned tables refreshed into staging once per module, so each test may run alone."""
    cfg, _ = partitioned
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DATAREFRESH_SECRET", TEST_KEY.decode())
        # staging only: dev reads its outputs back the same way (_read_outputs), only sampled
        plan = plan_run(
            cfg,
            aws,
            envs=("staging",),
            tables=("customers", "events"),
            as_of=parse_as_of("2099-06-01T00:00:00Z"),
        )
        results = [
            process_unit(cfg, aws, plan, u.table, u.index) for level in run_levels(plan) for u in level
        ]
        return plan, publish_run(cfg, aws, plan, results)


def test_partitions_are_units_columns_and_folders_on_s3(partitioned, published, admin_s3):
    _, prod_rows = partitioned
    plan, report = published
    units = [u for u in plan.units if u.table == "events"]
    assert [[o.key.split("/")[-2] for o in u.objects] for u in units] == [[f"dt={d}"] for d in DAYS]
    assert plan.source_columns["events"][-1] == "dt" and plan.partitions["events"] == [("dt", "string")]
    for env in ("staging",):
        r = report["environments"][env]
        assert r["published"], r.get("reason")
        pointer = json.loads(admin_s3.get_object(Bucket=f"datarefresh-{env}", Key=POINTER)["Body"].read())
        manifest = json.loads(
            admin_s3.get_object(Bucket=f"datarefresh-{env}", Key=pointer["manifest"])["Body"].read()
        )
        keys = [f["key"] for f in manifest["tables"]["events"]["files"]]
        assert {k.split("/")[-2] for k in keys} <= {
            f"dt={d}" for d in DAYS
        }  # before: flattened into part-*.parquet
        body = admin_s3.get_object(Bucket=f"datarefresh-{env}", Key=keys[0])["Body"].read()
        assert "dt" not in pq.read_schema(io.BytesIO(body)).names  # the folder carries it
    assert report["environments"]["staging"]["tables"]["events"] == prod_rows


def test_pull_keeps_the_partition_folders(partitioned, published, config, local, tmp_path, monkeypatch):
    import pyarrow.dataset as ds

    from datarefresh.pull import pull

    for k, v in local.env("datarefresh-staging-reader").items():
        monkeypatch.setenv(k, v)
    r = pull(partitioned[0], env="staging", dest=tmp_path / "data", tables=("events",), quiet=True)
    events = tmp_path / "data" / "current" / "events"
    assert sorted(p.name for p in events.iterdir()) == [f"dt={d}" for d in DAYS]
    t = ds.dataset(events, partitioning="hive").to_table()
    assert t.num_rows == r["tables"]["events"] and set(t.column("dt").to_pylist()) == set(DAYS)


def test_parts_of_a_table_over_many_units_are_named_in_a_keyed_order(
    admin_s3, config, aws, local, tmp_path, monkeypatch
):
    """Prod sorted by key over many objects, one work unit each: the order in which the output parts
    are listed (and the manifest names them, and a reader concatenates them) carries nothing of the
    prod order. Before, parts were named `part-<unit>-<n>`: that order was the prod object order, and
    the rows as concatenated were 12 blocks in prod order (rank correlation ~0.99 with the prod key)."""
    import numpy as np
    import pyarrow as pa
    import yaml

    from datarefresh.refresh import plan as run_plan
    from datarefresh.refresh.unit import part_name
    from datarefresh.anonymize.keyed import Keyring
    from datarefresh.pull import pull
    from tests.unit.test_privacy_canaries import config as canary_config
    from tests.unit.test_privacy_order import _originals, _spearman

    objects = {"people": 12, "orders": 4}
    per_object = 30
    ids = np.arange(1, objects["people"] * per_object + 1)
    for u in range(objects["people"]):  # sorted by key, the object names following the key
        chunk = ids[u * per_object : (u + 1) * per_object]
        path = tmp_path / f"people-{u}.parquet"
        pq.write_table(
            pa.table(
                {
                    "person_id": chunk,
                    "email": [f"p{i}@corp.example" for i in chunk],
                    "first_name": ["Anna"] * per_object,
                    "last_name": ["Smith"] * per_object,
                    "notes": ["fine"] * per_object,
                }
            ),
            path,
        )
        admin_s3.upload_file(str(path), "datarefresh-prod", f"raw/units/people/part-{u:05d}.parquet")
    order_ids = np.arange(1, objects["orders"] * per_object + 1)
    for u in range(objects["orders"]):
        body = "order_id,person_id,amount\n" + "".join(
            f"{i},{2 * i},{i}\n" for i in order_ids[u * per_object : (u + 1) * per_object]
        )
        admin_s3.put_object(
            Bucket="datarefresh-prod", Key=f"raw/units/orders/part-{u:05d}.csv", Body=body.encode()
        )
    data = config.model_dump(mode="json", exclude_none=True)
    data["source"]["uri"] = "s3://datarefresh-prod/raw/units"
    data["tables"] = yaml.safe_load(canary_config(tmp_path).read_text())["tables"]
    (tmp_path / "suites").mkdir()
    data["validation"]["expectations_dir"] = str(tmp_path / "suites")
    data["environments"]["dev"]["sampling"]["fraction"] = 0.5
    monkeypatch.setenv("DATAREFRESH_SECRET", TEST_KEY.decode())
    # a prod table folder nobody configured: refused by name (unknown_tables: fail), or skipped by name
    admin_s3.put_object(Bucket="datarefresh-prod", Key="raw/units/forgotten_table/part-0.csv", Body=b"a\n1\n")
    with pytest.raises(ConfigError, match="not in the config: forgotten_table"):
        plan_run(parse_config(data), aws, envs=("staging",), as_of=parse_as_of("2099-07-01T00:00:00Z"))
    cfg = parse_config(data | {"unknown_tables": "skip"})
    monkeypatch.setattr(run_plan, "UNIT_BYTES", 1)  # every prod object is a unit of its own
    plan = plan_run(cfg, aws, envs=("dev", "staging"), as_of=parse_as_of("2099-07-01T00:00:00Z"))
    assert plan.skipped_tables == ["forgotten_table"] and set(plan.policies) == {"people", "orders"}
    assert {t: len([u for u in plan.units if u.table == t]) for t in objects} == objects
    results = [process_unit(cfg, aws, plan, u.table, u.index) for level in run_levels(plan) for u in level]
    report = publish_run(cfg, aws, plan, results)
    assert report["skipped_tables"] == ["forgotten_table"]
    keyring = Keyring(TEST_KEY)
    read = lambda env, key: pq.read_table(
        io.BytesIO(  # noqa: E731
            admin_s3.get_object(Bucket=f"datarefresh-{env}", Key=key)["Body"].read()
        )
    )
    for env in ("dev", "staging"):
        assert report["environments"][env]["published"], report["environments"][env].get("reason")
        pointer = json.loads(admin_s3.get_object(Bucket=f"datarefresh-{env}", Key=POINTER)["Body"].read())
        manifest = json.loads(
            admin_s3.get_object(Bucket=f"datarefresh-{env}", Key=pointer["manifest"])["Body"].read()
        )
        for table, pk, domain in (("people", "person_id", ids), ("orders", "order_id", order_ids)):
            prefix = f"snapshots/{plan.snapshot_id}/{table}/"
            listed = [
                o["Key"]
                for o in admin_s3.list_objects_v2(Bucket=f"datarefresh-{env}", Prefix=prefix)["Contents"]
            ]
            assert [
                f["key"] for f in manifest["tables"][table]["files"]
            ] == listed  # one order: the keyed names'
            parts = [read(env, k) for k in listed]
            # each part holds one unit, whose prod rows are one block of the key: which one, per part
            units = [
                int(_originals(keyring, f"ID:{pk}", p.column(pk).to_numpy(), domain).min() - 1) // per_object
                for p in parts
            ]
            assert sorted(units) == list(range(objects[table])), units
            assert units == sorted(range(objects[table]), key=lambda u, t=table: part_name(keyring, t, u, 0))
            assert units != sorted(units)  # ... which is not prod's
            if table == "people":  # the rows as a reader concatenates the parts (12 blocks of keys)
                keys = _originals(keyring, "ID:person_id", pa.concat_tables(parts).column(pk).to_numpy(), ids)
                rho = _spearman(np.arange(len(keys)), keys)
                assert abs(rho) < 0.5, f"{env}: position predicts the prod key (rho={rho:.3f})"
    for k, v in local.env("datarefresh-staging-reader").items():
        monkeypatch.setenv(k, v)
    got = pull(cfg, env="staging", dest=tmp_path / "data", tables=("people",), quiet=True)
    pulled = sorted(p.name for p in (tmp_path / "data" / "current" / "people").glob("*.parquet"))
    assert got["tables"]["people"] == len(ids) and pulled == sorted(
        f["key"].rsplit("/", 1)[-1] for f in manifest["tables"]["people"]["files"]
    )
