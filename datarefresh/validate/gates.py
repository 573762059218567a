"""All publish gates for one environment, in one place.

Exact checks on every row (checks.py), the leak scan and k-anonymity results gathered
while the tables streamed, and the Great Expectations suites on a bounded sample. Then
which tables an environment holds back (`hold_back`): all of them on any failure, or, with
`validation.on_failure: table`, the failing ones and, in a sample, those whose foreign keys would
not resolve against the resulting mix of fresh and published tables.
"""

from __future__ import annotations

from typing import Callable

import pyarrow as pa

from datarefresh.config import Config, TableConfig
from datarefresh.validate.checks import Check, check_env, count_orphans
from datarefresh.validate.expectations import Validator, parity_expectations, user_expectations
from datarefresh.validate.table_report import TableReport


def evaluate(
    env: str,
    config: Config,
    policies: dict[str, TableConfig],
    tables: dict[str, TableReport],
    load_keys: Callable[[str, str], pa.Array],
    load_sample: Callable[[str, int], pa.Table],
    validator: Validator,
    *,
    sampled: bool,
) -> tuple[list[Check], dict[str, dict]]:
    """The gates of one environment over the run's tables (`tables[name].envs[env]`: what was written
    there). `sampled`: the environment's sampling mode is sample (see check_env)."""
    checks = check_env(env, tables, policies, load_keys, sampled=sampled)
    for name, t in tables.items():
        leaks = t.leaks or {}
        for f in leaks.get("findings", []):
            checks.append(
                Check(
                    env,
                    name,
                    "leak_scan",
                    False,
                    f"{f['kind']} of {f['source_column']} ({f['entity']}) in column {f['column']}: "
                    f"{f['count']} cells",
                )
            )
        if leaks.get("scanned"):
            checks.append(
                Check(
                    env,
                    name,
                    "leak_scan",
                    not leaks.get("findings"),
                    f"checked {leaks.get('cells', 0):,} output cells against {leaks['originals']:,} "
                    f"prod values sampled from {leaks['scanned']} PII columns",
                )
            )
        for r in leaks.get("text_rescan", []):
            checks.append(
                Check(
                    env,
                    name,
                    f"text_rescan:{r['column']}",
                    r["passed"],
                    f"hit rate {r['hit_rate']:.1%} over {r['texts']} texts "
                    f"(max {config.validation.text_rescan_max_hit_rate:.0%}); {', '.join(r['entities'])}",
                )
            )
        k = t.envs[env].k_anonymity
        if sampled and k:
            detail = (
                f"smallest group {k['smallest_group']} on {', '.join(k['quasi_identifiers'])} (k={k['k']})"
            )
            if k.get("suppressed_rows") or k.get("cells_changed_share"):
                detail += f", {k['smallest_group_after']} after generalization"
            if k.get("suppressed_rows"):
                detail += (
                    f"; quasi-identifiers of {k['suppressed_rows']} of {k['rows']} rows "
                    f"({k['suppressed_rows'] / max(k['rows'], 1):.0%}) blanked"
                )
            if "unique_share_after" in k:
                detail += (
                    f"; unique on quasi-identifiers {k['unique_share_before']:.1%} -> "
                    f"{k['unique_share_after']:.1%} (max {k['max_reidentification_risk']:.0%}), "
                    f"{k['cells_changed_share']:.0%} of cells generalized or blanked, "
                    f"{k['cells_informative_share']:.0%} still informative"
                )
            checks.append(Check(env, name, "k_anonymity", k["passed"], detail))
    ge: dict[str, dict] = {}
    for name, t in tables.items():
        sample = load_sample(name, config.validation.sample_rows)
        whole = sample.num_rows >= t.envs[env].rows
        exps = user_expectations(config, name) + parity_expectations(
            env, policies[name], t, config, whole, sampled=sampled
        )
        res = validator.run(env, name, sample, exps)
        res["scope"] = "whole table" if whole else f"sample of {sample.num_rows} rows"
        ge[name] = res
        failed = [f"{r['expectation']}({r['column'] or ''})" for r in res["results"] if not r["success"]]
        checks.append(
            Check(
                env,
                name,
                "expectations",
                res["passed"],
                f"{len(res['results']) - len(failed)}/{len(res['results'])} passed on {res['scope']}"
                + (f"; failed: {', '.join(failed)}" if failed else ""),
            )
        )
    return checks, ge


