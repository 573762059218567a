"""Structural gates on the sanitized output, computed from the local parquet parts.

Column set and order, row counts (staging equals prod exactly; dev within the
sample), primary keys not null (from parquet statistics) and every dev foreign key
resolving to a dev parent. Only key columns are read back, never whole tables.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq

from datarefresh.config import TableConfig


@dataclass
class Check:
    env: str
    table: str
    check: str
    ok: bool
    detail: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def _parts(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.parquet"))


def _null_count(folder: Path, column: str) -> int:
    total = 0
    for part in _parts(folder):
        meta = pq.ParquetFile(part).metadata
        idx = meta.schema.to_arrow_schema().get_field_index(column)
        for rg in range(meta.num_row_groups):
            stats = meta.row_group(rg).column(idx).statistics
            total += stats.null_count if stats is not None and stats.has_null_count else 0
    return total


def check_outputs(env: str, root: Path, tables: dict[str, TableConfig], table_reports: dict[str, dict],
                  expected_columns: dict[str, list[str]]) -> list[Check]:
    out: list[Check] = []
    for name, rep in table_reports.items():
        folder = root / name
        schema = pq.read_schema(_parts(folder)[0])
        out.append(Check(env, name, "columns", schema.names == expected_columns[name],
                         "" if schema.names == expected_columns[name] else f"got {schema.names}"))
        rows = sum(pq.ParquetFile(p).metadata.num_rows for p in _parts(folder))
        if env == "staging":
            out.append(Check(env, name, "row_count_equals_prod", rows == rep["rows_in"],
                             f"{rows} rows vs {rep['rows_in']} in prod"))
        else:
            out.append(Check(env, name, "row_count_within_sample", 0 <= rows <= rep["rows_in"],
                             f"{rows} of {rep['rows_in']} rows"))
        pk = tables[name].primary_key
        if pk and pk in schema.names:
            nulls = _null_count(folder, pk)
            out.append(Check(env, name, "primary_key_not_null", nulls == 0, f"{nulls} null keys"))
    if env == "dev":
        for name, t in tables.items():
            for fk in t.foreign_keys:
                if fk.parent_table not in table_reports or name not in table_reports:
                    continue
                parent = pq.read_table(root / fk.parent_table, columns=[fk.parent_column]).column(fk.parent_column)
                child = pq.read_table(root / name, columns=[fk.column]).column(fk.column)
                orphans = pc.sum(pc.invert(pc.fill_null(pc.is_in(child, value_set=parent.combine_chunks()), True)))
                n = orphans.as_py() or 0
                out.append(Check(env, name, f"foreign_key_resolves:{fk.column}", n == 0,
                                 f"{n} rows reference a missing {fk.references}"))
    return out
