"""Deterministic, keyed, FK-aware dev sampling.

A root table keeps a row when a keyed hash of its (anonymized) primary key falls
under the fraction, so the same customer is in tonight's sample and tomorrow's
unless it was deleted in prod. A child keeps a row when every foreign key points at
a sampled parent (or, configured, keeps it with the dangling key nulled). Along a
`sampling: pull` key the parent is sampled after the child and takes in every row
the sampled children reference ("upward closure").

Per table: a fraction, a row cap (the rows with the smallest keyed hashes win, so the
cap is stable too), a stratification floor (every value of a column gets at least k
rows, again the smallest hashes) and always-include keys. Only key sets (bounded by
the sample) and, for capped or stratified tables, the candidate rows (bounded by the
cap and k x strata) are held in memory, never a parent table.

The sampler sees anonymized batches: foreign keys are transformed exactly like the
keys they reference, so membership tests work on anonymized values and a parent's
key set can come from its published dev output when it was sampled by another task.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from datarefresh.anonymize.keyed import Keyring
from datarefresh.config import SamplingConfig, TableConfig

_SCALE = float(2**64)
_HASH = "__datarefresh_sample_hash"


class DevSampler:
    def __init__(
        self,
        keyring: Keyring,
        tables: dict[str, TableConfig],
        sampling: SamplingConfig,
        load_parent_keys: Callable[[str, str], pa.Array | None] | None = None,
        anonymize_keys: Callable[[str, pa.Array], pa.Array] | None = None,
    ):
        self.keyring, self.tables, self.sampling = keyring, tables, sampling
        self._kept: dict[str, list[pa.Array]] = {}  # table -> anonymized primary keys in the sample
        self._required: dict[str, list[pa.Array]] = {}  # parent -> keys its sampled children reference (pull)
        self._loaded: dict[tuple[str, str], pa.Array | None] = {}
        self._load = load_parent_keys
        self._anonymize_keys = anonymize_keys  # raw always-include keys -> anonymized
        self._held: dict[str, list[pa.RecordBatch]] = {}
        self._forced_keys: dict[str, pa.Array | None] = {}

    # -- sizing -------------------------------------------------------------------------
    def _fraction(self, table: str) -> float:
        own = self.tables[table].sample.fraction
        return own if own is not None else self.sampling.fraction

    def _cap(self, table: str) -> int | None:
        own = self.tables[table].sample.max_rows
        return own if own is not None else self.sampling.max_rows

    def _holds(self, table: str) -> bool:
        t = self.tables[table]
        return (
            self._cap(table) is not None
            or t.sample.stratify_by is not None
            or any(fk.parent_table == table for fk in t.foreign_keys)
        )  # self-references settle at the end

    def _hash(self, table: str, keys: pa.Array) -> np.ndarray:
        return self.keyring.hash_values(f"SAMPLE/{table}", keys)

    # -- key sets -----------------------------------------------------------------------
    def parent_keys(self, table: str, column: str) -> pa.Array | None:
        """The sampled (anonymized) key set of a parent, or None if it is not part of this run."""
        if table in self._kept:
            chunks = self._kept[table]
            return pc.unique(pa.concat_arrays(chunks)) if chunks else pa.array([], pa.null())
        if (table, column) not in self._loaded:
            self._loaded[(table, column)] = self._load(table, column) if self._load else None
        return self._loaded[(table, column)]

    def _forced(self, table: str) -> pa.Array | None:
        """Keys that must be in: always-include keys and keys pulled in by sampled children."""
        if table not in self._forced_keys:
            parts = list(self._required.get(table, []))
            for child, c in self.tables.items():  # pull children sampled by another task
                for fk in c.foreign_keys:
                    if (
                        fk.sampling == "pull"
                        and fk.parent_table == table
                        and child not in self._kept
                        and self._load
                    ):
                        loaded = self._load(child, fk.column)
                        if loaded is not None:
                            parts.append(loaded.drop_null())
            always = self.tables[table].sample.always_include
            if always and self._anonymize_keys:
                parts.append(self._anonymize_keys(table, pa.array(always)))
            parts = [p for p in parts if len(p)]
            self._forced_keys[table] = (
                pc.unique(pa.concat_arrays([p.cast(parts[0].type) for p in parts])) if parts else None
            )
        return self._forced_keys[table]

    # -- selection ----------------------------------------------------------------------
    def select(self, table: str, clean: pa.RecordBatch) -> pa.RecordBatch:
        """Rows of an anonymized batch to write now (capped/stratified tables hold theirs
        until finish())."""
        cfg = self.tables[table]
        own_keys = clean.column(cfg.primary_key) if cfg.primary_key else _row_keys(clean)
        h = self._hash(table, own_keys)
        parent_in: dict[int, pa.Array] = {}  # index in cfg.foreign_keys -> parent is in
        for i, fk in enumerate(cfg.foreign_keys):
            if fk.parent_table == table or fk.column not in clean.schema.names or fk.sampling == "pull":
                continue  # self-references: the table's own keyed draw decides; pull: the parent follows us
            keys = self.parent_keys(fk.parent_table, fk.parent_column)
            if keys is not None:
                col = clean.column(fk.column)
                parent_in[i] = pc.fill_null(pc.is_in(col, value_set=keys.cast(col.type)), False)
        required = [i for i in parent_in if cfg.foreign_keys[i].on_missing_parent == "drop"]
        if required:
            mask = pa.array(np.ones(clean.num_rows, bool))
            for i in required:
                mask = pc.and_(mask, parent_in[i])
        else:
            mask = pa.array((h.astype(np.float64) / _SCALE) < self._fraction(table))
            for inside in parent_in.values():
                mask = pc.or_(mask, inside)
        forced = self._forced(table)
        forced_mask = (
            pc.fill_null(pc.is_in(own_keys, value_set=forced.cast(own_keys.type)), False)
            if forced is not None and cfg.primary_key
            else pa.array(np.zeros(clean.num_rows, bool))
        )
        mask = pc.or_(mask, forced_mask)
        for i, inside in parent_in.items():
            fk = cfg.foreign_keys[i]
            if fk.on_missing_parent == "null":
                col = clean.column(fk.column)
                idx = clean.schema.get_field_index(fk.column)
                clean = clean.set_column(
                    idx, clean.schema.field(idx), pc.if_else(inside, col, pa.nulls(len(col), col.type))
                )
        if self._holds(table):
            self._hold(table, clean, h, mask, forced_mask)
            return clean.slice(0, 0)
        out = clean.filter(mask)
        self._record(table, out)
        return out

    def _hold(self, table, clean, h, mask, forced_mask) -> None:
        """Keep candidates with their hash; prune to what a final selection can still use."""
        cfg = self.tables[table]
        strat = cfg.sample.stratify_by
        tagged = clean.append_column(_HASH, pa.array(h))
        tagged = tagged.append_column("__in", mask).append_column("__forced", forced_mask)
        if strat is None:
            tagged = tagged.filter(mask)
        held = self._held.setdefault(table, [])
        held.append(tagged)
        if sum(b.num_rows for b in held) > 4 * (self._cap(table) or 0) + 100_000:
            rows = _concat(held)
            keep, order = self._final_selection(table, rows)
            self._held[table] = [rows.filter(pa.array(keep | self._stratum_reserve(table, rows, order)))]

    def _final_selection(self, table: str, rows: pa.RecordBatch) -> tuple[np.ndarray, np.ndarray]:
        """In-fraction rows with the smallest hashes up to the cap, forced rows, then per stratum
        the smallest-hash rows until it has min_per_stratum."""
        cfg = self.tables[table]
        h = rows.column(_HASH).to_numpy()
        order = np.argsort(h, kind="stable")
        inside = rows.column("__in").to_numpy(zero_copy_only=False)
        keep = np.zeros(rows.num_rows, bool)
        chosen = order[inside[order]]
        cap = self._cap(table)
        keep[chosen[:cap] if cap is not None else chosen] = True
        keep |= rows.column("__forced").to_numpy(zero_copy_only=False)
        if cfg.sample.stratify_by is not None:
            k = cfg.sample.min_per_stratum
            values = rows.column(cfg.sample.stratify_by).to_pylist()
            counts: dict = {}
            for i in np.flatnonzero(keep):
                counts[values[i]] = counts.get(values[i], 0) + 1
            for i in order:  # smallest hashes first: the floor is stable night to night
                if not keep[i] and counts.get(values[i], 0) < k:
                    keep[i] = True
                    counts[values[i]] = counts.get(values[i], 0) + 1
        return keep, order

    def _stratum_reserve(self, table: str, rows: pa.RecordBatch, order: np.ndarray) -> np.ndarray:
        """Per stratum, the k smallest-hash rows: all a later top-up can ever need."""
        strat = self.tables[table].sample.stratify_by
        reserve = np.zeros(rows.num_rows, bool)
        if strat is None:
            return reserve
        k = self.tables[table].sample.min_per_stratum
        values = rows.column(strat).to_pylist()
        seen: dict = {}
        for i in order:
            if seen.get(values[i], 0) < k:
                reserve[i] = True
                seen[values[i]] = seen.get(values[i], 0) + 1
        return reserve

    def finish(self, table: str) -> pa.RecordBatch | None:
        """The held rows of a capped or stratified table, once its last batch was seen."""
        held = self._held.pop(table, None)
        self._kept.setdefault(table, [])
        if not held:
            return None
        rows = _concat(held)
        keep, _ = self._final_selection(table, rows)
        out = _close_self_references(
            table, self.tables[table], rows.filter(pa.array(keep)).drop_columns([_HASH, "__in", "__forced"])
        )
        self._record(table, out)
        return out

    def _record(self, table: str, out: pa.RecordBatch) -> None:
        cfg = self.tables[table]
        kept = self._kept.setdefault(table, [])
        if cfg.primary_key:
            kept.append(out.column(cfg.primary_key))
        for fk in cfg.foreign_keys:
            if fk.sampling == "pull" and fk.column in out.schema.names:
                self._required.setdefault(fk.parent_table, []).append(out.column(fk.column).drop_null())


def _close_self_references(table: str, cfg: TableConfig, rows: pa.RecordBatch) -> pa.RecordBatch:
    """A row whose self-reference (manager_id -> employee_id) points outside the sample is
    dropped, repeatedly until none is left, or keeps its row with the key nulled."""
    for fk in cfg.foreign_keys:
        if fk.parent_table != table or fk.column not in rows.schema.names:
            continue
        while True:
            col = rows.column(fk.column)
            inside = pc.or_(pc.is_null(col), pc.is_in(col, value_set=rows.column(fk.parent_column)))
            if pc.all(inside).as_py() is not False:
                break
            if fk.on_missing_parent == "null":
                i = rows.schema.get_field_index(fk.column)
                rows = rows.set_column(
                    i, rows.schema.field(i), pc.if_else(inside, col, pa.nulls(len(col), col.type))
                )
                break
            rows = rows.filter(inside)
    return rows


def key_anonymizer(keyring: Keyring, tables: dict[str, TableConfig]) -> Callable[[str, pa.Array], pa.Array]:
    """Raw primary key values (always-include lists in the config) -> their anonymized form."""
    from datarefresh.anonymize.engine import apply_column
    from datarefresh.anonymize.operators import OpContext

    def anonymize(table: str, raw: pa.Array) -> pa.Array:
        pk = tables[table].primary_key
        policy = tables[table].columns.get(pk) if pk else None
        return raw if policy is None else apply_column(raw, policy, OpContext(keyring))

    return anonymize


def _concat(batches: list[pa.RecordBatch]) -> pa.RecordBatch:
    return pa.Table.from_batches(batches).combine_chunks().to_batches()[0] if batches else None


def _row_keys(batch: pa.RecordBatch) -> pa.Array:
    """A stable key for tables without a primary key: all values joined."""
    cols = [pc.fill_null(pc.cast(c, pa.string()), "\x00") for c in batch.columns]
    return pc.binary_join_element_wise(*cols, "\x1f") if len(cols) > 1 else cols[0]
