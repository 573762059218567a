"""`pull --tables` into an existing copy, against an in-memory bucket: the other tables stay,
and every table says which snapshot it comes from."""

from __future__ import annotations

import hashlib
import io
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from botocore.exceptions import ClientError

import datarefresh.pull as pull_module
from datarefresh.config import bundled_demo_config
from datarefresh.storage.uri import S3Uri


class _Bucket:
    def __init__(self):
        self.objects: dict[str, bytes] = {}

    def get_object(self, Bucket, Key):  # noqa: N803 - boto3's names
        if Key not in self.objects:
            raise ClientError({"Error": {"Code": "NoSuchKey"}}, "GetObject")
        return {"Body": io.BytesIO(self.objects[Key])}

    def publish(self, sid: str, tables: dict[str, list[int]], carried: dict | None = None) -> dict:
        manifest = {"snapshot_id": sid, "as_of": sid, "tables": dict(carried or {})}
        for t, ids in tables.items():
            buf = io.BytesIO()
            pq.write_table(pa.table({"id": ids}), buf)
            key = f"snapshots/{sid}/{t}/part-00000-00000.parquet"
            self.objects[key] = buf.getvalue()
            manifest["tables"][t] = {"rows": len(ids), "as_of": sid, "files": [
                {"key": key, "size": len(buf.getvalue()), "sha256": hashlib.sha256(buf.getvalue()).hexdigest()}]}
        self.objects[f"snapshots/{sid}/_manifest.json"] = json.dumps(manifest).encode()
        self.objects["current.json"] = json.dumps({"snapshot_id": sid, "manifest": f"snapshots/{sid}/_manifest.json"}
                                                  ).encode()
        return manifest


@pytest.fixture
def bucket(monkeypatch):
    b = _Bucket()
    monkeypatch.setattr(pull_module, "env_client",
                        lambda config, env, session=None: pull_module.EnvClient(env, S3Uri.parse("s3://dev"), b, None))
    return b


def test_tables_from_a_newer_snapshot_join_the_existing_copy(bucket, tmp_path):
    config = bundled_demo_config()
    first = bucket.publish("20261201T000000Z-aaaa", {"customers": [1, 2], "orders": [10]})
    pull_module.pull(config, dest=tmp_path, quiet=True)
    bucket.publish("20261202T000000Z-bbbb", {"customers": [1, 2, 3]}, carried={"orders": first["tables"]["orders"]})
    r = pull_module.pull(config, dest=tmp_path, tables=("customers",), quiet=True)
    assert r["tables_from"] == {"customers": "20261202T000000Z-bbbb", "orders": "20261201T000000Z-aaaa"}
    assert r["downloaded_files"] == 1 and r["reused_files"] == 1  # orders linked from the old copy
    assert pq.read_table(tmp_path / "current" / "customers").num_rows == 3
    assert pq.read_table(tmp_path / "current" / "orders").num_rows == 1  # before: the copy lost orders
    state = json.loads((tmp_path / "current" / ".pull.json").read_text())
    assert state["tables"]["orders"]["snapshot_id"] == "20261201T000000Z-aaaa"
