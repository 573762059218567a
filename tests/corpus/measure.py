"""Zero-config sanitize of one corpus family (staging and dev) and the figures against its ground truth."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from tests.corpus.families import Family


def _strings(col: pa.ChunkedArray) -> list:
    if pa.types.is_floating(col.type):
        col = pc.round(col, 6)
    return pc.cast(col, pa.string()).to_pylist()


def _leaf(doc, path: str):
    for part in path.split("."):
        if not isinstance(doc, dict):
            return None
        doc = doc.get(part)
    return doc


def sanitize_family(family: Family, workdir: Path, keyring) -> dict:
    from datarefresh.errors import DataRefreshError
    from datarefresh.refresh.local import discover_local, sanitize_folder
    from datarefresh.refresh.table import plan_tables

    src = family.write(workdir / "src")
    out = workdir / "out"
    try:
        report = sanitize_folder(src, out, keyring=keyring, envs=("staging", "dev"))
    except DataRefreshError as exc:
        return {"family": family.name, "ok": False, "error": str(exc)}
    sources = discover_local(src)
    raw = {name: s.sample(10**9) for name, s in sources.items()}
    envs = {env: {t: pq.read_table(out / env / t) for t in family.tables} for env in ("staging", "dev")}
    aligned = _align_to_input(raw, envs["staging"], plan_tables(sources), keyring)
    return {
        "family": family.name,
        "ok": True,
        "report": report,
        **figures(family, raw, envs, report, aligned),
    }


def _align_to_input(raw: dict[str, pa.Table], staging: dict[str, pa.Table], policies, keyring) -> dict:
    """Staging rows in input order. Output rows are written in a keyed order (row order must
    not give ids back), so cell-by-cell figures first pair each output row with its input
    row through the pseudonym of the primary key (computed with the same operator). A table
    without a primary key stays unaligned and is compared column by column as multisets."""
    from datarefresh.anonymize.engine import apply_column
    from datarefresh.anonymize.operators import OpContext

    aligned = {}
    for t, table in raw.items():
        pk = policies[t].primary_key
        if not pk or pk not in staging[t].column_names:
            continue
        pseudonyms = apply_column(
            table.column(pk).combine_chunks(), policies[t].columns[pk], OpContext(keyring)
        )
        position = pc.index_in(pseudonyms, value_set=staging[t].column(pk).combine_chunks())
        assert position.null_count == 0, f"{t}: a primary key pseudonym is not in the output"
        aligned[t] = staging[t].take(position)
    return aligned


def _same_as_multiset(before: list, after: list) -> list[bool]:
    """Unaligned columns: a value counts as kept while the output still holds a copy of it."""
    from collections import Counter

    left = Counter(after)
    out = []
    for a in before:
        out.append(left[a] > 0)
        left[a] -= 1
    return out


def figures(
    family: Family,
    raw: dict[str, pa.Table],
    envs: dict[str, dict[str, pa.Table]],
    report: dict,
    aligned: dict[str, pa.Table] | None = None,
) -> dict:
    staging = {**envs["staging"], **(aligned or {})}
    unaligned = set(raw) - set(aligned or {})
    pii_cells = pii_verbatim = other_cells = other_kept = 0
    leaked_columns, changed_columns = [], []
    key_cols = (
        {(t, c) for t, c in family.keys.items()}
        | {(t, c) for t, c, _, _ in family.fks}
        | {(t, c) for _, _, t, c in family.fks}
    )
    for t, table in raw.items():
        for c in table.column_names:
            if (t, c) in key_cols or c in family.quasi.get(t, set()):
                continue
            before, after = _strings(table.column(c)), _strings(staging[t].column(c))
            if t in unaligned:  # conservative for PII: any surviving copy counts as verbatim
                after = [a if kept else object() for a, kept in zip(before, _same_as_multiset(before, after))]
            pairs = [(a, b) for a, b in zip(before, after) if a is not None and str(a).strip()]
            if (t, c) in family.json_pii:
                for a, b in pairs:
                    da, db = json.loads(a), json.loads(b) if b else {}
                    for path in family.json_pii[(t, c)]:
                        pii_cells += 1
                        same = _leaf(da, path) is not None and _leaf(da, path) == _leaf(db, path)
                        pii_verbatim += same
                continue
            same = sum(1 for a, b in pairs if a == b)
            if c in family.pii.get(t, set()):
                pii_cells += len(pairs)
                pii_verbatim += same
                if pairs and same / len(pairs) > 0.005:
                    leaked_columns.append(f"{t}.{c}")
            else:
                other_cells += len(pairs)
                other_kept += same
                if pairs and same / len(pairs) < 0.9:
                    changed_columns.append(f"{t}.{c}")
    discovered = {
        (t, fk["column"], *fk["references"].split("."))
        for t, r in report["tables"].items()
        for fk in r["foreign_keys"]
    }
    resolving = {}
    for env, tables in envs.items():
        for child, col, parent, pcol in sorted(family.fks):
            values = tables[child].column(col).drop_null()
            found = pc.is_in(values, value_set=pc.unique(tables[parent].column(pcol)))
            resolving[f"{env}:{child}.{col}"] = (
                round((pc.sum(found).as_py() or 0) / max(len(values), 1), 4) if len(values) else 1.0
            )
    primary = {t: r["primary_key"] for t, r in report["tables"].items()}
    return {
        "pii_verbatim_share": round(pii_verbatim / max(pii_cells, 1), 4),
        "non_pii_kept_share": round(other_kept / max(other_cells, 1), 4),
        "leaked_columns": leaked_columns,
        "changed_columns": changed_columns,
        "fks_true": len(family.fks),
        "fks_found": len(discovered & family.fks),
        "fks_missing": sorted(".".join(k) for k in family.fks - discovered),
        "fks_false": sorted(".".join(k) for k in discovered - family.fks),
        "fk_resolving": resolving,
        "primary_keys_wrong": sorted(t for t, pk in family.keys.items() if primary.get(t) != pk),
        "dev_rows": {t: v.num_rows for t, v in envs["dev"].items()},
    }
