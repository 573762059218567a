"""k-anonymity of the dev sample on a table's quasi-identifiers."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq


def smallest_group(table: pa.Table, qis: list[str]) -> int:
    """Size of the smallest group of rows sharing the same quasi-identifier values (0 if empty).
    Fully suppressed rows (every quasi-identifier blank) reveal nothing and are not a group."""
    suppressed = None
    for q in qis:
        nulls = pc.is_null(table.column(q))
        suppressed = nulls if suppressed is None else pc.and_(suppressed, nulls)
    if suppressed is not None:
        table = table.filter(pc.invert(suppressed))
    if table.num_rows == 0:
        return 0
    counts = table.select(qis).group_by(qis, use_threads=False).aggregate([([], "count_all")])
    return pc.min(counts.column("count_all")).as_py()


def check_and_suppress(folder: Path, qis: list[str], k: int, suppress: bool) -> dict:
    """Measure k on the written dev parts; with suppress, blank the quasi-identifiers of the
    rows in groups smaller than k (the most general value) and rewrite the parts."""
    parts = sorted(folder.rglob("*.parquet"))  # partitioned outputs have parts in key=value folders
    table = pq.read_table(parts, columns=qis) if parts else pa.table({q: [] for q in qis})
    before = smallest_group(table, qis)
    result = {"quasi_identifiers": qis, "k": k, "smallest_group": before, "suppressed_rows": 0}
    if before >= k or not suppress or not parts:
        result["passed"] = before >= k or table.num_rows == 0
        return result
    suppressed = 0
    sizes = table.group_by(qis, use_threads=False).aggregate([([], "count_all")])
    small = sizes.filter(pc.less(sizes.column("count_all"), k)).select(qis)
    for part in parts:
        t = pq.read_table(part)
        joined = t.select(qis).append_column("__row", pa.array(range(t.num_rows))).join(small, qis, join_type="inner")
        rows = pc.is_in(pa.array(range(t.num_rows)), value_set=joined.column("__row").combine_chunks())
        suppressed += pc.sum(rows).as_py() or 0
        for q in qis:
            i = t.schema.get_field_index(q)
            t = t.set_column(i, t.schema.field(i), pc.if_else(rows, pa.nulls(t.num_rows, t.schema.field(i).type),
                                                               t.column(q)))
        pq.write_table(t, part, compression="zstd")
    after = smallest_group(pq.read_table(parts, columns=qis), qis)
    result.update(suppressed_rows=suppressed, smallest_group_after=after, passed=after >= k or after == 0)
    return result
