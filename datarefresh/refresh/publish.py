"""Step 3 of a refresh, `publish_run`: sum up the units' results, run the gates, write the
manifest and move each environment's pointer (or hold back / publish nothing), and store the
run's report with its Data Docs next to the run in each bucket."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import tempfile
import time
from pathlib import Path

from datarefresh.aws import Aws, s3_errors
from datarefresh.config import Config
from datarefresh.errors import ConfigError, PublishConflictError, TerminalError
from datarefresh.iam import role_name
from datarefresh.refresh.plan import RunPlan, UnitResult, is_sampled, key_mismatch
from datarefresh.refresh.steps import local_disk_errors, progress_or_silent
from datarefresh.refresh.table import Progress
from datarefresh.refresh.unit import key_loader, load_output_sample
from datarefresh.storage.publish import KEY_FINGERPRINT, REPORTS, SNAPSHOTS, Publisher, discards_blocked_run
from datarefresh.storage.uri import S3Uri
from datarefresh.validate.checks import Check, expected_columns
from datarefresh.validate.expectations import Validator
from datarefresh.validate.gates import evaluate, hold_back
from datarefresh.validate.kanon import merge_reports
from datarefresh.validate.leaks import cross_table_findings
from datarefresh.validate.table_report import ColumnAction, EnvOutput, TableReport


@discards_blocked_run
@local_disk_errors
def publish_run(
    config: Config,
    aws: Aws,
    plan: RunPlan,
    results: list[UnitResult],
    progress: Progress | None = None,
    docs_dir: Path | None = None,
) -> dict:
    """Gates, then publish per environment. Data Docs are built in `docs_dir` when given
    (kept), else in a temporary folder; either way they are stored with the run's report."""
    say = progress_or_silent(progress)
    policies = plan.policies
    as_of = plan.as_of
    snapshot_id = plan.snapshot_id
    cross_table_findings([(r.table, r.leaks) for r in results])  # one table's originals in another's output
    # A unit that failed (the Airflow publish task runs when every unit is done, failed or not) means an
    # incomplete table: refuse, and discards_blocked_run removes the run's files from every environment.
    unfinished = sorted({(u.table, u.index) for u in plan.units} - {(r.table, r.index) for r in results})
    if unfinished:
        raise TerminalError(
            f"{len(unfinished)} work unit(s) did not finish ("
            + ", ".join(f"{t} #{i}" for t, i in unfinished[:10])
            + "): nothing is published and this run's files are removed"
        )
    tables = _aggregate(results, plan)
    missing = set(policies) - set(tables)
    if missing:
        raise ConfigError(f"no results for table(s) {', '.join(sorted(missing))}: a unit did not run")
    report: dict = {
        "snapshot_id": snapshot_id,
        "as_of": as_of,
        "versioned_source": plan.versioned_source,
        "tables": {t: v.summary().model_dump() for t, v in tables.items()},
        "environments": {},
    }
    if plan.skipped_tables:
        report["skipped_tables"] = plan.skipped_tables  # unknown_tables: skip, named in the report
    if not plan.versioned_source:
        report["warning"] = "the prod bucket has no versioning: read the current objects (pinned by ETag)"
    if plan.key_rotation:
        report["key_rotation"] = (
            f"{', '.join(plan.key_rotation)}: the published snapshot was made with "
            "another key; this run re-keys every table, so every pseudonym changes"
        )
    docs_root = Path(tempfile.mkdtemp(prefix="datarefresh-docs-"))
    docs = docs_dir or docs_root / "datadocs"
    try:
        validator = Validator(docs, run_name=snapshot_id)
        gated = {}
        for env in plan.envs:
            load = key_loader(config, aws, env, snapshot_id)  # one cache for both key checks
            # dev FKs: this run's parent, or the published one for a parent not in the run
            keys = lambda t, c, load=load: load(t, c, True) if len(load(t, c, True)) else load(t, c, False)  # noqa: E731
            sample = lambda t, n, env=env: load_output_sample(config, aws, env, snapshot_id, t, n)  # noqa: E731
            t0 = time.perf_counter()
            checks, ge = evaluate(
                env, config, policies, tables, keys, sample, validator, sampled=is_sampled(plan, env)
            )
            extra, held = hold_back(
                env,
                config.validation.on_failure,
                checks,
                set(tables),
                config.tables,
                load,
                sampled=is_sampled(plan, env),
            )
            gated[env] = (checks + extra, held, ge, round(time.perf_counter() - t0, 3))
        # once per run (GX rebuilds the whole site each time), before any pointer moves
        validator.build_docs()
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
                columns={
                    c: ColumnAction(action=p.action, entity=p.entity) for c, p in policy.columns.items()
                },
            )
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
                agg.k_anonymity = (
                    e.k_anonymity
                    if agg.k_anonymity is None
                    else merge_reports(agg.k_anonymity, e.k_anonymity)
                )
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
    body = {
        f"{prefix}/report.json": (json.dumps(report, indent=2, default=str).encode(), "application/json"),
        f"{prefix}/report.html": (render_html(report).encode(), "text/html"),
    }
    for path in sorted(docs.rglob("*")) if docs.exists() else []:
        if path.is_file():
            ctype = "text/html" if path.suffix == ".html" else "application/octet-stream"
            body[f"{prefix}/datadocs/{path.relative_to(docs).as_posix()}"] = (path.read_bytes(), ctype)
    for key, (data, ctype) in body.items():
        with s3_errors(role, u.bucket, key, action="write"):
            s3.put_object(Bucket=u.bucket, Key=key, Body=data, ContentType=ctype)
    report["environments"][env]["report"] = f"s3://{u.bucket}/{prefix}/report.html"


