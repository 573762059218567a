"""Step 1 of a refresh, `plan_run`: snapshot prod as of a timestamp (object versions, no data),
settle the policies, derive a deterministic snapshot id and cut the work into units; and the typed
run handed between the steps (RunPlan, WorkUnit, UnitResult). Metadata only, never a raw value."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

from pydantic import Field

from datarefresh.anonymize.keyed import Keyring
from datarefresh.aws import Aws, s3_errors, subfolders
from datarefresh.config import Config, SamplingConfig, TableConfig
from datarefresh.errors import ConfigError
from datarefresh.graph import levels as table_levels
from datarefresh.graph import processing_order
from datarefresh.iam import role_name
from datarefresh.io.tables import hive_pairs
from datarefresh.refresh.steps import progress_or_silent
from datarefresh.refresh.table import (
    Progress,
    TableSource,
    check_quasi_identifiers_declared,
    env_sampling,
    plan_tables,
    unconfigured_tables,
)
from datarefresh.secret import resolve_keyring
from datarefresh.storage.publish import KEY_FINGERPRINT, Publisher
from datarefresh.storage.snapshot import ObjectVersion, table_files, take_snapshot
from datarefresh.storage.uri import S3Uri
from datarefresh.validate.table_report import EnvOutput, Typed


UNIT_BYTES = 512 << 20  # a work unit is at most this much compressed input (or one bigger object)


class WorkUnit(Typed):
    """One process_unit: object versions of one table, within one partition, at most UNIT_BYTES."""

    table: str
    index: int  # per table, from 0
    objects: list[ObjectVersion]


class RunPlan(Typed):
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


class UnitResult(Typed):
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
        raise ConfigError(
            f"as-of must be an ISO timestamp like 2026-11-30T00:00:00Z, got {value!r}"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


def plan_run(
    config: Config,
    aws: Aws,
    *,
    envs: tuple[str, ...] = ("dev", "staging"),
    tables: tuple[str, ...] | None = None,
    as_of: dt.datetime,
    allow_backwards: bool = False,
    dev_fraction: float | None = None,
    allow_demo_key: bool = False,
    progress: Progress | None = None,
) -> RunPlan:
    say = progress_or_silent(progress)
    if config.source is None or not config.source.role:
        raise ConfigError("refresh needs source.uri and source.role", key="source")
    for env in envs:
        if env not in config.environments:
            raise ConfigError(
                f"environment {env!r} is not configured; valid environments: "
                f"{', '.join(sorted(config.environments))}",
                key=f"environments.{env}",
            )
        if not config.environments[env].writer_role:
            raise ConfigError("a writer role is needed to publish", key=f"environments.{env}.writer_role")
    if tables and tuple(tables) == ("all",):
        tables = None  # `--tables all`: a full refresh
    unknown = set(tables or ()) - set(config.tables)
    if unknown:
        raise ConfigError(
            f"unknown table(s): {', '.join(sorted(unknown))}; valid tables: "
            f"{', '.join(sorted(config.tables))} (or all)",
            key="tables",
        )
    keyring = resolve_keyring(config.secret, allow_demo_key=allow_demo_key, config=config)
    chosen = {t: c for t, c in config.tables.items() if not tables or t in tables}
    role = config.source.role
    prod = aws.s3(role)
    say(f"snapshot of {config.source.uri} as of {as_of.isoformat()} (role {role_name(role)})")
    report_skipped = unconfigured_tables(
        _source_folders(prod, role, config.source.uri), config, config.source.uri, progress=say
    )
    snap = take_snapshot(prod, role, config.source.uri, {t: c.path or t for t, c in chosen.items()}, as_of)
    fingerprint = key_fingerprint(keyring)
    # before reading any data (the snapshot only listed versions) or writing anything
    rotation = _check_key_consistency(config, aws, envs, fingerprint, set(chosen))
    for env in rotation:
        say(
            f"{env}: key rotation: the published snapshot was made with another key; every table is "
            "refreshed and every pseudonym changes"
        )
    bucket = S3Uri.parse(config.source.uri).bucket
    prefixes = {t: S3Uri.parse(config.source.uri).key(c.path or t) + "/" for t, c in chosen.items()}
    sources = {
        t: TableSource(
            t,
            table_files(prod, role, bucket, snap.tables[t], prefixes[t]),
            chosen[t].encoding,
            csv=chosen[t].csv,
        )
        for t in chosen
    }
    policies = plan_tables(sources, config.model_copy(update={"tables": chosen}), progress=say)
    sampling = env_sampling(config, envs, dev_fraction)
    if config.validation.k_anonymity:  # refused here, before any unit writes, not unit by unit
        for env in (e for e, s in sampling.items() if s.mode == "sample"):
            for t, p in policies.items():
                check_quasi_identifiers_declared(t, p, sources[t].first_schema().names, env)
    basis = json.dumps(
        {
            "snapshot": snap.to_dict()["tables"],
            "policies": {t: p.model_dump() for t, p in policies.items()},
            "sampling": {e: s.model_dump() for e, s in sampling.items()},
            "key": fingerprint,
            "envs": sorted(envs),
        },
        sort_keys=True,
        default=str,
    )
    snapshot_id = (
        f"{as_of.astimezone(dt.timezone.utc).strftime('%Y%m%dT%H%M%SZ')}-"
        f"{hashlib.sha256(basis.encode()).hexdigest()[:12]}"
    )
    order = processing_order(policies)
    level = table_levels(policies)
    units = []
    for t in order:
        group: list[dict] = []
        size = 0
        current_partition = None
        for o in snap.tables[t]:
            # work units follow the partition folders: a unit never spans two partitions
            partition = hive_pairs(o.key[len(prefixes[t]) :])
            if group and (size + o.size > UNIT_BYTES or partition != current_partition):
                units.append(
                    {"table": t, "index": len([u for u in units if u["table"] == t]), "objects": group}
                )
                group, size = [], 0
            current_partition = partition
            group.append(o.__dict__)
            size += o.size
        units.append({"table": t, "index": len([u for u in units if u["table"] == t]), "objects": group})
    say(f"run {snapshot_id}: {len(units)} units in {max(level.values()) + 1} levels")
    return RunPlan(
        snapshot_id=snapshot_id,
        as_of=as_of.isoformat(),
        envs=list(envs),
        versioned_source=snap.versioned,
        allow_backwards=allow_backwards,
        allow_demo_key=allow_demo_key,
        sampling=sampling,
        skipped_tables=report_skipped,
        key_fingerprint=fingerprint,
        key_rotation=rotation,
        policies=policies,
        source_columns={t: sources[t].first_schema().names for t in policies},
        prefixes=prefixes,
        partitions={
            t: [(f.name, str(f.type)) for f in sources[t].files[0].partition_schema or []] for t in policies
        },
        levels=level,
        units=units,
    )


def key_fingerprint(keyring: Keyring) -> str:
    """Identifies the key without revealing it (a keyed digest), as recorded in plans and manifests."""
    return keyring.subkey("fingerprint")[:8].hex()


def key_mismatch(env: str) -> str:
    return (
        f"the published snapshot of {env} was made with another key; refresh all tables (--tables all) "
        "or use the same key"
    )


def _check_key_consistency(
    config: Config, aws: Aws, envs, fingerprint: str, run_tables: set[str]
) -> list[str]:
    """Pseudonyms of tables carried over from the published snapshot must come from the same key,
    or the foreign keys between fresh and carried tables resolve to nothing. Refuses a run that
    would carry tables over under another key; returns the environments a full run re-keys
    (key rotation: allowed, and said)."""
    rotation = []
    for env in envs:
        env_cfg = config.environments[env]
        pub = Publisher(aws.s3(env_cfg.writer_role), env_cfg.writer_role, env_cfg.bucket)
        manifest = pub.current_manifest(pub.read_pointer().data or {})
        if not manifest or manifest.get(KEY_FINGERPRINT) == fingerprint:
            continue
        carried = set(manifest.get("tables", {})) - run_tables
        if carried:
            raise ConfigError(key_mismatch(env) + f" (it would carry over {', '.join(sorted(carried))})")
        rotation.append(env)
    return rotation


def is_sampled(plan: RunPlan, env: str) -> bool:
    """An environment is written through the sampler when its sampling mode (as planned) is sample."""
    return plan.sampling[env].mode == "sample"


def _source_folders(client, role: str, source_uri: str) -> list[str]:
    """Top-level folders under the prod URI (current objects), for unknown_tables."""
    src = S3Uri.parse(source_uri)
    prefix = src.key() + "/" if src.key() else ""
    with s3_errors(role, src.bucket, prefix, action="list"):
        names = subfolders(client, src.bucket, prefix)
    return [n for n in names if n and not n.startswith((".", "_"))]
