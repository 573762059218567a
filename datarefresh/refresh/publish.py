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
import errno
import functools
import hashlib
import io
import json
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, Field

from datarefresh.aws import Aws, s3_errors
from datarefresh.config import Config, SamplingConfig, TableConfig
from datarefresh.anonymize.keyed import Keyring, permute_u64
from datarefresh.errors import ConfigError, LocalDiskError, PublishConflictError, TerminalError
from datarefresh.iam import role_name
from datarefresh.refresh.table import (Progress, TableSource, env_sampling, make_outputs, plan_tables,
                                       sanitize_table, unconfigured_tables)
from datarefresh.graph import levels as table_levels
from datarefresh.io.tables import hive_pairs, infer_partition_schema, read_parts
from datarefresh.graph import processing_order
from datarefresh.secret import resolve_keyring
from datarefresh.storage.publish import KEY_FINGERPRINT, REPORTS, SNAPSHOTS, Publisher, discards_blocked_run
from datarefresh.storage.snapshot import ObjectVersion, table_files, take_snapshot
from datarefresh.storage.uri import S3Uri
from datarefresh.validate.checks import Check, expected_columns
from datarefresh.validate.expectations import Validator
from datarefresh.validate.gates import evaluate, hold_back
from datarefresh.validate.kanon import merge_reports
from datarefresh.validate.leaks import cross_table_findings
from datarefresh.validate.table_report import ColumnAction, EnvOutput, TableReport

UNIT_BYTES = 512 << 20  # a work unit is at most this much compressed input (or one bigger object)


