"""Version-pinned snapshots of prod tables "as of" a timestamp.

For each key under a table's prefix, the snapshot takes the newest version whose
LastModified <= as_of; a delete marker newer than that version means the object
did not exist at as_of. Reads pin VersionId and ETag, so a write to prod after the
snapshot cannot change what a run reads (a backfill reproduces that day).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field

from datarefresh.aws import s3_errors
from datarefresh.errors import InputError
from datarefresh.io.tables import TableFile, detect_format, with_partitions
from datarefresh.storage.uri import S3Uri


@dataclass(frozen=True)
class ObjectVersion:
    key: str
    version_id: str | None
    etag: str
    size: int
    last_modified: str


@dataclass
class Snapshot:
    as_of: str
    versioned: bool
    tables: dict[str, list[ObjectVersion]] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "as_of": self.as_of,
            "versioned": self.versioned,
            "tables": {t: [asdict(o) for o in objs] for t, objs in self.tables.items()},
        }


def take_snapshot(
    client, role: str, source_uri: str, table_paths: dict[str, str], as_of: dt.datetime
) -> Snapshot:
    src = S3Uri.parse(source_uri)
    with s3_errors(role, src.bucket, action="read the versioning status of"):
        versioned = client.get_bucket_versioning(Bucket=src.bucket).get("Status") == "Enabled"
    snap = Snapshot(as_of=as_of.isoformat(), versioned=versioned)
    for table, path in table_paths.items():
        prefix = src.key(path) + "/"
        objs = (
            _versions_as_of(client, role, src.bucket, prefix, as_of)
            if versioned
            else _current(client, role, src.bucket, prefix)
        )
        snap.tables[table] = [
            o for o in objs if detect_format(o.key.rsplit("/", 1)[-1]) and not _hidden(o.key[len(prefix) :])
        ]
        if not snap.tables[table]:
            raise InputError(f"no table files as of {as_of.isoformat()}", file=f"s3://{src.bucket}/{prefix}")
    return snap


def _hidden(rel: str) -> bool:
    return any(part.startswith((".", "_")) for part in rel.split("/"))


def _versions_as_of(client, role, bucket, prefix, as_of) -> list[ObjectVersion]:
    newest: dict[str, tuple[dt.datetime, dict | None]] = {}
    with s3_errors(role, bucket, prefix, action="list versions under"):
        for page in client.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
            entries = [(v, False) for v in page.get("Versions", [])] + [
                (d, True) for d in page.get("DeleteMarkers", [])
            ]
            for entry, is_marker in entries:
                when = entry["LastModified"]
                if when > as_of:
                    continue
                seen = newest.get(entry["Key"])
                if seen is None or when > seen[0]:
                    newest[entry["Key"]] = (when, None if is_marker else entry)
    out = []
    for key in sorted(newest):
        v = newest[key][1]
        if v is not None:
            out.append(
                ObjectVersion(key, v["VersionId"], v["ETag"], v["Size"], v["LastModified"].isoformat())
            )
    return out


def _current(client, role, bucket, prefix) -> list[ObjectVersion]:
    out = []
    with s3_errors(role, bucket, prefix, action="list"):
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for o in page.get("Contents", []):
                out.append(ObjectVersion(o["Key"], None, o["ETag"], o["Size"], o["LastModified"].isoformat()))
    return sorted(out, key=lambda o: o.key)


def table_files(
    client,
    role: str,
    bucket: str,
    objects: list[ObjectVersion],
    prefix: str | None = None,
    partition_schema=None,
) -> list[TableFile]:
    """Readers for a snapshot's objects, pinned to version and ETag. With the table's `prefix`,
    hive-style `key=value/` folders below it become partition columns (typed by
    `partition_schema` when given: a work unit sees only some partitions)."""
    files = []
    for o in objects:
        fmt, gz = detect_format(o.key.rsplit("/", 1)[-1])  # type: ignore[misc]

        def opener(o=o):
            args = {"Bucket": bucket, "Key": o.key, "IfMatch": o.etag}
            if o.version_id:
                args["VersionId"] = o.version_id
            with s3_errors(role, bucket, o.key, action="read"):
                return client.get_object(**args)["Body"]

        files.append(TableFile(f"s3://{bucket}/{o.key}", fmt, gz, opener=opener, size=o.size))
    if prefix is None:
        return files
    rels = [o.key[len(prefix) :] for o in objects]
    return with_partitions(files, rels, f"s3://{bucket}/{prefix}", partition_schema)
