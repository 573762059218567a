"""`datarefresh refresh`: snapshot prod, sanitize, sample dev, validate, publish.

Prod is read only through the prod-reader role and each environment is written
only through its writer role. Raw rows exist only in memory: the only bytes written
outside prod are sanitized parquet parts (in a local temporary folder, then in the
environment bucket under a fresh snapshot prefix).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
import tempfile
import time
from pathlib import Path

from datarefresh.aws import Aws
from datarefresh.config import Config
from datarefresh.errors import ConfigError, PublishConflictError
from datarefresh.iam import role_name
from datarefresh.pipeline import Progress, TableSource, make_outputs, plan_tables, run_tables
from datarefresh.secret import resolve_keyring
from datarefresh.storage.publish import Publisher, sha256_file, snapshot_id_for
from datarefresh.storage.snapshot import table_files, take_snapshot
from datarefresh.storage.uri import S3Uri
from datarefresh.validate.checks import check_outputs


def parse_as_of(value: str | None) -> dt.datetime:
    if not value:
        return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(f"--as-of must be an ISO timestamp like 2026-11-30T00:00:00Z, got {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


def refresh(config: Config, aws: Aws, *, envs: tuple[str, ...] = ("dev", "staging"),
            tables: tuple[str, ...] | None = None, as_of: dt.datetime | None = None,
            allow_backwards: bool = False, allow_demo_key: bool = False,
            progress: Progress | None = None) -> dict:
    started = time.perf_counter()
    say = progress or (lambda _m: None)
    if config.source is None or not config.source.role:
        raise ConfigError("refresh needs source.uri and source.role", key="source")
    for env in envs:
        if env not in config.environments:
            raise ConfigError(f"environment {env!r} is not configured", key=f"environments.{env}")
        if not config.environments[env].writer_role:
            raise ConfigError("a writer role is needed to publish", key=f"environments.{env}.writer_role")
    unknown = set(tables or ()) - set(config.tables)
    if unknown:
        raise ConfigError(f"unknown table(s): {', '.join(sorted(unknown))}", key="tables")
    chosen = {t: c for t, c in config.tables.items() if not tables or t in tables}
    as_of = as_of or parse_as_of(None)
    keyring = resolve_keyring(config.secret, allow_demo_key=allow_demo_key)

    prod_role = config.source.role
    prod = aws.s3(prod_role)
    say(f"snapshot of {config.source.uri} as of {as_of.isoformat()} (role {role_name(prod_role)})")
    snap = take_snapshot(prod, prod_role, config.source.uri, {t: c.path or t for t, c in chosen.items()}, as_of)
    bucket = S3Uri.parse(config.source.uri).bucket
    sources = {t: TableSource(t, table_files(prod, prod_role, bucket, snap.tables[t]), chosen[t].encoding)
               for t in chosen}
    sub = config.model_copy(update={"tables": chosen})
    policies = plan_tables(sources, sub, progress=say)

    report: dict = {"as_of": as_of.isoformat(), "versioned_source": snap.versioned,
                    "source_objects": {t: len(v) for t, v in snap.tables.items()}, "environments": {}}
    if not snap.versioned:
        report["warning"] = "the prod bucket has no versioning: read the current objects (pinned by ETag)"
    work = Path(tempfile.mkdtemp(prefix="datarefresh-"))
    try:
        outputs = make_outputs(work, envs, keyring, policies, sub)
        report["tables"] = run_tables(sources, policies, keyring, outputs, sub, say)
        columns = {t: [c for c, p in policies[t].columns.items() if p.action != "drop"
                       and c in _output_columns(work / envs[0] / t)] for t in policies}
        for o in outputs:
            report["environments"][o.env] = _validate_and_publish(
                config, aws, o.env, o.folder, policies, report, columns, as_of, allow_backwards, say)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report["seconds"] = round(time.perf_counter() - started, 3)
    return report


def _output_columns(folder: Path) -> list[str]:
    import pyarrow.parquet as pq

    return pq.read_schema(sorted(folder.glob("*.parquet"))[0]).names


def _validate_and_publish(config, aws, env, folder, policies, report, columns, as_of, allow_backwards, say) -> dict:
    checks = check_outputs(env, folder, policies, report["tables"], columns)
    failed = [c for c in checks if not c.ok]
    result: dict = {"validation": {"passed": not failed, "checks": [c.to_dict() for c in checks]}}
    if failed:
        result["published"] = False
        result["reason"] = "; ".join(f"{c.table}: {c.check} failed ({c.detail})" for c in failed)
        say(f"{env}: NOT published: {result['reason']}")
        return result
    env_cfg = config.environments[env]
    role = env_cfg.writer_role
    pub = Publisher(aws.s3(role), role, env_cfg.bucket)
    pointer = pub.read_pointer()  # its ETag is the condition for moving it at the end
    tables_out = {}
    digest = hashlib.sha256()
    for t in sorted(report["tables"]):
        rows = report["tables"][t]["rows_out"][env]
        tables_out[t] = {"rows": rows, "files": [], "local": folder / t}
        for part in sorted((folder / t).glob("*.parquet")):
            digest.update(f"{t}/{part.name}:{sha256_file(part)}".encode())
    # Same prod snapshot + same key + same config => same bytes => same id: reruns are idempotent.
    snapshot_id = snapshot_id_for(as_of, digest.hexdigest()[:12])
    current = pointer.data or {}
    if current.get("snapshot_id") == snapshot_id:
        say(f"{env}: snapshot {snapshot_id} is already published")
        return result | {"published": True, "snapshot_id": snapshot_id, "unchanged": True,
                         "tables": {t: v["rows"] for t, v in tables_out.items()}}
    if current.get("as_of") and current["as_of"] > as_of.isoformat() and not allow_backwards:
        result.update(published=False, reason=f"the published snapshot is newer ({current['as_of']}); "
                                              "pass --allow-backwards to move the pointer back")
        say(f"{env}: not published: {result['reason']}")
        return result
    for t, v in tables_out.items():
        v["files"] = pub.upload_table(snapshot_id, t, v.pop("local"))
    manifest = {"snapshot_id": snapshot_id, "as_of": as_of.isoformat(), "environment": env,
                "created_at": dt.datetime.now(dt.timezone.utc).isoformat(), "tables": tables_out,
                "validation": result["validation"]}
    manifest_key = pub.write_manifest(snapshot_id, manifest)
    new_pointer = {"snapshot_id": snapshot_id, "as_of": as_of.isoformat(), "manifest": manifest_key,
                   "published_at": manifest["created_at"], "tables": {t: v["rows"] for t, v in tables_out.items()}}
    try:
        pub.move_pointer(pointer, new_pointer)
    except PublishConflictError:
        if (pub.read_pointer().data or {}).get("snapshot_id") == snapshot_id:
            # a concurrent run published these very bytes: the outcome is the same
            return result | {"published": True, "snapshot_id": snapshot_id, "unchanged": True,
                             "tables": new_pointer["tables"]}
        pub.delete_snapshot(snapshot_id)  # leave nothing of the losing run behind
        raise
    deleted = pub.retain(env_cfg.keep_snapshots, snapshot_id)
    say(f"{env}: published {snapshot_id} to {env_cfg.bucket} (role {role_name(role)})")
    return result | {"published": True, "snapshot_id": snapshot_id, "manifest": manifest_key,
                     "tables": new_pointer["tables"], "deleted_snapshots": deleted}
