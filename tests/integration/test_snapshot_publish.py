"""Version-pinned snapshots, atomic publish, concurrency and the refresh pipeline on the local server."""

from __future__ import annotations

import datetime as dt
import json
import time

import pyarrow.parquet as pq
import pytest

from datarefresh.config import parse_config
from datarefresh.errors import PublishConflictError
from datarefresh.io.tables import iter_batches
from datarefresh.refresh.local import discover_local
from datarefresh.refresh.run import refresh
from datarefresh.storage.publish import POINTER, Publisher
from datarefresh.storage.snapshot import table_files, take_snapshot
from tests.conftest import TEST_KEY

READER = "datarefresh-prod-reader"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _tick():
    """S3 LastModified has one-second resolution: make the next write land in a later second."""
    time.sleep(1.1)


def _read_all(files) -> list[dict]:
    return [r for f in files for b in iter_batches(f) for r in b.to_pylist()]


def test_snapshot_pins_versions_as_of_a_timestamp(aws, admin_s3):
    # a hidden folder: the demo config reads raw/ and refuses table folders it does not know
    bucket, prefix = "datarefresh-prod", "raw/_snaptest/people"
    admin_s3.put_object(Bucket=bucket, Key=f"{prefix}/a.csv", Body=b"id,name\n1,first\n")
    admin_s3.put_object(Bucket=bucket, Key=f"{prefix}/gone.csv", Body=b"id,name\n9,deleted later\n")
    _tick()
    as_of = _now()
    _tick()
    admin_s3.put_object(Bucket=bucket, Key=f"{prefix}/a.csv", Body=b"id,name\n1,second\n")
    admin_s3.put_object(Bucket=bucket, Key=f"{prefix}/new.csv", Body=b"id,name\n2,added later\n")
    admin_s3.delete_object(Bucket=bucket, Key=f"{prefix}/gone.csv")
    prod = aws.s3(READER)

    old = take_snapshot(prod, READER, f"s3://{bucket}/raw/_snaptest", {"people": "people"}, as_of)
    assert old.versioned
    assert [o.key.rsplit("/", 1)[-1] for o in old.tables["people"]] == ["a.csv", "gone.csv"]
    assert _read_all(table_files(prod, READER, bucket, old.tables["people"])) == [
        {"id": 1, "name": "first"},
        {"id": 9, "name": "deleted later"},
    ]

    now = take_snapshot(prod, READER, f"s3://{bucket}/raw/_snaptest", {"people": "people"}, _now())
    assert [o.key.rsplit("/", 1)[-1] for o in now.tables["people"]] == ["a.csv", "new.csv"]
    # a write after the snapshot does not change what a run of that snapshot reads
    admin_s3.put_object(Bucket=bucket, Key=f"{prefix}/a.csv", Body=b"id,name\n1,third\n")
    assert _read_all(table_files(prod, READER, bucket, now.tables["people"]))[0]["name"] == "second"


def _publisher(aws, env="dev"):
    role = f"datarefresh-{env}-writer"
    return Publisher(aws.s3(role), role, f"s3://datarefresh-{env}/pubtest")


def test_concurrent_publishes_one_wins_the_other_fails_cleanly(aws):
    a, b = _publisher(aws), _publisher(aws)
    start = a.read_pointer()
    assert start.data is None
    a.move_pointer(start, {"snapshot_id": "A"})
    with pytest.raises(PublishConflictError, match="another run published first"):
        b.move_pointer(start, {"snapshot_id": "B"})
    assert a.read_pointer().data == {"snapshot_id": "A"}
    # from the new pointer, the next publish goes through
    b.move_pointer(b.read_pointer(), {"snapshot_id": "C"})
    assert a.read_pointer().data == {"snapshot_id": "C"}


