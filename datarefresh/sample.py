"""Deterministic, keyed, FK-aware dev sampling.

Root tables keep a row when a keyed hash of its (anonymized) primary key falls
under the fraction, so the same customer is in tonight's sample and tomorrow's.
Child tables keep a row when every foreign key points at a sampled parent (or,
configured, null the dangling key). Only the sampled parents' key sets are held in
memory, never a parent table; tables are processed parents first.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from datarefresh.anonymize.keyed import Keyring
from datarefresh.config import SamplingConfig, TableConfig

_SCALE = float(2**64)


class DevSampler:
    """Decides, batch by batch, which anonymized rows belong in the dev sample.

    It works on anonymized values: a foreign key is transformed exactly like the key it
    references, so "is this order's customer in the sample" is a membership test of the
    anonymized customer_id in the anonymized key set of the sampled customers. Key sets of
    tables sampled in this process are kept here; those of parents sampled elsewhere (another
    Airflow task) come from `load_parent_keys`, typically the parent's published dev output.
    """

    def __init__(self, keyring: Keyring, tables: dict[str, TableConfig], sampling: SamplingConfig,
                 load_parent_keys: Callable[[str, str], pa.Array | None] | None = None):
        self.keyring, self.tables, self.sampling = keyring, tables, sampling
        self._kept: dict[str, list[pa.Array]] = {}
        self._loaded: dict[tuple[str, str], pa.Array | None] = {}
        self._load = load_parent_keys

    def _in_fraction(self, table: str, keys: pa.Array) -> np.ndarray:
        h = self.keyring.hash_values(f"SAMPLE/{table}", keys)
        return (h.astype(np.float64) / _SCALE) < self.sampling.fraction

    def parent_keys(self, table: str, column: str) -> pa.Array | None:
        """The sampled (anonymized) key set of a parent, or None if it is not part of this run."""
        if table in self._kept:
            chunks = self._kept[table]
            return pc.unique(pa.concat_arrays(chunks)) if chunks else None
        if (table, column) not in self._loaded:
            self._loaded[(table, column)] = self._load(table, column) if self._load else None
        return self._loaded[(table, column)]

    def select(self, table: str, clean: pa.RecordBatch) -> pa.RecordBatch:
        """The rows of an anonymized batch that belong in the dev sample (dangling keys nulled
        where the config says so)."""
        cfg = self.tables[table]
        own_keys = clean.column(cfg.primary_key) if cfg.primary_key else _row_keys(clean)
        parent_in: dict[int, pa.Array] = {}  # index of the foreign key in cfg.foreign_keys -> mask
        for i, fk in enumerate(cfg.foreign_keys):
            if fk.parent_table == table or fk.column not in clean.schema.names:
                continue  # self-references: the table's own keyed draw decides
            keys = self.parent_keys(fk.parent_table, fk.parent_column)
            if keys is not None:
                col = clean.column(fk.column)
                parent_in[i] = pc.fill_null(pc.is_in(col, value_set=keys.cast(col.type)), False)
        required = [i for i in parent_in if cfg.foreign_keys[i].on_missing_parent == "drop"]
        if required:
            # a child row follows its parents: it is in when every required parent is in
            mask = pa.array(np.ones(clean.num_rows, bool))
            for i in required:
                mask = pc.and_(mask, parent_in[i])
        else:
            # a root, or only nullable parents: its own keyed draw, or any sampled parent
            mask = pa.array(self._in_fraction(table, own_keys))
            for inside in parent_in.values():
                mask = pc.or_(mask, inside)
        out = clean.filter(mask)
        if cfg.primary_key:
            self._kept.setdefault(table, []).append(out.column(cfg.primary_key))
        else:
            self._kept.setdefault(table, [])
        for i, inside in parent_in.items():
            fk = cfg.foreign_keys[i]
            if fk.on_missing_parent == "null":
                i = out.schema.get_field_index(fk.column)
                col = out.column(i)
                out = out.set_column(i, out.schema.field(i),
                                     pc.if_else(inside.filter(mask), col, pa.nulls(len(col), col.type)))
        return out


def _row_keys(batch: pa.RecordBatch) -> pa.Array:
    """A stable key for tables without a primary key: all values joined."""
    cols = [pc.fill_null(pc.cast(c, pa.string()), "\x00") for c in batch.columns]
    return pc.binary_join_element_wise(*cols, "\x1f") if len(cols) > 1 else cols[0]
