"""What a reader of an environment sees, checked from outside the run (admin credentials)."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
import time

import pyarrow.parquet as pq

from datarefresh.storage.publish import POINTER

ENVS = ("dev", "staging")
SNAPSHOT_ID = re.compile(r"\d{8}T\d{6}Z-[0-9a-f]{12}")
RUN_TIME = re.compile(r"\d{8}T\d{6}\.\d+Z")  # Great Expectations names validation results by run time


def bucket(env: str) -> str:
    return f"datarefresh-{env}"


def keys(admin, name: str, prefix: str = "") -> list[str]:
    pages = admin.get_paginator("list_objects_v2").paginate(Bucket=name, Prefix=prefix)
    return sorted(o["Key"] for p in pages for o in p.get("Contents", []))


def pointer(admin, env: str) -> dict | None:
    try:
        return json.loads(admin.get_object(Bucket=bucket(env), Key=POINTER)["Body"].read())
    except admin.exceptions.NoSuchKey:
        return None


def assert_complete(admin, env: str) -> dict:
    """The pointer names a manifest, and every file the manifest names exists with its size and
    sha256: a reader resolving the environment gets a whole snapshot. Returns the manifest."""
    p = pointer(admin, env)
    assert p is not None, f"{env}: no pointer"
    manifest = json.loads(admin.get_object(Bucket=bucket(env), Key=p["manifest"])["Body"].read())
    assert manifest["snapshot_id"] == p["snapshot_id"], env
    assert p["tables"] == {t: v["rows"] for t, v in manifest["tables"].items()}, env
    for table, entry in manifest["tables"].items():
        assert entry["files"], (env, table)
        rows = 0
        for f in entry["files"]:
            body = admin.get_object(Bucket=bucket(env), Key=f["key"])["Body"].read()
            assert len(body) == f["size"] and hashlib.sha256(body).hexdigest() == f["sha256"], (env, f["key"])
            rows += pq.ParquetFile(io.BytesIO(body)).metadata.num_rows
        assert rows == entry["rows"], (env, table)
    return manifest


def assert_no_stray_files(admin, env: str) -> None:
    """Under the current snapshot's prefix there is exactly what its manifest names (no duplicate
    part, no orphan of an earlier attempt), every published snapshot is as its manifest says,
    and the only other files are those of runs that failed before writing a manifest (other
    tests' failures, documented in the README): no manifest names them."""
    p = pointer(admin, env)
    current = json.loads(admin.get_object(Bucket=bucket(env), Key=p["manifest"])["Body"].read()) if p else {}
    named_now = {f["key"] for t in current.get("tables", {}).values() for f in t["files"]}
    for sid in {k.split("/")[1] for k in keys(admin, bucket(env), "snapshots/")}:
        found = set(keys(admin, bucket(env), f"snapshots/{sid}/"))
        manifest_key = f"snapshots/{sid}/_manifest.json"
        if manifest_key not in found:
            assert not (p and sid == p["snapshot_id"]), f"{env}: the current snapshot has no manifest"
            assert not named_now & found, f"{env}: the current manifest names files of unpublished {sid}"
            continue
        manifest = json.loads(admin.get_object(Bucket=bucket(env), Key=manifest_key)["Body"].read())
        own = {
            f["key"]
            for t in manifest["tables"].values()
            for f in t["files"]
            if f["key"].startswith(f"snapshots/{sid}/")
        }
        assert found - {manifest_key} == own, f"{env}: snapshots/{sid}/ holds files no manifest names"


def assert_no_raw(admin, canaries: list[str]) -> int:
    """No canary value planted in prod appears in any object of the dev or staging bucket
    (parquet decoded, everything else as bytes). Returns the number of objects scanned."""
    needles = [c.lower() for c in canaries]
    n = 0
    for env in ENVS:
        for key in keys(admin, bucket(env)):
            body = admin.get_object(Bucket=bucket(env), Key=key)["Body"].read()
            text = body.decode("latin-1").lower()
            if key.endswith(".parquet"):
                text += json.dumps(pq.read_table(io.BytesIO(body)).to_pylist(), default=str).lower()
            hits = [c for c in needles if c in text]
            assert not hits, f"raw prod value in s3://{bucket(env)}/{key}"
            n += 1
    return n


def fresh_as_of() -> str:
    """A new as-of, later than every object written so far (S3 times have one-second resolution)."""
    time.sleep(1.05)
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def signature(method: str, path: str) -> tuple[str, str]:
    """A request with the run's snapshot id and times blanked: the same step of another run matches it."""
    return method, RUN_TIME.sub("<time>", SNAPSHOT_ID.sub("<id>", path))


def refused_refresh(suite, admin, prod_data, tmp_path, case: str, prepare) -> tuple[str, str, object]:
    """Copy prod, let `prepare(folder, config dict)` damage it, upload it as `raw/_faults-<case>`,
    and run a refresh that must fail: exit 1, the last line one `Error: ...`, no traceback, and
    every environment still on its complete published snapshot with no raw value anywhere.
    Returns (the error line, the whole output, the child) for the case's own checks."""
    import shutil
    from pathlib import Path

    import yaml

    import datarefresh.config
    from tests.faults.conftest import CANARIES, upload_tree

    data = tmp_path / "prod"
    shutil.copytree(prod_data, data)
    cfg = yaml.safe_load((Path(datarefresh.config.__file__).parent / "data" / "demo_config.yaml").read_text())
    cfg["source"]["uri"] = f"s3://datarefresh-prod/raw/_faults-{case}"
    prepare(data, cfg)
    upload_tree(admin, data, f"raw/_faults-{case}")
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg))
    before = {env: pointer(admin, env) for env in ENVS}
    child = suite.forks.run(
        ["refresh", "--config", tmp_path / "config.yaml", "--as-of", fresh_as_of()], suite.env
    )
    out = child.output
    assert child.code == 1, out[-3000:]
    err = out.strip().splitlines()[-1]
    assert err.startswith("Error: ") and "Traceback" not in out, out[-3000:]
    for env in ENVS:
        assert pointer(admin, env) == before[env]
        assert_complete(admin, env)
    assert_no_raw(admin, CANARIES)
    return err, out, child
