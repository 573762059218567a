"""A refresh as three plain steps, run in one process by `datarefresh refresh` or as
Airflow tasks by the DAG (one `process_unit` per table partition, mapped):

1. `plan_run`: snapshot prod as of a timestamp (object versions, no data), settle
   the policies, derive a deterministic snapshot id and cut the work into units.
2. `process_unit`: read one unit of one table through the prod-reader role, anonymize
   it once, write every row to staging and the sampled rows to dev, under the run's
   snapshot prefix, through each environment's writer role. Children run after their
   parents and test their foreign keys against the parents' dev key sets.
3. `publish_run`: validate, write the manifest, move each environment's pointer.

Everything passed between steps is metadata (object versions, file keys, counts,
policies): never a raw value. The snapshot id is a function of the prod versions,
the policies, the sampling and a fingerprint of the key, so a rerun of the same
date writes the same bytes to the same keys and leaves the pointer where it is.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import shutil
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from datarefresh.aws import Aws, s3_errors
from datarefresh.config import Config, SamplingConfig, TableConfig
from datarefresh.errors import ConfigError, PublishConflictError
from datarefresh.iam import role_name
from datarefresh.pipeline import Output, Progress, TableSource, _sanitize_table, plan_tables
from datarefresh.graph import levels as table_levels
from datarefresh.graph import processing_order
from datarefresh.sample import DevSampler, key_anonymizer
from datarefresh.secret import resolve_keyring
from datarefresh.storage.publish import SNAPSHOTS, Publisher
from datarefresh.storage.snapshot import ObjectVersion, table_files, take_snapshot
from datarefresh.storage.uri import S3Uri
from datarefresh.validate.checks import check_env, expected_columns

UNIT_BYTES = 512 << 20  # a work unit is at most this much compressed input (or one bigger object)


def parse_as_of(value: str | None) -> dt.datetime:
    """An ISO timestamp (naive means UTC); now when empty."""
    if not value:
        return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(f"as-of must be an ISO timestamp like 2026-11-30T00:00:00Z, got {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


def _say(progress: Progress | None):
    return progress or (lambda _m: None)


def dev_sampling(config: Config, fraction: float | None = None) -> SamplingConfig:
    base = config.environments["dev"].sampling if "dev" in config.environments else SamplingConfig(
        mode="sample", fraction=0.1)
    if fraction is not None:
        return SamplingConfig(mode="sample", fraction=fraction, max_rows=base.max_rows)
    return base


def plan_run(config: Config, aws: Aws, *, envs: tuple[str, ...] = ("dev", "staging"),
             tables: tuple[str, ...] | None = None, as_of: dt.datetime, allow_backwards: bool = False,
             dev_fraction: float | None = None, allow_demo_key: bool = False,
             progress: Progress | None = None) -> dict:
    say = _say(progress)
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
    keyring = resolve_keyring(config.secret, allow_demo_key=allow_demo_key)
    chosen = {t: c for t, c in config.tables.items() if not tables or t in tables}
    role = config.source.role
    prod = aws.s3(role)
    say(f"snapshot of {config.source.uri} as of {as_of.isoformat()} (role {role_name(role)})")
    snap = take_snapshot(prod, role, config.source.uri, {t: c.path or t for t, c in chosen.items()}, as_of)
    bucket = S3Uri.parse(config.source.uri).bucket
    sources = {t: TableSource(t, table_files(prod, role, bucket, snap.tables[t]), chosen[t].encoding) for t in chosen}
    policies = plan_tables(sources, config.model_copy(update={"tables": chosen}), progress=say)
    sampling = dev_sampling(config, dev_fraction)
    fingerprint = keyring.subkey("fingerprint")[:8].hex()  # identifies the key without revealing it
    basis = json.dumps({"snapshot": snap.to_dict()["tables"], "policies": {t: p.model_dump() for t, p in policies.items()},
                        "sampling": sampling.model_dump(), "key": fingerprint, "envs": sorted(envs)},
                       sort_keys=True, default=str)
    snapshot_id = f"{as_of.astimezone(dt.timezone.utc).strftime('%Y%m%dT%H%M%SZ')}-" \
                  f"{hashlib.sha256(basis.encode()).hexdigest()[:12]}"
    order = processing_order(policies)
    level = table_levels(policies)
    units = []
    for t in order:
        group: list[dict] = []
        size = 0
        for o in snap.tables[t]:
            if group and size + o.size > UNIT_BYTES:
                units.append({"table": t, "index": len([u for u in units if u["table"] == t]), "objects": group})
                group, size = [], 0
            group.append(o.__dict__)
            size += o.size
        units.append({"table": t, "index": len([u for u in units if u["table"] == t]), "objects": group})
    say(f"run {snapshot_id}: {len(units)} units in {max(level.values()) + 1} levels")
    return {"snapshot_id": snapshot_id, "as_of": as_of.isoformat(), "envs": list(envs),
            "versioned_source": snap.versioned, "allow_backwards": allow_backwards,
            "allow_demo_key": allow_demo_key, "sampling": sampling.model_dump(),
            "policies": {t: p.model_dump(mode="json") for t, p in policies.items()},
            "source_columns": {t: sources[t].first_schema().names for t in policies},
            "levels": level, "units": units}


def _policies(plan: dict) -> dict[str, TableConfig]:
    return {t: TableConfig.model_validate(p) for t, p in plan["policies"].items()}


def _part_prefix(env_uri: str, snapshot_id: str, table: str) -> tuple[str, str]:
    u = S3Uri.parse(env_uri)
    return u.bucket, u.key(SNAPSHOTS, snapshot_id, table) + "/"


def load_dev_keys(config: Config, aws: Aws, snapshot_id: str, table: str, column: str) -> pa.Array | None:
    """A parent's sampled key set: the key column of its dev parts under this run's prefix."""
    env = config.environments["dev"]
    role = env.writer_role
    s3 = aws.s3(role)
    bucket, prefix = _part_prefix(env.bucket, snapshot_id, table)
    chunks = []
    with s3_errors(role, bucket, prefix, action="read"):
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for o in page.get("Contents", []):
                if o["Key"].endswith(".parquet"):
                    body = s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()
                    chunks.append(pq.read_table(io.BytesIO(body), columns=[column]).column(column).combine_chunks())
    return pa.concat_arrays(chunks) if chunks else None


def process_unit(config: Config, aws: Aws, plan: dict, table: str, index: int,
                 progress: Progress | None = None) -> dict:
    say = _say(progress)
    unit = next(u for u in plan["units"] if u["table"] == table and u["index"] == index)
    keyring = resolve_keyring(config.secret, allow_demo_key=plan["allow_demo_key"])
    policies = _policies(plan)
    role = config.source.role  # type: ignore[union-attr]
    prod = aws.s3(role)
    bucket = S3Uri.parse(config.source.uri).bucket  # type: ignore[union-attr]
    objects = [ObjectVersion(**o) for o in unit["objects"]]
    source = TableSource(table, table_files(prod, role, bucket, objects), config.tables[table].encoding)
    work = Path(tempfile.mkdtemp(prefix="datarefresh-unit-"))
    try:
        outputs = []
        for env in plan["envs"]:
            sampler = None
            if env == "dev":
                sampler = DevSampler(keyring, policies, SamplingConfig.model_validate(plan["sampling"]),
                                     load_parent_keys=lambda t, c: load_dev_keys(config, aws, plan["snapshot_id"], t, c),
                                     anonymize_keys=key_anonymizer(keyring, policies))
            outputs.append(Output(env, work / env, sampler))
        rep = _sanitize_table(table, source, policies[table], keyring, outputs,
                              config.unknown_columns_for(table), say)
        result = {"table": table, "index": index, "rows_in": rep["rows_in"], "seconds": rep["seconds"],
                  "text_entities": rep["text_entities"], "envs": {}}
        pk = policies[table].primary_key
        for o in outputs:
            env_cfg = config.environments[o.env]
            s3 = aws.s3(env_cfg.writer_role)
            out_bucket, prefix = _part_prefix(env_cfg.bucket, plan["snapshot_id"], table)
            files, nulls, columns = [], 0, None
            for part in sorted((o.folder / table).glob("*.parquet")):
                meta = pq.ParquetFile(part).metadata
                columns = meta.schema.to_arrow_schema().names
                if pk and pk in columns:
                    nulls += pq.read_table(part, columns=[pk]).column(pk).null_count
                key = f"{prefix}part-{index:05d}-{part.stem.split('-')[-1]}.parquet"
                digest = _sha256(part)
                with s3_errors(env_cfg.writer_role, out_bucket, key, action="write"), open(part, "rb") as body:
                    s3.put_object(Bucket=out_bucket, Key=key, Body=body, Metadata={"sha256": digest})
                files.append({"key": key, "size": part.stat().st_size, "sha256": digest, "rows": meta.num_rows})
            result["envs"][o.env] = {"rows": rep["rows_out"][o.env], "files": files, "columns": columns or [],
                                     "pk_nulls": nulls}
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _sha256(path: Path) -> str:
    from datarefresh.storage.publish import sha256_file

    return sha256_file(path)


def publish_run(config: Config, aws: Aws, plan: dict, results: list[dict], progress: Progress | None = None) -> dict:
    say = _say(progress)
    policies = _policies(plan)
    as_of = plan["as_of"]
    snapshot_id = plan["snapshot_id"]
    tables: dict[str, dict] = {}
    for r in sorted(results, key=lambda r: (r["table"], r["index"])):
        t = tables.setdefault(r["table"], {"rows_in": 0, "seconds": 0.0, "text_entities": {}, "envs": {}})
        t["rows_in"] += r["rows_in"]
        t["seconds"] += r["seconds"]["total"]
        for k, v in r["text_entities"].items():
            t["text_entities"][k] = t["text_entities"].get(k, 0) + v
        for env, e in r["envs"].items():
            agg = t["envs"].setdefault(env, {"rows": 0, "files": [], "columns": e["columns"], "pk_nulls": 0})
            agg["rows"] += e["rows"]
            agg["files"] += e["files"]
            agg["pk_nulls"] += e["pk_nulls"]
    missing = set(policies) - set(tables)
    if missing:
        raise ConfigError(f"no results for table(s) {', '.join(sorted(missing))}: a unit did not run")
    report: dict = {"snapshot_id": snapshot_id, "as_of": as_of, "versioned_source": plan["versioned_source"],
                    "tables": {t: {"rows_in": v["rows_in"], "rows_out": {e: x["rows"] for e, x in v["envs"].items()},
                                   "seconds": round(v["seconds"], 3), "text_entities": v["text_entities"],
                                   "columns": {c: {"action": p.action, "entity": p.entity}
                                               for c, p in policies[t].columns.items()}}
                               for t, v in tables.items()},
                    "environments": {}}
    if not plan["versioned_source"]:
        report["warning"] = "the prod bucket has no versioning: read the current objects (pinned by ETag)"
    for env in plan["envs"]:
        meta = {t: {"rows_in": v["rows_in"], "rows": v["envs"][env]["rows"], "columns": v["envs"][env]["columns"],
                    "expected_columns": expected_columns(policies[t], plan["source_columns"][t]),
                    "pk_nulls": v["envs"][env]["pk_nulls"]} for t, v in tables.items()}
        loader = (lambda t, c: load_dev_keys(config, aws, snapshot_id, t, c) or pa.array([])) if env == "dev" else None
        checks = check_env(env, meta, policies, loader)  # type: ignore[arg-type]
        report["environments"][env] = _publish_env(config, aws, env, plan, tables, checks, say)
    return report


def _publish_env(config, aws, env, plan, tables, checks, say) -> dict:
    failed = [c for c in checks if not c.ok]
    result: dict = {"validation": {"passed": not failed, "checks": [c.to_dict() for c in checks]},
                    "snapshot_id": plan["snapshot_id"],
                    "tables": {t: v["envs"][env]["rows"] for t, v in tables.items()}}
    env_cfg = config.environments[env]
    role = env_cfg.writer_role
    pub = Publisher(aws.s3(role), role, env_cfg.bucket)
    pointer = pub.read_pointer()
    current = pointer.data or {}
    if failed:
        result["published"] = False
        result["reason"] = "; ".join(f"{c.table}: {c.check} failed ({c.detail})" for c in failed)
        if current.get("snapshot_id") != plan["snapshot_id"]:
            pub.delete_snapshot(plan["snapshot_id"])  # nothing of a failed run stays behind
        say(f"{env}: NOT published: {result['reason']}")
        return result
    if current.get("snapshot_id") == plan["snapshot_id"]:
        say(f"{env}: snapshot {plan['snapshot_id']} is already published")
        return result | {"published": True, "unchanged": True}
    if current.get("as_of") and current["as_of"] > plan["as_of"] and not plan["allow_backwards"]:
        result.update(published=False, reason=f"the published snapshot is newer ({current['as_of']}); "
                                              "allow backwards to move the pointer back")
        pub.delete_snapshot(plan["snapshot_id"])
        say(f"{env}: not published: {result['reason']}")
        return result
    created = dt.datetime.now(dt.timezone.utc).isoformat()
    manifest = {"snapshot_id": plan["snapshot_id"], "as_of": plan["as_of"], "environment": env,
                "created_at": created, "validation": result["validation"],
                "tables": {t: {"rows": v["envs"][env]["rows"], "files": v["envs"][env]["files"]}
                           for t, v in tables.items()}}
    manifest_key = pub.write_manifest(plan["snapshot_id"], manifest)
    new_pointer = {"snapshot_id": plan["snapshot_id"], "as_of": plan["as_of"], "manifest": manifest_key,
                   "published_at": created, "tables": result["tables"]}
    try:
        pub.move_pointer(pointer, new_pointer)
    except PublishConflictError:
        if (pub.read_pointer().data or {}).get("snapshot_id") == plan["snapshot_id"]:
            return result | {"published": True, "unchanged": True}  # a concurrent run published the same bytes
        pub.delete_snapshot(plan["snapshot_id"])  # leave nothing of the losing run behind
        raise
    deleted = pub.retain(env_cfg.keep_snapshots, plan["snapshot_id"])
    say(f"{env}: published {plan['snapshot_id']} to {env_cfg.bucket} (role {role_name(role)})")
    return result | {"published": True, "manifest": manifest_key, "deleted_snapshots": deleted}


def run_levels(plan: dict) -> list[list[dict]]:
    """Units grouped by level: every unit of a level may run in parallel."""
    depth = max(plan["levels"].values()) + 1
    return [[u for u in plan["units"] if plan["levels"][u["table"]] == lv] for lv in range(depth)]


def refresh(config: Config, aws: Aws, *, envs: tuple[str, ...] = ("dev", "staging"),
            tables: tuple[str, ...] | None = None, as_of: dt.datetime | None = None,
            allow_backwards: bool = False, allow_demo_key: bool = False, dev_fraction: float | None = None,
            progress: Progress | None = None) -> dict:
    """The whole pipeline in this process: the same steps the Airflow DAG runs as tasks."""
    started = time.perf_counter()
    as_of = as_of or parse_as_of(None)
    plan = plan_run(config, aws, envs=envs, tables=tables, as_of=as_of, allow_backwards=allow_backwards,
                    dev_fraction=dev_fraction, allow_demo_key=allow_demo_key, progress=progress)
    results = [process_unit(config, aws, plan, u["table"], u["index"], progress)
               for level in run_levels(plan) for u in level]
    report = publish_run(config, aws, plan, results, progress)
    report["seconds"] = round(time.perf_counter() - started, 3)
    return report
