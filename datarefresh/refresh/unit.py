"""Step 2 of a refresh, `process_unit`: read one unit of one table through the prod-reader role,
anonymize it once, write every row to staging and the sampled rows to dev, under the run's snapshot
prefix, through each environment's writer role. Children run after their parents and test their
foreign keys against the parents' dev key sets, read here from this run's output or the published
snapshot."""

from __future__ import annotations

import functools
import io
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from datarefresh.anonymize.keyed import Keyring, permute_u64
from datarefresh.aws import Aws, s3_errors
from datarefresh.config import Config
from datarefresh.errors import ConfigError
from datarefresh.io.tables import hive_pairs, infer_partition_schema, read_parts
from datarefresh.refresh.plan import RunPlan, UnitResult, key_fingerprint
from datarefresh.refresh.steps import local_disk_errors, progress_or_silent
from datarefresh.refresh.table import Progress, TableSource, make_outputs, sanitize_table
from datarefresh.secret import resolve_keyring
from datarefresh.storage.publish import SNAPSHOTS, Publisher
from datarefresh.storage.snapshot import table_files
from datarefresh.storage.uri import S3Uri
from datarefresh.validate.table_report import EnvOutput


def _part_prefix(env_uri: str, snapshot_id: str, table: str) -> tuple[str, str]:
    u = S3Uri.parse(env_uri)
    return u.bucket, u.key(SNAPSHOTS, snapshot_id, table) + "/"


def load_sampled_keys(
    config: Config, aws: Aws, env: str, snapshot_id: str, table: str, column: str
) -> pa.Array | None:
    """A parent's sampled key set in a sampled environment: the key column of its parts under this
    run's prefix, or, for a parent not refreshed by this run, of the currently published snapshot."""
    keys = load_output_column(config, aws, env, snapshot_id, table, column)
    if len(keys):
        return keys
    return load_published_column(config, aws, env, table, column)


def load_published_column(config: Config, aws: Aws, env: str, table: str, column: str) -> pa.Array | None:
    """One column of a table as the environment's current snapshot has it; None if it has no rows there."""
    env_cfg = config.environments[env]
    pub = Publisher(aws.s3(env_cfg.writer_role), env_cfg.writer_role, env_cfg.bucket)
    entry = pub.current_manifest(pub.read_pointer().data or {}).get("tables", {}).get(table)
    if entry is None:
        return None
    # a part's path below its table (`dt=.../part-...`): snapshots/<id>/<table>/<path>
    paths = [(f["key"].split(f"{SNAPSHOTS}/", 1)[-1].split("/", 2)[-1], f["key"]) for f in entry["files"]]
    if not paths:
        return None
    return (
        read_parts([(rel, io.BytesIO(pub.read_bytes(key))) for rel, key in paths], columns=[column])
        .column(column)
        .combine_chunks()
    )


def key_loader(config: Config, aws: Aws, env: str, snapshot_id: str):
    """Key columns for the gates: this run's output (fresh) or the published snapshot's, cached."""
    cache: dict[tuple, pa.Array | None] = {}

    def load(table: str, column: str, fresh: bool) -> pa.Array | None:
        if (table, column, fresh) not in cache:
            cache[table, column, fresh] = (
                load_output_column(config, aws, env, snapshot_id, table, column)
                if fresh
                else load_published_column(config, aws, env, table, column)
            )
        return cache[table, column, fresh]

    return load


def load_output_column(
    config: Config, aws: Aws, env: str, snapshot_id: str, table: str, column: str
) -> pa.Array:
    """One column of a table's output under this run's prefix (key columns for the gates)."""
    return _read_outputs(config, aws, env, snapshot_id, table, [column], None).column(column).combine_chunks()


def load_output_sample(
    config: Config, aws: Aws, env: str, snapshot_id: str, table: str, rows: int
) -> pa.Table:
    """A bounded sample of a table's output: its first parts, up to `rows` rows."""
    return _read_outputs(config, aws, env, snapshot_id, table, None, rows)