def test_retention_keeps_the_newest_and_the_current_and_runs_still_writing(aws, tmp_path):
    """Published snapshots (with a manifest) beyond the newest `keep` go, never the current one. A
    prefix without a manifest is a run still writing: a backfill of an older date sorts first, and
    retention of a concurrent publish deleted its files (its gates then saw 0 rows); it goes only
    once nothing was written to it for UNFINISHED_GRACE."""
    import datetime as dt

    from datarefresh.storage.publish import UNFINISHED_GRACE

    pub = _publisher(aws, "staging")
    (tmp_path / "t").mkdir()
    pq.write_table(__import__("pyarrow").table({"a": [1]}), tmp_path / "t" / "part-00000.parquet")
    backfill = "20251230T000000Z-z"  # in progress: files, no manifest yet
    pub.upload_table(backfill, "t", tmp_path / "t")
    for sid in ("20260101T000000Z-a", "20260102T000000Z-b", "20260103T000000Z-c", "20260104T000000Z-d"):
        files = pub.upload_table(sid, "t", tmp_path / "t")
        pub.write_manifest(sid, {"snapshot_id": sid, "tables": {"t": {"files": files}}})
    deleted = pub.retain(2, current_id="20260101T000000Z-a")
    assert deleted == ["20260102T000000Z-b"]
    assert pub.list_snapshots() == [
        backfill,
        "20260101T000000Z-a",
        "20260103T000000Z-c",
        "20260104T000000Z-d",
    ]
    later = dt.datetime.now(dt.timezone.utc) + UNFINISHED_GRACE + dt.timedelta(hours=1)
    assert pub.retain(2, current_id="20260104T000000Z-d", now=later) == [backfill, "20260101T000000Z-a"]


@pytest.fixture(scope="module")
def seeded(local, config, admin_s3, tmp_path_factory):
    """Demo prod data in the prod bucket; returns the raw local copy for leak checks."""
    from datarefresh.devtools.demo import seed_prod

    seed_prod(local, config, rows=300, say=lambda _m: None)
    raw = tmp_path_factory.mktemp("raw")
    from datarefresh.devtools.demo_data import generate

    generate(raw, rows=300, seed=0)  # the same data seed_prod uploaded
    _tick()
    return raw


def _pointer(admin_s3, env):
    return json.loads(admin_s3.get_object(Bucket=f"datarefresh-{env}", Key=POINTER)["Body"].read())


def _objects(admin_s3, bucket):
    pages = admin_s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return [o["Key"] for p in pages for o in p.get("Contents", [])]


def test_refresh_publishes_validated_snapshots_without_raw_data(aws, config, admin_s3, seeded, monkeypatch):
    monkeypatch.setenv("DATAREFRESH_SECRET", TEST_KEY.decode())
    as_of = _now()
    report = refresh(config, aws, envs=("dev", "staging"), as_of=as_of)
    for env in ("dev", "staging"):
        r = report["environments"][env]
        assert r["published"] and r["validation"]["passed"], r
        pointer = _pointer(admin_s3, env)
        assert pointer["snapshot_id"] == r["snapshot_id"] and pointer["as_of"] == as_of.isoformat()
        manifest = json.loads(
            admin_s3.get_object(Bucket=f"datarefresh-{env}", Key=pointer["manifest"])["Body"].read()
        )
        assert set(manifest["tables"]) == set(config.tables)
        assert all(f["sha256"] and f["size"] for t in manifest["tables"].values() for f in t["files"])
    raw_customers = discover_local(seeded)["customers"].sample(10**9)
    staging = report["environments"]["staging"]["tables"]
    assert staging["customers"] == raw_customers.num_rows
    assert report["environments"]["dev"]["tables"]["customers"] < raw_customers.num_rows
    # nothing raw anywhere outside prod: scan every object of both environment buckets
    emails = {e for e in raw_customers.column("email").to_pylist()}
    for env in ("dev", "staging"):
        for key in _objects(admin_s3, f"datarefresh-{env}"):
            if key.startswith("snapshots/") and key.endswith(".parquet"):
                import io

                body = admin_s3.get_object(Bucket=f"datarefresh-{env}", Key=key)["Body"].read()
                blob = json.dumps(pq.read_table(io.BytesIO(body)).to_pylist(), default=str)
                assert not [e for e in emails if e in blob], key
            elif key.startswith("reports/"):  # run reports and Data Docs: metadata, never a raw value
                text = (
                    admin_s3.get_object(Bucket=f"datarefresh-{env}", Key=key)["Body"]
                    .read()
                    .decode("utf-8", "replace")
                )
                assert not [e for e in emails if e in text], key
            else:
                # the only other objects are the pointer and other tests' fixtures
                assert key.startswith(("snapshots/", "pubtest/", "probe/")) or key == POINTER, key


