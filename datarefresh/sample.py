"""Deterministic, keyed, FK-aware dev sampling.

Root tables keep a row when a keyed hash of its primary key falls under the
fraction, so the same customer is in tonight's sample and tomorrow's. Child tables
keep a row when every foreign key points at a sampled parent (or, configured, null
the dangling key). Only the sampled parents' key sets are held in memory, never a
parent table; tables are processed parents first.
"""

from __future__ import annotations

from graphlib import CycleError, TopologicalSorter

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from datarefresh.anonymize.keyed import Keyring
from datarefresh.config import SamplingConfig, TableConfig

_SCALE = float(2**64)


def processing_order(tables: dict[str, TableConfig]) -> list[str]:
    """Parents before children; a cycle is broken at its alphabetically first table."""
    graph = {name: {fk.parent_table for fk in t.foreign_keys if fk.parent_table != name and fk.parent_table in tables}
             for name, t in tables.items()}
    while True:
        try:
            return list(TopologicalSorter({k: sorted(v) for k, v in sorted(graph.items())}).static_order())
        except CycleError as exc:
            cycle = exc.args[1]
            a = min(cycle[:-1])
            # drop one edge of the cycle: a no longer waits for its parent in the cycle
            graph[a] -= set(cycle)


class DevSampler:
    """Holds the sampled key sets of the tables processed so far."""

    def __init__(self, keyring: Keyring, tables: dict[str, TableConfig], sampling: SamplingConfig):
        self.keyring, self.tables, self.sampling = keyring, tables, sampling
        self.kept_keys: dict[str, set] = {}

    def _in_fraction(self, table: str, keys: pa.Array) -> np.ndarray:
        h = self.keyring.hash_values(f"SAMPLE/{table}", keys)
        return (h.astype(np.float64) / _SCALE) < self.sampling.fraction

    def decide(self, table: str, batch: pa.RecordBatch) -> "Decision":
        """Which rows of `batch` (raw keys, before anonymization) belong in the dev sample,
        and which of their foreign keys must be nulled."""
        cfg = self.tables[table]
        fks = [fk for fk in cfg.foreign_keys if fk.parent_table != table and fk.parent_table in self.kept_keys]
        own_keys = batch.column(cfg.primary_key) if cfg.primary_key else _row_keys(batch)
        parent_in = {fk.column: pc.fill_null(self._parent_in(fk, batch), False) for fk in fks}
        required = [fk for fk in fks if fk.on_missing_parent == "drop"]
        if required:
            # a child row follows its parents: it is in when every required parent is in
            mask = pa.array(np.ones(batch.num_rows, bool))
            for fk in required:
                mask = pc.and_(mask, parent_in[fk.column])
        elif fks:
            # only nullable parents: in when any parent is in, or by its own keyed draw
            mask = pa.array(self._in_fraction(table, own_keys))
            for fk in fks:
                mask = pc.or_(mask, parent_in[fk.column])
        else:
            mask = pa.array(self._in_fraction(table, own_keys))
        kept = self.kept_keys.setdefault(table, set())
        if cfg.primary_key:
            kept.update(own_keys.filter(mask).to_pylist())
        nulls = {fk.column: pc.invert(parent_in[fk.column]).filter(mask)
                 for fk in fks if fk.on_missing_parent == "null"}
        return Decision(mask, nulls)

    def _parent_in(self, fk, batch: pa.RecordBatch) -> pa.Array:
        col = batch.column(fk.column)
        parent_keys = pa.array(list(self.kept_keys[fk.parent_table]), col.type)
        return pc.is_in(col, value_set=parent_keys)


class Decision:
    def __init__(self, keep: pa.Array, null_columns: dict[str, pa.Array]):
        self.keep, self.null_columns = keep, null_columns

    def apply(self, clean: pa.RecordBatch) -> pa.RecordBatch:
        """Apply to the anonymized batch (same rows, same order as the raw one)."""
        out = clean.filter(self.keep)
        for name, dangling in self.null_columns.items():
            if name in out.schema.names:
                i = out.schema.get_field_index(name)
                col = out.column(i)
                out = out.set_column(i, out.schema.field(i), pc.if_else(dangling, pa.nulls(len(col), col.type), col))
        return out


def _row_keys(batch: pa.RecordBatch) -> pa.Array:
    """A stable key for tables without a primary key: all values joined."""
    cols = [pc.fill_null(pc.cast(c, pa.string()), "\x00") for c in batch.columns]
    return pc.binary_join_element_wise(*cols, "\x1f") if len(cols) > 1 else cols[0]