def _read_outputs(config, aws, env, snapshot_id, table, columns, limit) -> pa.Table:
    env_cfg = config.environments[env]
    role = env_cfg.writer_role
    s3 = aws.s3(role)
    bucket, prefix = _part_prefix(env_cfg.bucket, snapshot_id, table)
    parts, n = [], 0
    with s3_errors(role, bucket, prefix, action="read"):
        keys = [
            o["Key"]
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
            for o in page.get("Contents", [])
            if o["Key"].endswith(".parquet")
        ]
        # partition columns typed over all parts, as the source was
        pschema = infer_partition_schema([hive_pairs(k[len(prefix) :]) for k in keys], prefix)
        for key in keys:
            if limit is not None and n >= limit:
                break
            t = read_parts(
                [(key[len(prefix) :], io.BytesIO(s3.get_object(Bucket=bucket, Key=key)["Body"].read()))],
                columns=columns,
                schema=pschema,
            )
            parts.append(t if limit is None else t.slice(0, limit - n))
            n += parts[-1].num_rows
    return pa.concat_tables(parts) if parts else pa.table({c: pa.array([]) for c in columns or []})


def part_name(keyring: Keyring, table: str, unit: int, part: int) -> str:
    """A unit's n-th output part's file name: a keyed permutation of (unit, part), per table. Units
    follow the prod object names, which may follow the key; named by unit index, the listing order of
    the parts (the order a reader concatenates them in) would give the key's order back across units.
    A bijection, so names never clash; the same in every run (a rerun overwrites the same objects)."""
    if part >= 1 << 20:
        raise ConfigError(f"table {table}: more than {1 << 20} parts in one work unit")
    n = permute_u64(keyring, f"PART-NAME:{table}", np.array([(unit << 20) | part], dtype=np.uint64))[0]
    return f"part-{int(n):016x}.parquet"


@local_disk_errors
def process_unit(
    config: Config, aws: Aws, plan: RunPlan, table: str, index: int, progress: Progress | None = None
) -> UnitResult:
    say = progress_or_silent(progress)
    unit = plan.unit(table, index)
    keyring = resolve_keyring(config.secret, allow_demo_key=plan.allow_demo_key, config=config)
    if key_fingerprint(keyring) != plan.key_fingerprint:  # a worker with another key would not join
        raise ConfigError(
            "this worker's pseudonym key differs from the one the run was planned with; give every "
            "worker the same key (secret in the config)",
            key="secret",
        )
    policies = plan.policies
    role = config.source.role  # type: ignore[union-attr]
    prod = aws.s3(role)
    bucket = S3Uri.parse(config.source.uri).bucket  # type: ignore[union-attr]
    partitions = plan.partitions.get(table) or []
    files = table_files(
        prod,
        role,
        bucket,
        unit.objects,
        plan.prefixes[table],
        pa.schema([(n, pa.type_for_alias(t)) for n, t in partitions]) if partitions else None,
    )
    source = TableSource(
        table, files, config.tables[table].encoding, csv=policies[table].csv
    )  # the dialect (and partition types) the plan decided
    work = Path(tempfile.mkdtemp(prefix="datarefresh-unit-"))
    outputs = []
    try:
        sampling = {e: plan.sampling[e] for e in plan.envs}
        outputs = make_outputs(
            work,
            sampling,
            keyring,
            policies,
            load_parent_keys=lambda e, t, c: load_sampled_keys(config, aws, e, plan.snapshot_id, t, c),
        )
        rep = sanitize_table(table, source, policies[table], keyring, outputs, config, say)
        result = UnitResult(
            table=table,
            index=index,
            rows_in=rep["rows_in"],
            seconds=rep["seconds"],
            text_entities=rep["text_entities"],
            prod_nulls=rep["prod_nulls"],
            blanks=rep["blanks"],
            leaks=rep["leaks"],
            k_anonymity=rep["k_anonymity"],
            envs={},
        )
        pk = policies[table].primary_key
        for o in outputs:
            env_cfg = config.environments[o.env]
            folder = o.folder / table
            parts = [(p.relative_to(folder).as_posix(), str(p)) for p in sorted(folder.rglob("*.parquet"))]
            columns = (
                (pq.read_schema(parts[0][1]).names + [k for k, _ in hive_pairs(parts[0][0])]) if parts else []
            )
            nulls = read_parts(parts, columns=[pk]).column(pk).null_count if pk and pk in columns else 0
            pub = Publisher(aws.s3(env_cfg.writer_role), env_cfg.writer_role, env_cfg.bucket)
            files = pub.upload_table(
                plan.snapshot_id, table, folder, name=functools.partial(part_name, keyring, table, index)
            )
            result.envs[o.env] = EnvOutput(
                rows=rep["rows_out"][o.env],
                files=files,
                columns=columns,
                pk_nulls=nulls,
                k_anonymity=rep["k_anonymity_by_env"].get(o.env),
            )
        return result
    finally:
        for o in outputs:  # a unit that failed half-way leaves no open writer behind
            for w in o.writers.values():
                w.discard()
        shutil.rmtree(work, ignore_errors=True)
