"""Structural gates on the sanitized output of a run, before anything is published.

Column set and order as the policy says, row counts (staging equals prod exactly;
dev within the sample), primary keys not null, empty texts exactly as many as in prod,
and every dev foreign key resolving to a dev parent. Only key columns are read back, never whole tables.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable

import pyarrow as pa
import pyarrow.compute as pc

from datarefresh.config import TableConfig
from datarefresh.validate.table_report import TableReport


@dataclass
class Check:
    env: str
    table: str
    check: str
    ok: bool
    detail: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def expected_columns(policy: TableConfig, source_columns: list[str]) -> list[str]:
    """Schema parity: exactly prod's columns, in prod's order (a dropped column fails)."""
    return list(source_columns)


def check_env(
    env: str,
    tables: dict[str, TableReport],
    policies: dict[str, TableConfig],
    load_keys: Callable[[str, str], pa.Array],
    *,
    sampled: bool,
) -> list[Check]:
    """The run's tables as written to `env` (`tables[name].envs[env]`) against prod.
    `sampled` (the environment's sampling mode): a sample has at most prod's rows and every
    foreign key resolves in it; a full copy has exactly prod's rows."""
    out: list[Check] = []
    for name, t in tables.items():
        got = t.envs[env]
        ok = got.columns == t.expected_columns
        out.append(
            Check(env, name, "columns", ok, "" if ok else f"got {got.columns}, expected {t.expected_columns}")
        )
        if not sampled:
            out.append(
                Check(
                    env,
                    name,
                    "row_count_equals_prod",
                    got.rows == t.rows_in,
                    f"{got.rows} rows vs {t.rows_in} in prod",
                )
            )
        else:
            out.append(
                Check(
                    env,
                    name,
                    "row_count_within_sample",
                    0 <= got.rows <= t.rows_in,
                    f"{got.rows} of {t.rows_in} rows",
                )
            )
        if policies[name].primary_key:
            out.append(
                Check(env, name, "primary_key_not_null", got.pk_nulls == 0, f"{got.pk_nulls} null keys")
            )
        blanks = check_blanks(env, name, t.blanks, policies[name])
        if blanks:
            out.append(blanks)
    if sampled:
        for name, policy in policies.items():
            for fk in policy.foreign_keys:
                if name not in tables or fk.parent_table == name:
                    continue
                # a parent not refreshed by this run is checked against its published dev copy
                parent = load_keys(fk.parent_table, fk.parent_column)
                child = load_keys(name, fk.column)
                if parent is None or child is None:
                    continue
                orphans = count_orphans(child, parent)
                out.append(
                    Check(
                        env,
                        name,
                        f"foreign_key_resolves:{fk.column}",
                        orphans == 0,
                        f"{orphans} rows reference a missing {fk.references}",
                    )
                )
    return out


def count_blanks(batch: pa.RecordBatch) -> dict[str, int]:
    """Empty or whitespace-only cells per text column (nulls are counted apart, as null rates)."""
    out = {}
    for name, col in zip(batch.schema.names, batch.columns):
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            out[name] = pc.sum(pc.fill_null(pc.equal(pc.utf8_trim_whitespace(col), ""), False)).as_py() or 0
    return out


def check_blanks(env: str, table: str, blanks: dict[str, list[int]], policy: TableConfig) -> Check | None:
    """Empty-string parity, on every row: the anonymized table has exactly as many empty texts per
    column as prod (counted before sampling), unless the policy replaces them (action null,
    params.blank: transform). `blanks[column] = [in prod, after anonymization]`."""
    differ = []
    for col, (prod, out) in sorted(blanks.items()):
        p = policy.columns.get(col)
        if p is None or p.action in ("null", "drop") or p.params.get("blank", "keep") != "keep":
            continue
        if prod != out:
            differ.append(f"{col} {out} vs {prod} in prod")
    if not blanks:
        return None
    return Check(
        env,
        table,
        "empty_rate_parity",
        not differ,
        "; ".join(differ) if differ else f"empty texts as in prod in {len(blanks)} text columns",
    )


def count_orphans(child: pa.Array, parent: pa.Array | None) -> int:
    """Non-null child keys missing from the parent's keys (no parent: every non-null key)."""
    keys = child.drop_null()  # a null reference is no reference (on_missing_parent: null)
    if parent is None or not len(keys):
        return len(keys)
    return len(keys) - (pc.sum(pc.is_in(keys, value_set=parent.cast(keys.type))).as_py() or 0)
