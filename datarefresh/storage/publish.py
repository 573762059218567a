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
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
from botocore.exceptions import ClientError

from datarefresh.aws import s3_errors
from datarefresh.errors import PublishConflictError
from datarefresh.storage.uri import S3Uri

POINTER = "current.json"
SNAPSHOTS = "snapshots"
REPORTS = "reports"  # run reports and Data Docs, kept for failed runs too
KEY_FINGERPRINT = "key_fingerprint"  # manifest field: which key made the pseudonyms


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
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return Pointer(None, None)
            with s3_errors(self.role, self.uri.bucket, key, action="read"):
                raise
        return Pointer(json.loads(obj["Body"].read()), obj["ETag"])

    def read_bytes(self, key: str) -> bytes:
        with s3_errors(self.role, self.uri.bucket, key, action="read"):
            return self.client.get_object(Bucket=self.uri.bucket, Key=key)["Body"].read()

    def read_json(self, key: str) -> dict:
        with s3_errors(self.role, self.uri.bucket, key, action="read"):
            return json.loads(self.client.get_object(Bucket=self.uri.bucket, Key=key)["Body"].read())

    def upload_table(self, snapshot_id: str, table: str, folder: Path, unit: int = 0) -> list[dict]:
        """Upload a table's local parquet parts as `part-<unit>-<n>.parquet` under the run's prefix,
        in the same partition folders (`dt=.../`) as they were written."""
        files = []
        for part in sorted(folder.rglob("*.parquet")):
            rel = part.parent.relative_to(folder).as_posix()
            key = self.uri.key(SNAPSHOTS, snapshot_id, table, *([rel] if rel != "." else []),
                               f"part-{unit:05d}-{part.stem.split('-')[-1]}.parquet")
            digest = sha256_file(part)
            with s3_errors(self.role, self.uri.bucket, key, action="write"), open(part, "rb") as body:
                self.client.put_object(Bucket=self.uri.bucket, Key=key, Body=body, Metadata={"sha256": digest})
            files.append({"key": key, "size": part.stat().st_size, "sha256": digest,
                          "rows": pq.ParquetFile(part).metadata.num_rows})
        return files

    def write_manifest(self, snapshot_id: str, manifest: dict) -> str:
        key = self.uri.key(SNAPSHOTS, snapshot_id, "_manifest.json")
        with s3_errors(self.role, self.uri.bucket, key, action="write"):
            self.client.put_object(Bucket=self.uri.bucket, Key=key, Body=json.dumps(manifest, indent=2).encode(),
                                   ContentType="application/json")
        return key

    def move_pointer(self, expected: Pointer, new: dict) -> str:
        """Conditional write of the pointer; PublishConflictError if someone else moved it."""
        key = self.uri.key(POINTER)
        cond = {"IfMatch": expected.etag} if expected.etag else {"IfNoneMatch": "*"}
        try:
            out = self.client.put_object(Bucket=self.uri.bucket, Key=key, Body=json.dumps(new, indent=2).encode(),
                                         ContentType="application/json", **cond)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code in ("PreconditionFailed", "412", "ConditionalRequestConflict", "409"):
                raise PublishConflictError(
                    f"the pointer s3://{self.uri.bucket}/{key} moved while this run was publishing; "
                    "another run published first, nothing was changed") from None
            with s3_errors(self.role, self.uri.bucket, key, action="write"):
                raise
        return out["ETag"]

    def list_snapshots(self) -> list[str]:
        prefix = self.uri.key(SNAPSHOTS) + "/"
        ids = set()
        with s3_errors(self.role, self.uri.bucket, prefix, action="list"):
            for page in self.client.get_paginator("list_objects_v2").paginate(
                    Bucket=self.uri.bucket, Prefix=prefix, Delimiter="/"):
                for p in page.get("CommonPrefixes", []):
                    ids.add(p["Prefix"][len(prefix):].strip("/"))
        return sorted(ids)

    def delete_snapshot(self, snapshot_id: str, table: str | None = None, keep: frozenset[str] = frozenset()) -> None:
        """Delete a snapshot's files, or one table's, except the keys in `keep`."""
        prefix = self.uri.key(SNAPSHOTS, snapshot_id, *([table] if table else [])) + "/"
        with s3_errors(self.role, self.uri.bucket, prefix, action="delete"):
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.uri.bucket, Prefix=prefix):
                keys = [o["Key"] for o in page.get("Contents", []) if o["Key"] not in keep]
                for k in keys:  # one by one: DeleteObjects needs Content-MD5 handling that differs across servers
                    self.client.delete_object(Bucket=self.uri.bucket, Key=k)

    def retain(self, keep: int, current_id: str | None, keep_also: set[str] = frozenset()) -> list[str]:
        """Delete all but the newest `keep` snapshots; never the current one, nor those whose
        files the current manifest still names (`keep_also`)."""
        ids = self.list_snapshots()
        doomed = [s for s in ids[:-keep] if s != current_id and s not in keep_also] if len(ids) > keep else []
        for s in doomed:
            self.delete_snapshot(s)
        return doomed