class _Typed(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WorkUnit(_Typed):
    """One process_unit: object versions of one table, within one partition, at most UNIT_BYTES."""

    table: str
    index: int  # per table, from 0
    objects: list[ObjectVersion]


class RunPlan(_Typed):
    """What plan_run decided, handed to every process_unit and to publish_run (as JSON across
    Airflow's XCom: model_dump(mode="json") / model_validate). Metadata only, never a value."""

    snapshot_id: str
    as_of: str  # ISO timestamp (UTC)
    envs: list[str]
    versioned_source: bool
    allow_backwards: bool
    allow_demo_key: bool
    sampling: dict[str, SamplingConfig]  # per environment, as planned (dev_fraction applied)
    skipped_tables: list[str] = Field(default_factory=list)
    key_fingerprint: str
    key_rotation: list[str] = Field(default_factory=list)  # environments this run re-keys
    policies: dict[str, TableConfig]
    source_columns: dict[str, list[str]]
    prefixes: dict[str, str]  # table -> key prefix of its files in the prod bucket
    partitions: dict[str, list[tuple[str, str]]]  # table -> hive partition columns (name, Arrow type)
    levels: dict[str, int]  # table -> level: a table's parents are in lower levels
    units: list[WorkUnit]

    def unit(self, table: str, index: int) -> WorkUnit:
        return next(u for u in self.units if u.table == table and u.index == index)

    def units_at(self, level: int) -> list[WorkUnit]:
        """The units of one level: they may run in parallel. The one grouping of units by level,
        for `refresh` and the DAG's mapped tasks alike."""
        return [u for u in self.units if self.levels[u.table] == level]

    @property
    def depth(self) -> int:
        return max(self.levels.values(), default=0) + 1


class UnitResult(_Typed):
    """What process_unit returns: counts and findings, no values."""

    table: str
    index: int
    rows_in: int
    seconds: dict[str, float]
    text_entities: dict[str, int]
    prod_nulls: dict[str, int]
    blanks: dict[str, list[int]]
    leaks: dict | None
    k_anonymity: dict | None
    envs: dict[str, EnvOutput]


def parse_as_of(value: str | None) -> dt.datetime:
    """An ISO timestamp (naive means UTC); now when empty."""
    if not value:
        return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(f"as-of must be an ISO timestamp like 2026-11-30T00:00:00Z, got {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


def _local_disk_errors(step):
    """A full temporary folder fails the step with a clear error instead of a traceback
    (pyarrow, Great Expectations and shutil all raise a bare OSError)."""
    @functools.wraps(step)
    def run(*args, **kwargs):
        try:
            return step(*args, **kwargs)
        except OSError as exc:
            text = str(exc).lower()
            if exc.errno in (errno.ENOSPC, errno.EDQUOT) or "no space left" in text:
                why = "no space left on device"
            elif exc.errno == errno.EFBIG or "file too large" in text:
                why = "a file grew too large for the file size limit"
            else:
                raise
            raise LocalDiskError(f"the local temporary folder {tempfile.gettempdir()} is full ({why}) during "
                                 f"{step.__name__}; free space or point TMPDIR at a larger disk") from None
    return run


def _say(progress: Progress | None):
    return progress or (lambda _m: None)


def plan_run(config: Config, aws: Aws, *, envs: tuple[str, ...] = ("dev", "staging"),
             tables: tuple[str, ...] | None = None, as_of: dt.datetime, allow_backwards: bool = False,
             dev_fraction: float | None = None, allow_demo_key: bool = False,
             progress: Progress | None = None) -> RunPlan:
    say = _say(progress)
    if config.source is None or not config.source.role:
        raise ConfigError("refresh needs source.uri and source.role", key="source")
    for env in envs:
        if env not in config.environments:
            raise ConfigError(f"environment {env!r} is not configured; valid environments: "
                              f"{', '.join(sorted(config.environments))}", key=f"environments.{env}")
        if not config.environments[env].writer_role:
            raise ConfigError("a writer role is needed to publish", key=f"environments.{env}.writer_role")
    if tables and tuple(tables) == ("all",):
        tables = None  # `--tables all`: a full refresh
    unknown = set(tables or ()) - set(config.tables)
    if unknown:
        raise ConfigError(f"unknown table(s): {', '.join(sorted(unknown))}; valid tables: "
                          f"{', '.join(sorted(config.tables))} (or all)", key="tables")
    keyring = resolve_keyring(config.secret, allow_demo_key=allow_demo_key, config=config)
    chosen = {t: c for t, c in config.tables.items() if not tables or t in tables}
    role = config.source.role
    prod = aws.s3(role)
    say(f"snapshot of {config.source.uri} as of {as_of.isoformat()} (role {role_name(role)})")
    report_skipped = unconfigured_tables(_source_folders(prod, role, config.source.uri), config,
                                         config.source.uri, progress=say)
    snap = take_snapshot(prod, role, config.source.uri, {t: c.path or t for t, c in chosen.items()}, as_of)
    fingerprint = key_fingerprint(keyring)
    # before reading any data (the snapshot only listed versions) or writing anything
    rotation = _check_key_consistency(config, aws, envs, fingerprint, set(chosen))
    for env in rotation:
        say(f"{env}: key rotation: the published snapshot was made with another key; every table is "
            "refreshed and every pseudonym changes")
    bucket = S3Uri.parse(config.source.uri).bucket
    prefixes = {t: S3Uri.parse(config.source.uri).key(c.path or t) + "/" for t, c in chosen.items()}
    sources = {t: TableSource(t, table_files(prod, role, bucket, snap.tables[t], prefixes[t]), chosen[t].encoding,
                              csv=chosen[t].csv) for t in chosen}
    policies = plan_tables(sources, config.model_copy(update={"tables": chosen}), progress=say)
    sampling = env_sampling(config, envs, dev_fraction)
    basis = json.dumps({"snapshot": snap.to_dict()["tables"], "policies": {t: p.model_dump() for t, p in policies.items()},
                        "sampling": {e: s.model_dump() for e, s in sampling.items()}, "key": fingerprint,
                        "envs": sorted(envs)},
                       sort_keys=True, default=str)
    snapshot_id = f"{as_of.astimezone(dt.timezone.utc).strftime('%Y%m%dT%H%M%SZ')}-" \
                  f"{hashlib.sha256(basis.encode()).hexdigest()[:12]}"
    order = processing_order(policies)
    level = table_levels(policies)
    units = []
    for t in order:
        group: list[dict] = []
        size = 0
        current_partition = None
        for o in snap.tables[t]:
            # work units follow the partition folders: a unit never spans two partitions
            partition = hive_pairs(o.key[len(prefixes[t]):])
            if group and (size + o.size > UNIT_BYTES or partition != current_partition):
                units.append({"table": t, "index": len([u for u in units if u["table"] == t]), "objects": group})
                group, size = [], 0
            current_partition = partition
            group.append(o.__dict__)
            size += o.size
        units.append({"table": t, "index": len([u for u in units if u["table"] == t]), "objects": group})
    say(f"run {snapshot_id}: {len(units)} units in {max(level.values()) + 1} levels")
    return RunPlan(snapshot_id=snapshot_id, as_of=as_of.isoformat(), envs=list(envs),
                   versioned_source=snap.versioned, allow_backwards=allow_backwards,
                   allow_demo_key=allow_demo_key, sampling=sampling, skipped_tables=report_skipped,
                   key_fingerprint=fingerprint, key_rotation=rotation, policies=policies,
                   source_columns={t: sources[t].first_schema().names for t in policies},
                   prefixes=prefixes,
                   partitions={t: [(f.name, str(f.type)) for f in sources[t].files[0].partition_schema or []]
                               for t in policies},
                   levels=level, units=units)


def key_mismatch(env: str) -> str:
    return (f"the published snapshot of {env} was made with another key; refresh all tables (--tables all) "
            "or use the same key")


def _check_key_consistency(config: Config, aws: Aws, envs, fingerprint: str,
                           run_tables: set[str]) -> list[str]:
    """Pseudonyms of tables carried over from the published snapshot must come from the same key,
    or the foreign keys between fresh and carried tables resolve to nothing. Refuses a run that
    would carry tables over under another key; returns the environments a full run re-keys
    (key rotation: allowed, and said)."""
    rotation = []
    for env in envs:
        env_cfg = config.environments[env]
        pub = Publisher(aws.s3(env_cfg.writer_role), env_cfg.writer_role, env_cfg.bucket)
        manifest = _current_manifest(pub, pub.read_pointer().data or {})
        if not manifest or manifest.get(KEY_FINGERPRINT) == fingerprint:
            continue
        carried = set(manifest.get("tables", {})) - run_tables
        if carried:
            raise ConfigError(key_mismatch(env) + f" (it would carry over {', '.join(sorted(carried))})")
        rotation.append(env)
    return rotation


def _sampled(plan: RunPlan, env: str) -> bool:
    """An environment is written through the sampler when its sampling mode (as planned) is sample."""
    return plan.sampling[env].mode == "sample"


def _source_folders(client, role: str, source_uri: str) -> list[str]:
    """Top-level folders under the prod URI (current objects), for unknown_tables."""
    src = S3Uri.parse(source_uri)
    prefix = src.key() + "/" if src.key() else ""
    names = []
    with s3_errors(role, src.bucket, prefix, action="list"):
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=src.bucket, Prefix=prefix, Delimiter="/"):
            names += [p["Prefix"][len(prefix):].rstrip("/") for p in page.get("CommonPrefixes", [])]
    return sorted(n for n in names if n and not n.startswith((".", "_")))


def _part_prefix(env_uri: str, snapshot_id: str, table: str) -> tuple[str, str]:
    u = S3Uri.parse(env_uri)
    return u.bucket, u.key(SNAPSHOTS, snapshot_id, table) + "/"


def load_sampled_keys(config: Config, aws: Aws, env: str, snapshot_id: str, table: str,
                      column: str) -> pa.Array | None:
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
    entry = _current_manifest(pub, pub.read_pointer().data or {}).get("tables", {}).get(table)
    if entry is None:
        return None
    # a part's path below its table (`dt=.../part-...`): snapshots/<id>/<table>/<path>
    paths = [(f["key"].split(f"{SNAPSHOTS}/", 1)[-1].split("/", 2)[-1], f["key"]) for f in entry["files"]]
    if not paths:
        return None
    return read_parts([(rel, io.BytesIO(pub.read_bytes(key))) for rel, key in paths],
                      columns=[column]).column(column).combine_chunks()


def _key_loader(config: Config, aws: Aws, env: str, snapshot_id: str):
    """Key columns for the gates: this run's output (fresh) or the published snapshot's, cached."""
    cache: dict[tuple, pa.Array | None] = {}

    def load(table: str, column: str, fresh: bool) -> pa.Array | None:
        if (table, column, fresh) not in cache:
            cache[table, column, fresh] = (load_output_column(config, aws, env, snapshot_id, table, column) if fresh
                                           else load_published_column(config, aws, env, table, column))
        return cache[table, column, fresh]
    return load


def part_name(keyring: Keyring, table: str, unit: int, part: int) -> str:
    """A unit's n-th output part's file name: a keyed permutation of (unit, part), per table. Units
    follow the prod object names, which may follow the key; named by unit index, the listing order of
    the parts (the order a reader concatenates them in) would give the key's order back across units.
    A bijection, so names never clash; the same in every run (a rerun overwrites the same objects)."""
    if part >= 1 << 20:
        raise ConfigError(f"table {table}: more than {1 << 20} parts in one work unit")
    n = permute_u64(keyring, f"PART-NAME:{table}", np.array([(unit << 20) | part], dtype=np.uint64))[0]
    return f"part-{int(n):016x}.parquet"


def key_fingerprint(keyring: Keyring) -> str:
    """Identifies the key without revealing it (a keyed digest), as recorded in plans and manifests."""
    return keyring.subkey("fingerprint")[:8].hex()


@_local_disk_errors
def process_unit(config: Config, aws: Aws, plan: RunPlan, table: str, index: int,
                 progress: Progress | None = None) -> UnitResult:
    say = _say(progress)
    unit = plan.unit(table, index)
    keyring = resolve_keyring(config.secret, allow_demo_key=plan.allow_demo_key, config=config)
    if key_fingerprint(keyring) != plan.key_fingerprint:  # a worker with another key would not join
        raise ConfigError("this worker's pseudonym key differs from the one the run was planned with; give every "
                          "worker the same key (secret in the config)", key="secret")
    policies = plan.policies
    role = config.source.role  # type: ignore[union-attr]
    prod = aws.s3(role)
    bucket = S3Uri.parse(config.source.uri).bucket  # type: ignore[union-attr]
    partitions = plan.partitions.get(table) or []
    files = table_files(prod, role, bucket, unit.objects, plan.prefixes[table],
                        pa.schema([(n, pa.type_for_alias(t)) for n, t in partitions]) if partitions else None)
    source = TableSource(table, files, config.tables[table].encoding,
                         csv=policies[table].csv)  # the dialect (and partition types) the plan decided
    work = Path(tempfile.mkdtemp(prefix="datarefresh-unit-"))
    outputs = []
    try:
        sampling = {e: plan.sampling[e] for e in plan.envs}
        outputs = make_outputs(work, sampling, keyring, policies, load_parent_keys=lambda e, t, c:
                               load_sampled_keys(config, aws, e, plan.snapshot_id, t, c))
        rep = sanitize_table(table, source, policies[table], keyring, outputs, config, say)
        result = UnitResult(table=table, index=index, rows_in=rep["rows_in"], seconds=rep["seconds"],
                            text_entities=rep["text_entities"], prod_nulls=rep["prod_nulls"],
                            blanks=rep["blanks"], leaks=rep["leaks"], k_anonymity=rep["k_anonymity"], envs={})
        pk = policies[table].primary_key
        for o in outputs:
            env_cfg = config.environments[o.env]
            folder = o.folder / table
            parts = [(p.relative_to(folder).as_posix(), str(p)) for p in sorted(folder.rglob("*.parquet"))]
            columns = (pq.read_schema(parts[0][1]).names + [k for k, _ in hive_pairs(parts[0][0])]) if parts else []
            nulls = read_parts(parts, columns=[pk]).column(pk).null_count if pk and pk in columns else 0
            pub = Publisher(aws.s3(env_cfg.writer_role), env_cfg.writer_role, env_cfg.bucket)
            files = pub.upload_table(plan.snapshot_id, table, folder,
                                     name=functools.partial(part_name, keyring, table, index))
            result.envs[o.env] = EnvOutput(rows=rep["rows_out"][o.env], files=files, columns=columns,
                                           pk_nulls=nulls, k_anonymity=rep["k_anonymity_by_env"].get(o.env))
        return result
    finally:
        for o in outputs:  # a unit that failed half-way leaves no open writer behind
            for w in o.writers.values():
                w.discard()
        shutil.rmtree(work, ignore_errors=True)


@discards_blocked_run
@_local_disk_errors
def publish_run(config: Config, aws: Aws, plan: RunPlan, results: list[UnitResult],
                progress: Progress | None = None,
                docs_dir: Path | None = None) -> dict:
    """Gates, then publish per environment. Data Docs are built in `docs_dir` when given
    (kept), else in a temporary folder; either way they are stored with the run's report."""
    say = _say(progress)
    policies = plan.policies
    as_of = plan.as_of
    snapshot_id = plan.snapshot_id
    cross_table_findings([(r.table, r.leaks) for r in results])  # one table's originals in another's output
    # A unit that failed (the Airflow publish task runs when every unit is done, failed or not) means an
    # incomplete table: refuse, and discards_blocked_run removes the run's files from every environment.
    unfinished = sorted({(u.table, u.index) for u in plan.units} - {(r.table, r.index) for r in results})
    if unfinished:
        raise TerminalError(f"{len(unfinished)} work unit(s) did not finish ("
                            + ", ".join(f"{t} #{i}" for t, i in unfinished[:10])
                            + "): nothing is published and this run's files are removed")
    tables = _aggregate(results, plan)
    missing = set(policies) - set(tables)
    if missing:
        raise ConfigError(f"no results for table(s) {', '.join(sorted(missing))}: a unit did not run")
    report: dict = {"snapshot_id": snapshot_id, "as_of": as_of, "versioned_source": plan.versioned_source,
                    "tables": {t: v.summary().model_dump() for t, v in tables.items()},
                    "environments": {}}
    if plan.skipped_tables:
        report["skipped_tables"] = plan.skipped_tables  # unknown_tables: skip, named in the report
    if not plan.versioned_source:
        report["warning"] = "the prod bucket has no versioning: read the current objects (pinned by ETag)"
    if plan.key_rotation:
        report["key_rotation"] = (f"{', '.join(plan.key_rotation)}: the published snapshot was made with "
                                  "another key; this run re-keys every table, so every pseudonym changes")
    docs_root = Path(tempfile.mkdtemp(prefix="datarefresh-docs-"))
    docs = docs_dir or docs_root / "datadocs"
    try:
        validator = Validator(docs, run_name=snapshot_id)
        gated = {}
        for env in plan.envs:
            load = _key_loader(config, aws, env, snapshot_id)  # one cache for both key checks
            # dev FKs: this run's parent, or the published one for a parent not in the run
            keys = lambda t, c, load=load: load(t, c, True) if len(load(t, c, True)) else load(t, c, False)  # noqa: E731
            sample = lambda t, n, env=env: load_output_sample(config, aws, env, snapshot_id, t, n)  # noqa: E731
            t0 = time.perf_counter()
            checks, ge = evaluate(env, config, policies, tables, keys, sample, validator,
                                  sampled=_sampled(plan, env))
            extra, held = hold_back(env, config.validation.on_failure, checks, set(tables), config.tables, load,
                                    sampled=_sampled(plan, env))
            gated[env] = (checks + extra, held, ge, round(time.perf_counter() - t0, 3))
        validator.build_docs()  # once per run (GX rebuilds the whole site each time), before any pointer moves
        for env, (checks, held, ge, seconds) in gated.items():
            result = _publish_env(config, aws, env, plan, tables, checks, held, say)
            result["expectations"] = ge
            result["validation_seconds"] = seconds
            report["environments"][env] = result
        for env in plan.envs:
            _store_report(config, aws, env, snapshot_id, report, docs)
        if docs_dir:
            report["datadocs"] = str(docs_dir / "index.html")
    finally:
        shutil.rmtree(docs_root, ignore_errors=True)
    return report


def _aggregate(results: list[UnitResult], plan: RunPlan) -> dict[str, TableReport]:
    """Per table: the sum of its units' results, with what the gates compare it to."""
    tables: dict[str, TableReport] = {}
    for r in sorted(results, key=lambda r: (r.table, r.index)):
        t = tables.get(r.table)
        if t is None:
            policy = plan.policies[r.table]
            t = tables[r.table] = TableReport(
                expected_columns=expected_columns(policy, plan.source_columns[r.table]),
                columns={c: ColumnAction(action=p.action, entity=p.entity)
                         for c, p in policy.columns.items()})
        t.rows_in += r.rows_in
        for k, v in r.seconds.items():
            t.seconds[k] = t.seconds.get(k, 0.0) + v
        for k, v in r.text_entities.items():
            t.text_entities[k] = t.text_entities.get(k, 0) + v
        for k, v in r.prod_nulls.items():
            t.prod_nulls[k] = t.prod_nulls.get(k, 0) + v
        for k, (prod, out) in r.blanks.items():
            b = t.blanks.setdefault(k, [0, 0])
            b[0], b[1] = b[0] + prod, b[1] + out
        if r.leaks:
            if t.leaks is None:
                t.leaks = {"findings": [], "scanned": 0, "cells": 0, "originals": 0, "text_rescan": []}
            t.leaks["findings"] += r.leaks["findings"]
            t.leaks["scanned"] = max(t.leaks["scanned"], r.leaks["scanned"])
            t.leaks["originals"] += r.leaks["originals"]
            t.leaks["cells"] += r.leaks.get("cells", 0)
            t.leaks["text_rescan"] += r.leaks["text_rescan"]
        k = r.k_anonymity
        if k:  # each unit is protected on its own; the report sums them up
            t.k_anonymity = k if t.k_anonymity is None else merge_reports(t.k_anonymity, k)
        for env, e in r.envs.items():
            agg = t.envs.setdefault(env, EnvOutput(rows=0, files=[], columns=e.columns, pk_nulls=0))
            agg.rows += e.rows
            agg.files += e.files
            agg.pk_nulls += e.pk_nulls
            if e.k_anonymity:
                agg.k_anonymity = e.k_anonymity if agg.k_anonymity is None else \
                    merge_reports(agg.k_anonymity, e.k_anonymity)
    for v in tables.values():
        for agg in v.envs.values():
            agg.files.sort(key=lambda f: f["key"])  # the manifest lists parts in keyed order, not by unit
    return tables


def _store_report(config: Config, aws: Aws, env: str, snapshot_id: str, report: dict, docs: Path) -> None:
    """The run report (JSON, HTML) and Great Expectations Data Docs, next to the run in the bucket."""
    from datarefresh.report import render_html

    env_cfg = config.environments[env]
    role = env_cfg.writer_role
    s3 = aws.s3(role)
    u = S3Uri.parse(env_cfg.bucket)
    prefix = u.key(REPORTS, snapshot_id)
    body = {f"{prefix}/report.json": (json.dumps(report, indent=2, default=str).encode(), "application/json"),
            f"{prefix}/report.html": (render_html(report).encode(), "text/html")}
    for path in sorted(docs.rglob("*")) if docs.exists() else []:
        if path.is_file():
            ctype = "text/html" if path.suffix == ".html" else "application/octet-stream"
            body[f"{prefix}/datadocs/{path.relative_to(docs).as_posix()}"] = (path.read_bytes(), ctype)
    for key, (data, ctype) in body.items():
        with s3_errors(role, u.bucket, key, action="write"):
            s3.put_object(Bucket=u.bucket, Key=key, Body=data, ContentType=ctype)
    report["environments"][env]["report"] = f"s3://{u.bucket}/{prefix}/report.html"


def load_output_column(config: Config, aws: Aws, env: str, snapshot_id: str, table: str, column: str) -> pa.Array:
    """One column of a table's output under this run's prefix (key columns for the gates)."""
    return _read_outputs(config, aws, env, snapshot_id, table, [column], None).column(column).combine_chunks()


def load_output_sample(config: Config, aws: Aws, env: str, snapshot_id: str, table: str, rows: int) -> pa.Table:
    """A bounded sample of a table's output: its first parts, up to `rows` rows."""
    return _read_outputs(config, aws, env, snapshot_id, table, None, rows)


def _read_outputs(config, aws, env, snapshot_id, table, columns, limit) -> pa.Table:
    env_cfg = config.environments[env]
    role = env_cfg.writer_role
    s3 = aws.s3(role)
    bucket, prefix = _part_prefix(env_cfg.bucket, snapshot_id, table)
    parts, n = [], 0
    with s3_errors(role, bucket, prefix, action="read"):
        keys = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
                for o in page.get("Contents", []) if o["Key"].endswith(".parquet")]
        # partition columns typed over all parts, as the source was
        pschema = infer_partition_schema([hive_pairs(k[len(prefix):]) for k in keys], prefix)
        for key in keys:
            if limit is not None and n >= limit:
                break
            t = read_parts([(key[len(prefix):], io.BytesIO(s3.get_object(Bucket=bucket, Key=key)["Body"].read()))],
                           columns=columns, schema=pschema)
            parts.append(t if limit is None else t.slice(0, limit - n))
            n += parts[-1].num_rows
    return pa.concat_tables(parts) if parts else pa.table({c: pa.array([]) for c in columns or []})