def hold_back(
    env: str,
    on_failure: str,
    checks: list[Check],
    run_tables: set[str],
    config_tables: dict[str, TableConfig],
    load_keys: Callable[[str, str, bool], pa.Array | None],
    *,
    sampled: bool,
) -> tuple[list[Check], dict[str, str]]:
    """The run's tables this environment keeps at their published version, with why, and the
    checks that decided it. `load_keys(table, column, fresh)`: a key column of this run's
    output (fresh) or of the published snapshot; None when there is no such table.

    The environment ends up with this run's version of some tables and the published version
    of others (held back, or not in the run). Every foreign key between two such versions is
    checked on every row, in every environment; in table mode a fresh table whose keys would
    break is held back too, until nothing changes. `sampled` (the environment's sampling
    mode is sample) decides what passes: a sample is chosen together, so no
    key may dangle; a full copy keeps the dangling keys prod had, so a mix may dangle no more
    than the published copy did (its orphans between the same two tables)."""
    held: dict[str, list[str]] = {}
    if on_failure == "table":
        for c in checks:
            if not c.ok:
                held.setdefault(c.table, []).append(f"{c.check} failed ({c.detail})")
    extra: list[Check] = []
    seen: set[tuple] = set()
    grew = True
    while grew:
        grew = False
        for child, policy in config_tables.items():
            for fk in policy.foreign_keys:
                parent = fk.parent_table
                child_fresh = child in run_tables and child not in held
                parent_fresh = parent in run_tables and parent not in held
                # same version on both sides: checked by check_env (or when it was published);
                # a fresh child of a parent outside the run: in a sample check_env read the published parent
                if (
                    parent == child
                    or child_fresh == parent_fresh
                    or (sampled and child_fresh and parent not in run_tables)
                ):
                    continue
                if (child, fk.column, child_fresh) in seen:
                    continue
                seen.add((child, fk.column, child_fresh))
                child_keys = load_keys(child, fk.column, child_fresh)
                if child_keys is None:
                    continue  # no published version of the child: nothing to resolve
                orphans = count_orphans(child_keys, load_keys(parent, fk.parent_column, parent_fresh))
                allowed = (
                    0
                    if sampled
                    else _published_orphans(load_keys, child, fk.column, parent, fk.parent_column)
                )
                ok = orphans <= allowed
                before = f" (the published copy had {allowed})" if allowed else ""
                if child_fresh:
                    check = Check(
                        env,
                        child,
                        f"foreign_key_resolves_published:{fk.column}",
                        ok,
                        f"{orphans} rows reference a {fk.references} missing from the published {parent}"
                        + before,
                    )
                else:
                    check = Check(
                        env,
                        parent,
                        f"published_children_resolve:{child}.{fk.column}",
                        ok,
                        f"{orphans} rows of the published {child} reference a {fk.references} "
                        "missing from this run" + before,
                    )
                extra.append(check)
                if not check.ok and on_failure == "table":
                    held.setdefault(check.table, []).append(f"{check.check} failed ({check.detail})")
                    grew = True
    return extra, {t: "; ".join(r) for t, r in sorted(held.items())}


def _published_orphans(load_keys, child: str, column: str, parent: str, parent_column: str) -> int:
    """Dangling keys between the published versions of two tables (a full copy keeps prod's)."""
    child_keys = load_keys(child, column, False)
    parent_keys = load_keys(parent, parent_column, False)
    return 0 if child_keys is None or parent_keys is None else count_orphans(child_keys, parent_keys)
