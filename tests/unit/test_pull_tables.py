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

    def publish(
        self, sid: str, tables: dict[str, list[int]], carried: dict | None = None, key: str | None = None
    ) -> dict:
        manifest = {"snapshot_id": sid, "as_of": sid, "tables": dict(carried or {})}
        if key:
            manifest["key_fingerprint"] = key
        for t, ids in tables.items():
            buf = io.BytesIO()
            pq.write_table(pa.table({"id": ids}), buf)
            key = f"snapshots/{sid}/{t}/part-00000-00000.parquet"
            self.objects[key] = buf.getvalue()
            manifest["tables"][t] = {
                "rows": len(ids),
                "as_of": sid,
                "files": [
                    {
                        "key": key,
                        "size": len(buf.getvalue()),
                        "sha256": hashlib.sha256(buf.getvalue()).hexdigest(),
                    }
                ],
            }
        self.objects[f"snapshots/{sid}/_manifest.json"] = json.dumps(manifest).encode()
        self.objects["current.json"] = json.dumps(
            {"snapshot_id": sid, "manifest": f"snapshots/{sid}/_manifest.json"}
        ).encode()
        return manifest


@pytest.fixture
def bucket(monkeypatch):
    b = _Bucket()
    monkeypatch.setattr(
        pull_module,
        "env_client",
        lambda config, env, session=None: pull_module.EnvClient(env, S3Uri.parse("s3://dev"), b, None),
    )
    return b


def test_tables_from_a_newer_snapshot_join_the_existing_copy(bucket, tmp_path):
    config = bundled_demo_config()
    first = bucket.publish("20261201T000000Z-aaaa", {"customers": [1, 2], "orders": [10]})
    pull_module.pull(config, dest=tmp_path, quiet=True)
    bucket.publish(
        "20261202T000000Z-bbbb", {"customers": [1, 2, 3]}, carried={"orders": first["tables"]["orders"]}
    )
    r = pull_module.pull(config, dest=tmp_path, tables=("customers",), quiet=True)
    assert r["tables_from"] == {"customers": "20261202T000000Z-bbbb", "orders": "20261201T000000Z-aaaa"}
    assert r["downloaded_files"] == 1 and r["reused_files"] == 1  # orders linked from the old copy
    assert pq.read_table(tmp_path / "current" / "customers").num_rows == 3
    assert pq.read_table(tmp_path / "current" / "orders").num_rows == 1  # before: the copy lost orders
    state = json.loads((tmp_path / "current" / ".pull.json").read_text())
    assert state["tables"]["orders"]["snapshot_id"] == "20261201T000000Z-aaaa"


def _copy(tmp_path) -> dict:
    return {
        p.relative_to(tmp_path).as_posix(): p.read_bytes()
        for p in (tmp_path / "current").resolve().rglob("*.parquet")
    }


def test_tables_are_not_pulled_into_a_copy_made_with_another_key(bucket, tmp_path):
    """After a key rotation every pseudonym changed: new customers next to the old orders would
    join on nothing (before: exit 0, 0 of the orders resolved)."""
    config = bundled_demo_config()
    bucket.publish("20261201T000000Z-aaaa", {"customers": [1, 2], "orders": [10]}, key="k1")
    pull_module.pull(config, dest=tmp_path, quiet=True)
    before = _copy(tmp_path)
    bucket.publish("20261202T000000Z-bbbb", {"customers": [7, 8], "orders": [70]}, key="k2")  # re-keyed
    with pytest.raises(
        pull_module.TerminalError,
        match=r"the local copy's orders come from a snapshot of dev "
        r"made with another \(or an unrecorded\) key than 20261202T000000Z-bbbb",
    ):
        pull_module.pull(config, dest=tmp_path, tables=("customers",), quiet=True)
    assert _copy(tmp_path) == before and not (tmp_path / pull_module.IN_PROGRESS).exists()
    r = pull_module.pull(config, dest=tmp_path, quiet=True)  # every table: fine
    assert r["tables_from"] == {"customers": "20261202T000000Z-bbbb", "orders": "20261202T000000Z-bbbb"}