def _publish_env(config, aws, env, plan, tables, checks, held, say) -> dict:
    """Publish this run's tables to one environment, except those `held` back (table mode),
    which keep their published version; on any failure in environment mode, publish nothing."""
    failed = [c for c in checks if not c.ok]
    result: dict = {"validation": {"passed": not failed, "checks": [c.to_dict() for c in checks]},
                    "snapshot_id": plan.snapshot_id,
                    "tables": {t: v.envs[env].rows for t, v in tables.items()}}
    env_cfg = config.environments[env]
    role = env_cfg.writer_role
    pub = Publisher(aws.s3(role), role, env_cfg.bucket)
    pointer = pub.read_pointer()
    current = pointer.data or {}
    current_manifest = _current_manifest(pub, current)
    same_run = current.get("snapshot_id") == plan.snapshot_id
    if current_manifest and current_manifest.get(KEY_FINGERPRINT) != plan.key_fingerprint:
        # re-keying (or the pointer moved to another key's snapshot since the plan): nothing may be
        # carried over, not even a held-back table, or its pseudonyms would not join the fresh ones
        would_carry = (set(current_manifest.get("tables", {})) - set(tables)) | set(held)
        if would_carry:
            mismatch = Check(env, ", ".join(sorted(would_carry)), "key_consistency", False, key_mismatch(env))
            failed.append(mismatch)
            result["validation"]["passed"] = False
            result["validation"]["checks"].append(mismatch.to_dict())
            held = {t: "" for t in tables}  # publish nothing
    if failed and (config.validation.on_failure == "environment" or set(held) >= set(tables)):
        result["published"] = False
        result["reason"] = "; ".join(f"{c.table}: {c.check} failed ({c.detail})" for c in failed)
        pub.discard_run(plan.snapshot_id)  # no data file of a blocked run stays; a published one does
        say(f"{env}: NOT published: {result['reason']}")
        return result
    if held:
        result["held_back"] = held
        result["reason"] = "held back (their published version stays): " + \
            "; ".join(f"{t}: {why}" for t, why in held.items())
        say(f"{env}: {result['reason']}")
    if same_run and set(current_manifest.get("held_back", {})) == set(held):
        say(f"{env}: snapshot {plan.snapshot_id} is already published")
        return result | {"published": True, "unchanged": True}
    if current.get("as_of") and current["as_of"] > plan.as_of and not plan.allow_backwards:
        result.update(published=False, reason=f"the published snapshot is newer ({current['as_of']}); "
                                              "allow backwards to move the pointer back")
        pub.discard_run(plan.snapshot_id)
        say(f"{env}: not published: {result['reason']}")
        return result
    created = dt.datetime.now(dt.timezone.utc).isoformat()
    fresh = {t: {"rows": v.envs[env].rows, "files": v.envs[env].files, "as_of": plan.as_of}
             for t, v in tables.items() if t not in held}
    # Tables not in the run, and those held back, are carried over from the current snapshot
    # (their files stay where they are), so readers always resolve every table.
    carried = {t: {**v, "as_of": v.get("as_of", current.get("as_of"))}
               for t, v in current_manifest.get("tables", {}).items() if t not in fresh}
    manifest = {"snapshot_id": plan.snapshot_id, "as_of": plan.as_of, "environment": env,
                "created_at": created, "validation": result["validation"], "tables": fresh | carried,
                "carried_over": sorted(carried), "held_back": held, KEY_FINGERPRINT: plan.key_fingerprint}
    named = frozenset(f["key"] for t in manifest["tables"].values() for f in t["files"])
    for t in held:  # a held-back table's new files go; a rerun's published ones are still named
        pub.delete_snapshot(plan.snapshot_id, t, keep=named)
    manifest_key = pub.write_manifest(plan.snapshot_id, manifest)
    new_pointer = {"snapshot_id": plan.snapshot_id, "as_of": plan.as_of, "manifest": manifest_key,
                   "published_at": created,
                   "tables": {t: v["rows"] for t, v in sorted(manifest["tables"].items())}}
    try:
        pub.move_pointer(pointer, new_pointer)
    except PublishConflictError:
        if (pub.read_pointer().data or {}).get("snapshot_id") == plan.snapshot_id:
            return result | {"published": True, "unchanged": True}  # a concurrent run published the same bytes
        pub.delete_snapshot(plan.snapshot_id)  # leave nothing of the losing run behind
        raise
    deleted = pub.retain(env_cfg.keep_snapshots, plan.snapshot_id, keep_also=_referenced(manifest))
    say(f"{env}: published {plan.snapshot_id} to {env_cfg.bucket} (role {role_name(role)})")
    return result | {"published": True, "manifest": manifest_key, "deleted_snapshots": deleted}