def test_rerun_is_idempotent_and_older_as_of_does_not_move_the_pointer(
    aws, config, admin_s3, seeded, monkeypatch
):
    monkeypatch.setenv("DATAREFRESH_SECRET", TEST_KEY.decode())
    as_of = _now()
    first = refresh(config, aws, envs=("dev",), as_of=as_of)
    pointer = _pointer(admin_s3, "dev")
    again = refresh(config, aws, envs=("dev",), as_of=as_of)
    assert again["environments"]["dev"]["snapshot_id"] == first["environments"]["dev"]["snapshot_id"]
    assert again["environments"]["dev"].get("unchanged") is True
    assert _pointer(admin_s3, "dev") == pointer
    older = refresh(config, aws, envs=("dev",), as_of=as_of - dt.timedelta(seconds=3))
    assert older["environments"]["dev"]["published"] is False
    assert "newer" in older["environments"]["dev"]["reason"]
    assert _pointer(admin_s3, "dev") == pointer
    back = refresh(config, aws, envs=("dev",), as_of=as_of - dt.timedelta(seconds=3), allow_backwards=True)
    assert back["environments"]["dev"]["published"] is True
    assert _pointer(admin_s3, "dev")["as_of"] < pointer["as_of"]


def test_a_crash_before_the_pointer_moves_leaves_the_previous_snapshot(
    aws, config, admin_s3, seeded, monkeypatch
):
    monkeypatch.setenv("DATAREFRESH_SECRET", TEST_KEY.decode())
    refresh(config, aws, envs=("staging",), as_of=_now())
    before = _pointer(admin_s3, "staging")

    def crash(self, expected, new):
        raise KeyboardInterrupt("worker killed")

    monkeypatch.setattr(Publisher, "move_pointer", crash)
    _tick()
    with pytest.raises(KeyboardInterrupt):
        refresh(config, aws, envs=("staging",), as_of=_now())
    assert _pointer(admin_s3, "staging") == before
    # what readers resolve is still complete: every file the pointer's manifest names exists
    manifest = json.loads(
        admin_s3.get_object(Bucket="datarefresh-staging", Key=before["manifest"])["Body"].read()
    )
    keys = set(_objects(admin_s3, "datarefresh-staging"))
    assert all(f["key"] in keys for t in manifest["tables"].values() for f in t["files"])


def test_refresh_of_selected_tables_and_clear_errors(aws, config, seeded, monkeypatch):
    from datarefresh.errors import ConfigError

    monkeypatch.setenv("DATAREFRESH_SECRET", TEST_KEY.decode())
    with pytest.raises(ConfigError, match="unknown table"):
        refresh(config, aws, tables=("nope",))
    bad = parse_config(
        config.model_dump() | {"source": config.source.model_dump() | {"role": "datarefresh-dev-reader"}}
    )
    from datarefresh.errors import AccessDeniedError

    with pytest.raises(
        AccessDeniedError, match="role datarefresh-dev-reader may not .*s3://datarefresh-prod"
    ):
        refresh(bad, aws, envs=("dev",))


def test_a_single_table_run_carries_the_other_tables_over(aws, config, admin_s3, seeded, monkeypatch):
    monkeypatch.setenv("DATAREFRESH_SECRET", TEST_KEY.decode())
    base = _now() + dt.timedelta(days=30)
    full = refresh(config, aws, envs=("dev",), as_of=base)
    assert full["environments"]["dev"]["published"]
    for i in range(1, 5):  # more single-table runs than keep_snapshots (3)
        r = refresh(config, aws, envs=("dev",), tables=("orders",), as_of=base + dt.timedelta(hours=i))
        dev = r["environments"]["dev"]
        assert dev["published"], dev.get("reason")
        # orders' dev sample followed the customers of the published snapshot, and the gate checked it
        assert any(
            c["check"] == "foreign_key_resolves:customer_id" and c["ok"] for c in dev["validation"]["checks"]
        )
    pointer = _pointer(admin_s3, "dev")
    manifest = json.loads(
        admin_s3.get_object(Bucket="datarefresh-dev", Key=pointer["manifest"])["Body"].read()
    )
    assert set(manifest["tables"]) == set(config.tables)
    assert set(manifest["carried_over"]) == set(config.tables) - {"orders"}
    keys = set(_objects(admin_s3, "datarefresh-dev"))
    # retention kept the older snapshot whose files the current manifest still names
    assert all(f["key"] in keys for t in manifest["tables"].values() for f in t["files"])
    assert manifest["tables"]["customers"]["as_of"] == base.isoformat()