def _publish_env(config, aws, env, plan, tables, checks, held, say) -> dict:
    """Publish this run's tables to one environment, except those `held` back (table mode),
    which keep their published version; on any failure in environment mode, publish nothing."""
    failed = [c for c in checks if not c.ok]
    result: dict = {
        "validation": {"passed": not failed, "checks": [c.to_dict() for c in checks]},
        "snapshot_id": plan.snapshot_id,
        "tables": {t: v.envs[env].rows for t, v in tables.items()},
    }
    env_cfg = config.environments[env]
    role = env_cfg.writer_role
    pub = Publisher(aws.s3(role), role, env_cfg.bucket)
    pointer = pub.read_pointer()
    current = pointer.data or {}
    current_manifest = pub.current_manifest(current)
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
        result["reason"] = "held back (their published version stays): " + "; ".join(
            f"{t}: {why}" for t, why in held.items()
        )
        say(f"{env}: {result['reason']}")
    if same_run and set(current_manifest.get("held_back", {})) == set(held):
        say(f"{env}: snapshot {plan.snapshot_id} is already published")
        return result | {"published": True, "unchanged": True}
    if current.get("as_of") and current["as_of"] > plan.as_of and not plan.allow_backwards:
        result.update(
            published=False,
            reason=f"the published snapshot is newer ({current['as_of']}); "
            "allow backwards to move the pointer back",
        )
        pub.discard_run(plan.snapshot_id)
        say(f"{env}: not published: {result['reason']}")
        return result
    created = dt.datetime.now(dt.timezone.utc).isoformat()
    fresh = {
        t: {"rows": v.envs[env].rows, "files": v.envs[env].files, "as_of": plan.as_of}
        for t, v in tables.items()
        if t not in held
    }
    # Tables not in the run, and those held back, are carried over from the current snapshot
    # (their files stay where they are), so readers always resolve every table.
    carried = {
        t: {**v, "as_of": v.get("as_of", current.get("as_of"))}
        for t, v in current_manifest.get("tables", {}).items()
        if t not in fresh
    }
    manifest = {
        "snapshot_id": plan.snapshot_id,
        "as_of": plan.as_of,
        "environment": env,
        "created_at": created,
        "validation": result["validation"],
        "tables": fresh | carried,
        "carried_over": sorted(carried),
        "held_back": held,
        KEY_FINGERPRINT: plan.key_fingerprint,
    }
    named = frozenset(f["key"] for t in manifest["tables"].values() for f in t["files"])
    for t in held:  # a held-back table's new files go; a rerun's published ones are still named
        pub.delete_snapshot(plan.snapshot_id, t, keep=named)
    manifest_key = pub.write_manifest(plan.snapshot_id, manifest)
    new_pointer = {
        "snapshot_id": plan.snapshot_id,
        "as_of": plan.as_of,
        "manifest": manifest_key,
        "published_at": created,
        "tables": {t: v["rows"] for t, v in sorted(manifest["tables"].items())},
    }
    try:
        pub.move_pointer(pointer, new_pointer)
    except PublishConflictError:
        if (pub.read_pointer().data or {}).get("snapshot_id") == plan.snapshot_id:
            return result | {
                "published": True,
                "unchanged": True,
            }  # a concurrent run published the same bytes
        pub.delete_snapshot(plan.snapshot_id)  # leave nothing of the losing run behind
        raise
    deleted = pub.retain(env_cfg.keep_snapshots, plan.snapshot_id, keep_also=_referenced(manifest))
    say(f"{env}: published {plan.snapshot_id} to {env_cfg.bucket} (role {role_name(role)})")
    return result | {"published": True, "manifest": manifest_key, "deleted_snapshots": deleted}


def _referenced(manifest: dict) -> set[str]:
    """Snapshot ids whose files a manifest names (carried-over tables live in older ones)."""
    marker = f"/{SNAPSHOTS}/"
    return {
        ("/" + f["key"]).split(marker, 1)[1].split("/", 1)[0]
        for t in manifest["tables"].values()
        for f in t["files"]
        if marker in "/" + f["key"]
    }