def _current_manifest(pub: Publisher, pointer: dict) -> dict:
    return pub.read_json(pointer["manifest"]) if pointer.get("manifest") else {}


def _referenced(manifest: dict) -> set[str]:
    """Snapshot ids whose files a manifest names (carried-over tables live in older ones)."""
    marker = f"/{SNAPSHOTS}/"
    return {("/" + f["key"]).split(marker, 1)[1].split("/", 1)[0]
            for t in manifest["tables"].values() for f in t["files"] if marker in "/" + f["key"]}


def run_levels(plan: RunPlan) -> list[list[WorkUnit]]:
    """Units grouped by level, lowest first (RunPlan.units_at)."""
    return [plan.units_at(lv) for lv in range(plan.depth)]


def refresh(config: Config, aws: Aws, *, envs: tuple[str, ...] = ("dev", "staging"),
            tables: tuple[str, ...] | None = None, as_of: dt.datetime | None = None,
            allow_backwards: bool = False, allow_demo_key: bool = False, dev_fraction: float | None = None,
            progress: Progress | None = None, docs_dir: Path | None = None) -> dict:
    """The whole pipeline in this process: the same steps the Airflow DAG runs as tasks."""
    started = time.perf_counter()
    as_of = as_of or parse_as_of(None)
    plan = plan_run(config, aws, envs=envs, tables=tables, as_of=as_of, allow_backwards=allow_backwards,
                    dev_fraction=dev_fraction, allow_demo_key=allow_demo_key, progress=progress)
    results = _process_units(config, aws, plan, progress)
    report = publish_run(config, aws, plan, results, progress, docs_dir)
    report["seconds"] = round(time.perf_counter() - started, 3)
    return report


@discards_blocked_run
def _process_units(config: Config, aws: Aws, plan: RunPlan, progress: Progress | None) -> list[UnitResult]:
    """Every unit, parents' level first. A unit that fails (terminal) stops the run before publish, so
    discards_blocked_run removes what the units before it wrote, as the Airflow publish task does."""
    return [process_unit(config, aws, plan, u.table, u.index, progress) for level in run_levels(plan) for u in level]