def test_a_copy_pulled_before_keys_were_recorded_is_checked_against_its_manifest(bucket, tmp_path):
    config = bundled_demo_config()
    first = bucket.publish("20261201T000000Z-aaaa", {"customers": [1, 2], "orders": [10]}, key="k1")
    pull_module.pull(config, dest=tmp_path, quiet=True)
    state_file = tmp_path / "current" / ".pull.json"
    state = json.loads(state_file.read_text())
    for v in state["tables"].values():
        del v["key_fingerprint"]  # as an older pull wrote it
    state_file.write_text(json.dumps(state))
    bucket.publish(
        "20261202T000000Z-bbbb",
        {"customers": [1, 2, 3]},
        carried={"orders": first["tables"]["orders"]},
        key="k1",
    )
    r = pull_module.pull(config, dest=tmp_path, tables=("customers",), quiet=True)  # same key: joins
    assert r["tables_from"]["orders"] == "20261201T000000Z-aaaa"
    state = json.loads(state_file.read_text())
    assert state["tables"]["orders"]["key_fingerprint"] == "k1"  # recorded now that its manifest told
    del state["tables"]["orders"]["key_fingerprint"]
    state_file.write_text(json.dumps(state))
    bucket.publish("20261203T000000Z-cccc", {"customers": [5], "orders": [50]}, key="k2")
    with pytest.raises(pull_module.TerminalError, match=r"made with another \(or an unrecorded\) key"):
        pull_module.pull(config, dest=tmp_path, tables=("customers",), quiet=True)


def test_tables_of_one_environment_are_not_pulled_into_a_copy_of_another(bucket, tmp_path):
    config = bundled_demo_config()
    bucket.publish("20261201T000000Z-aaaa", {"customers": [1, 2], "orders": [10]})
    pull_module.pull(config, env="staging", dest=tmp_path, quiet=True)
    with pytest.raises(pull_module.TerminalError, match=r"is a copy of staging, not dev: --tables would mix"):
        pull_module.pull(config, env="dev", dest=tmp_path, tables=("customers",), quiet=True)


def test_tables_are_not_pulled_from_a_snapshot_that_recorded_no_key_into_a_copy_that_did(bucket, tmp_path):
    """An older snapshot (--snapshot / --as-of) whose manifest has no key fingerprint cannot be told
    to share the kept tables' key: refused, not mixed (it used to be accepted without a check)."""
    config = bundled_demo_config()
    bucket.publish("20261202T000000Z-bbbb", {"customers": [1, 2], "orders": [10]}, key="k2")
    pull_module.pull(config, dest=tmp_path, quiet=True)
    bucket.publish("20261203T000000Z-cccc", {"customers": [7, 8], "orders": [70]})  # no fingerprint
    with pytest.raises(pull_module.TerminalError, match=r"an unrecorded\) key than 20261203T000000Z-cccc"):
        pull_module.pull(config, dest=tmp_path, tables=("customers",), quiet=True)


def test_status_marks_an_environment_s3_keeps_failing_for_and_shows_the_others(monkeypatch):
    """A throttled or 5xx environment (StorageError after retries) used to stop status altogether."""
    from types import SimpleNamespace

    from datarefresh.errors import StorageError

    config = bundled_demo_config()

    def reader(config, env, session, caller):
        return SimpleNamespace(env=env, uri=SimpleNamespace(key=lambda *p: "/".join(p))), "as test"

    def read_json(ec, key):
        if ec.env == "staging":
            raise StorageError(
                "S3 kept failing for s3://datarefresh-staging/current.json (SlowDown) after retries"
            )
        return None

    monkeypatch.setattr(pull_module, "_caller", lambda session: "test")
    monkeypatch.setattr(pull_module, "_status_reader", reader)
    monkeypatch.setattr(pull_module, "_json", read_json)
    monkeypatch.setattr(pull_module, "_snapshot_ids", lambda ec, root: [])
    out = pull_module.status(config, ("dev", "staging"), session=object())
    assert out["staging"]["readable"] is False and "SlowDown" in out["staging"]["reason"]
    assert out["dev"]["readable"] is True
