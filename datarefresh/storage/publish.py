"""Atomic publish to an environment bucket.

A run's files go under a fresh prefix `snapshots/<snapshot_id>/`, with a manifest
naming the snapshot, its tables, files, sizes, sha256 checksums and row counts, and the
fingerprint of the key its pseudonyms come from (a keyed digest, never the key): tables
made under different keys do not join, so a run never carries over another key's tables.
Readers resolve the environment through one small pointer object (`current.json`).
The pointer moves with an S3 conditional write: If-Match on the ETag it had when
the run started (If-None-Match: * for the first publish), so of two concurrent
publishes one wins and the other fails cleanly; a crash before the pointer moves
leaves readers on the previous complete snapshot.

A run that is blocked (a failed gate, the leak scan, Great Expectations, a terminal error
while publishing) leaves no data file behind (`discard_run`), in a versioned bucket not even
a noncurrent version: its files sat under a prefix the environment's readers can read. Its
report stays (under `reports/`, counts and reasons only). A published snapshot (the current
one, one whose files the current manifest still names, or any with a manifest, kept for
rollback) is never touched, so a blocked rerun of an earlier date loses nothing.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
from botocore.exceptions import ClientError

from datarefresh.aws import s3_error, s3_error_kind, s3_errors, subfolders
from datarefresh.errors import PublishConflictError, TerminalError
from datarefresh.iam import role_name
from datarefresh.storage.uri import S3Uri

POINTER = "current.json"
SNAPSHOTS = "snapshots"
REPORTS = "reports"  # run reports and Data Docs, kept for failed runs too
KEY_FINGERPRINT = "key_fingerprint"  # manifest field: which key made the pseudonyms
MANIFEST = "_manifest.json"
# A snapshot prefix without a manifest is a run still writing (a backfill of an older date, next to
# the nightly run) or one that failed; retention removes it only after nothing was written to it
# for this long.
UNFINISHED_GRACE = dt.timedelta(days=2)


@dataclass
class Pointer:
    data: dict | None
    etag: str | None


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class Publisher:
    def __init__(self, client, role: str, env_uri: str):
        self.client, self.role = client, role
        self.uri = S3Uri.parse(env_uri)

    def read_pointer(self) -> Pointer:
        key = self.uri.key(POINTER)
        try:
            obj = self.client.get_object(Bucket=self.uri.bucket, Key=key)
        except ClientError as exc:
            if s3_error_kind(exc) == "absent":
                return Pointer(None, None)  # nothing published yet
            raise self._error(exc, key, "read") from None
        return Pointer(json.loads(obj["Body"].read()), obj["ETag"])

    def read_bytes(self, key: str) -> bytes:
        with s3_errors(self.role, self.uri.bucket, key, action="read"):
            return self.client.get_object(Bucket=self.uri.bucket, Key=key)["Body"].read()

    def read_json(self, key: str) -> dict:
        with s3_errors(self.role, self.uri.bucket, key, action="read"):
            return json.loads(self.client.get_object(Bucket=self.uri.bucket, Key=key)["Body"].read())

    def current_manifest(self, pointer: dict) -> dict:
        """The manifest a pointer's data names; {} when nothing is published."""
        return self.read_json(pointer["manifest"]) if pointer.get("manifest") else {}

    def upload_table(
        self,
        snapshot_id: str,
        table: str,
        folder: Path,
        name: Callable[[int], str] = lambda n: f"part-{n:05d}.parquet",
    ) -> list[dict]:
        """Upload a table's local parquet parts under the run's prefix, in the same partition folders
        (`dt=.../`) as they were written; `name(n)` names the n-th local part (a run names a unit's
        parts by a keyed permutation, `refresh.unit.part_name`, so their listing order says nothing
        of prod's)."""
        files = []
        for n, part in enumerate(sorted(folder.rglob("*.parquet"))):
            rel = part.parent.relative_to(folder).as_posix()
            key = self.uri.key(SNAPSHOTS, snapshot_id, table, *([rel] if rel != "." else []), name(n))
            digest = sha256_file(part)
            with s3_errors(self.role, self.uri.bucket, key, action="write"), open(part, "rb") as body:
                self.client.put_object(
                    Bucket=self.uri.bucket, Key=key, Body=body, Metadata={"sha256": digest}
                )
            files.append(
                {
                    "key": key,
                    "size": part.stat().st_size,
                    "sha256": digest,
                    "rows": pq.ParquetFile(part).metadata.num_rows,
                }
            )
        return files

    def write_manifest(self, snapshot_id: str, manifest: dict) -> str:
        """Refuses (TerminalError) when a file the manifest names under this run's prefix is gone: the
        run was blocked and discarded before (an Airflow publish task cleared and rerun), so only a
        whole new run can publish it."""
        own = self.uri.key(SNAPSHOTS, snapshot_id) + "/"
        named = {
            f["key"]
            for t in manifest.get("tables", {}).values()
            for f in t.get("files", [])
            if f["key"].startswith(own)
        }
        if named:
            missing = named - set(self._keys(own))
            if missing:
                raise TerminalError(
                    f"{len(missing)} file(s) of run {snapshot_id} are no longer in "
                    f"s3://{self.uri.bucket}/{own} (the run was blocked and its files removed); "
                    "start a new run instead of repeating its publish step"
                )
        key = self.uri.key(SNAPSHOTS, snapshot_id, MANIFEST)
        with s3_errors(self.role, self.uri.bucket, key, action="write"):
            self.client.put_object(
                Bucket=self.uri.bucket,
                Key=key,
                Body=json.dumps(manifest, indent=2).encode(),
                ContentType="application/json",
            )
        return key

    def move_pointer(self, expected: Pointer, new: dict) -> str:
        """Conditional write of the pointer; PublishConflictError if someone else moved it."""
        key = self.uri.key(POINTER)
        cond = {"IfMatch": expected.etag} if expected.etag else {"IfNoneMatch": "*"}
        try:
            out = self.client.put_object(
                Bucket=self.uri.bucket,
                Key=key,
                Body=json.dumps(new, indent=2).encode(),
                ContentType="application/json",
                **cond,
            )
        except ClientError as exc:
            if s3_error_kind(exc) == "conflict":
                raise PublishConflictError(
                    f"the pointer s3://{self.uri.bucket}/{key} moved while this run was publishing; "
                    "another run published first, nothing was changed"
                ) from None
            raise self._error(exc, key, "write") from None
        return out["ETag"]

    def _error(self, exc: Exception, key: str, action: str) -> Exception:
        return s3_error(
            exc, who=f"role {role_name(self.role)}", where=f"s3://{self.uri.bucket}/{key}", action=action
        )

    def list_snapshots(self) -> list[str]:
        prefix = self.uri.key(SNAPSHOTS) + "/"
        with s3_errors(self.role, self.uri.bucket, prefix, action="list"):
            return subfolders(self.client, self.uri.bucket, prefix)

    def delete_snapshot(
        self, snapshot_id: str, table: str | None = None, keep: frozenset[str] = frozenset()
    ) -> None:
        """Delete a snapshot's files, or one table's, except the keys in `keep`; in a versioned
        bucket every version of them (a noncurrent version is still readable with GetObjectVersion)."""
        prefix = self.uri.key(SNAPSHOTS, snapshot_id, *([table] if table else [])) + "/"
        with s3_errors(self.role, self.uri.bucket, prefix, action="delete"):
            for page in self.client.get_paginator("list_object_versions").paginate(
                Bucket=self.uri.bucket, Prefix=prefix
            ):
                for v in page.get("Versions", []) + page.get("DeleteMarkers", []):
                    if v["Key"] in keep:
                        continue
                    # one by one: DeleteObjects needs Content-MD5 handling that differs across servers
                    self.client.delete_object(
                        Bucket=self.uri.bucket,
                        Key=v["Key"],
                        **({"VersionId": v["VersionId"]} if v.get("VersionId") else {}),
                    )

    def _keys(self, prefix: str) -> list[str]:
        return list(self._objects(prefix))

    def published_ids(self) -> set[str]:
        """Snapshot ids readers may still resolve: the pointer's and those whose files its manifest
        names (carried-over tables live in older snapshots' prefixes)."""
        pointer = self.read_pointer().data or {}
        ids = {pointer["snapshot_id"]} if pointer.get("snapshot_id") else set()
        if pointer.get("manifest"):
            marker = f"/{SNAPSHOTS}/"
            ids |= {
                ("/" + f["key"]).split(marker, 1)[1].split("/", 1)[0]
                for t in self.read_json(pointer["manifest"]).get("tables", {}).values()
                for f in t.get("files", [])
                if marker in "/" + f["key"]
            }
        return ids

    def discard_run(self, snapshot_id: str) -> bool:
        """Remove the data files of a run that was not published, every version of them, so the
        environment's readers can neither list nor read them. A snapshot that was published (the
        current one, one the current manifest names, or one with a manifest: a rerun of an earlier
        date writes to the same keys) is left as it is. True when something was removed."""
        prefix = self.uri.key(SNAPSHOTS, snapshot_id) + "/"
        if snapshot_id in self.published_ids() or prefix + MANIFEST in self._keys(prefix):
            return False
        self.delete_snapshot(snapshot_id)
        return True

    def retain(
        self,
        keep: int,
        current_id: str | None,
        keep_also: set[str] = frozenset(),
        now: dt.datetime | None = None,
    ) -> list[str]:
        """Delete all but the newest `keep` published snapshots (those with a manifest); never the
        current one, nor those whose files the current manifest still names (`keep_also`). A prefix
        without a manifest may belong to a run in progress, whose id can sort first (a backfill):
        it is removed only once nothing was written to it for UNFINISHED_GRACE."""
        now = now or dt.datetime.now(dt.timezone.utc)
        published, abandoned = [], []
        for s in self.list_snapshots():
            objects = self._objects(self.uri.key(SNAPSHOTS, s) + "/")
            if any(k.endswith("/" + MANIFEST) for k in objects):
                published.append(s)
            elif objects and now - max(objects.values()) > UNFINISHED_GRACE:
                abandoned.append(s)
        old = published[:-keep] if len(published) > keep else []
        doomed = [s for s in sorted(old + abandoned) if s != current_id and s not in keep_also]
        for s in doomed:
            self.delete_snapshot(s)
        return doomed

    def _objects(self, prefix: str) -> dict[str, dt.datetime]:
        """Key -> LastModified of the current objects under a prefix."""
        with s3_errors(self.role, self.uri.bucket, prefix, action="list"):
            return {
                o["Key"]: o["LastModified"]
                for page in self.client.get_paginator("list_objects_v2").paginate(
                    Bucket=self.uri.bucket, Prefix=prefix
                )
                for o in page.get("Contents", [])
            }


def discard_everywhere(config, aws, plan) -> None:
    """Remove a run's data files from every environment of its plan (a RunPlan, or its dict form from
    Airflow's XCom); best effort: the error that stopped the run is the one to report."""
    typed = not isinstance(plan, dict)
    envs, snapshot_id = (plan.envs, plan.snapshot_id) if typed else (plan["envs"], plan["snapshot_id"])
    for env in envs:
        e = config.environments[env]
        try:
            Publisher(aws.s3(e.writer_role), e.writer_role, e.bucket).discard_run(snapshot_id)
        except Exception:  # noqa: BLE001
            pass


def discards_blocked_run(step):
    """For a step taking `(config, aws, plan, ...)` (publish_run; Airflow's publish task): a terminal
    error while validating or publishing (a gate or suite that raised, access denied) removes the run's
    data files from every environment before it propagates. Transient errors leave them, so a retry
    can still publish."""

    @functools.wraps(step)
    def run(config, aws, plan, *args, **kwargs):
        try:
            return step(config, aws, plan, *args, **kwargs)
        except TerminalError:
            discard_everywhere(config, aws, plan)
            raise

    return run
