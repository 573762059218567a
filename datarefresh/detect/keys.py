"""Keys discovered from values: primary keys by uniqueness, foreign keys by value inclusion.

Names help (`customer_id` -> `customers.customer_id`) but do not decide: `encounters.PATIENT`
holds UUIDs found in `patients.Id`, and that is what makes it a foreign key.

Memory stays bounded: each candidate column is summarised by a KMV sketch (the K smallest
distinct 64-bit hashes of its values, with their counts), its row and null counts, its
integer range and a few shape facts, however long the table. Sketches of two columns are
coordinated (same unkeyed hash), so the child's hashes below both thresholds are a uniform
sample of its distinct values and each of them must be in the parent's sketch if the child
is contained in the parent: the share found is the containment estimate.

A discovered foreign key takes the policy of the key it references (same action, entity and
params), so the join survives pseudonymization. Nothing here holds or returns a raw value
except the constant prefix of a text key (e.g. `CUST-`), which the hmac operator keeps.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from datarefresh.config import ColumnPolicy, Evidence, ForeignKey, TableConfig
from datarefresh.detect.classify import _singular as singular
from datarefresh.detect.classify import _tokens as tokens
from datarefresh.detect.classify import id_entity

SKETCH_SIZE = 4096
MIN_CONTAINMENT = 0.95  # share of sampled child values found in the parent key
MIN_DISTINCT_BY_VALUE = 20  # a child with fewer distinct values needs name evidence
MIN_COVERAGE_DENSE = 0.5  # dense int parent, no name evidence: child must reference this share of it
MIN_SPAN_DENSE = (
    0.8  # ... and its values must spread over this share of the parent's range (not CVVs in 1..N)
)
_KEY_SUFFIXES = ("id", "key", "fk", "ref", "uuid", "guid", "pk")
_GENERIC = re.compile(r"^(?:col|column|attr|field|var|c|f|v|x)_?\d+$")
_PREFIX = re.compile(r"^[A-Za-z]+[-_]")
_UUID = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
# Policies whose entity says the column holds personal data rather than an identifier.
_IDENTIFIER_ENTITIES = {None, "UUID", "ID", "UNKNOWN_TEXT", "NUMBER"}


def _kind(typ: pa.DataType) -> str | None:
    if pa.types.is_dictionary(typ):
        typ = typ.value_type
    if pa.types.is_integer(typ):
        return "int"
    if pa.types.is_string(typ) or pa.types.is_large_string(typ):
        return "text"
    return None


@dataclass
class ColumnProfile:
    """Bounded summary of one column's values (no raw value except a constant key prefix)."""

    kind: str
    rows: int = 0  # non-null values seen
    nulls: int = 0
    hashes: np.ndarray = field(default_factory=lambda: np.empty(0, np.uint64))  # sorted, distinct, <= K
    counts: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    duplicate_seen: bool = False
    lo: int | None = None
    hi: int | None = None
    probed: int = 0
    uuids: int = 0
    spaced: int = 0
    long: int = 0
    prefixes: set = field(default_factory=set)  # distinct key prefixes seen (capped at 2; None = no prefix)

    def add(self, values: pa.Array) -> None:
        if pa.types.is_dictionary(values.type):
            values = values.cast(values.type.value_type)
        self.nulls += values.null_count
        values = values.drop_null()
        if not len(values):
            return
        self.rows += len(values)
        if self.kind == "int":
            ints = values.cast(pa.int64()).to_numpy(zero_copy_only=False)
            lo, hi = int(ints.min()), int(ints.max())
            self.lo = lo if self.lo is None else min(self.lo, lo)
            self.hi = hi if self.hi is None else max(self.hi, hi)
            h = pd.util.hash_array(ints)
        else:
            values = values.cast(pa.string())
            self.probed += len(values)
            self.uuids += pc.sum(pc.match_substring_regex(values, _UUID)).as_py() or 0
            self.spaced += pc.sum(pc.match_substring(values, " ")).as_py() or 0
            self.long += pc.sum(pc.greater(pc.utf8_length(values), 64)).as_py() or 0
            if len(self.prefixes) < 2:
                tagged = pc.match_substring_regex(values, _PREFIX.pattern)
                n_tagged = pc.sum(tagged).as_py() or 0
                if n_tagged < len(values):
                    self.prefixes.add(None)
                if n_tagged:
                    found = pc.extract_regex(values.filter(tagged), r"^(?P<p>[A-Za-z]+[-_])").field("p")
                    self.prefixes |= set(pc.unique(found).to_pylist())
            obj = values.to_numpy(zero_copy_only=False).astype(object)
            h = pd.util.hash_array(obj, categorize=False)
        batch_distinct, batch_counts = np.unique(h, return_counts=True)
        if len(batch_distinct) < len(h):
            self.duplicate_seen = True
        thr = self.threshold
        keep = batch_distinct <= thr
        merged = np.concatenate([self.hashes, batch_distinct[keep]])
        weights = np.concatenate([self.counts, batch_counts[keep]])
        uniq, inverse = np.unique(merged, return_inverse=True)
        counts = np.bincount(inverse, weights=weights).astype(np.int64)
        if (counts > 1).any():
            self.duplicate_seen = True
        self.hashes, self.counts = uniq[:SKETCH_SIZE], counts[:SKETCH_SIZE]

    @property
    def full(self) -> bool:
        return len(self.hashes) >= SKETCH_SIZE

    @property
    def threshold(self) -> np.uint64:
        """Largest hash the sketch holds all values below (everything while it is not full)."""
        return self.hashes[-1] if self.full else np.uint64(2**64 - 1)

    @property
    def distinct(self) -> float:
        if not self.full:
            return float(len(self.hashes))
        return (SKETCH_SIZE - 1) / (float(self.hashes[-1]) / 2.0**64)

    @property
    def unique(self) -> bool:
        return self.rows > 0 and not self.duplicate_seen and self.distinct >= 0.9 * self.rows

    @property
    def uuid_share(self) -> float:
        return self.uuids / self.probed if self.probed else 0.0

    @property
    def constant_prefix(self) -> str | None:
        """The type prefix every value shares ('CUST-'), or None: a prefix that varies
        (`given_surname` values) is data, not a type tag."""
        if len(self.prefixes) == 1:
            (p,) = self.prefixes
            return p
        return None

    @property
    def dense(self) -> bool:
        """Integers filling most of their range (1..N ids): inclusion in such a range is weak evidence."""
        if self.kind != "int" or self.lo is None:
            return False
        return self.distinct >= 0.5 * (self.hi - self.lo + 1)

    def keyable(self) -> bool:
        if self.kind == "int":
            return True
        return self.probed > 0 and self.spaced / self.probed < 0.05 and self.long / self.probed < 0.05


def key_candidates(schema: pa.Schema, columns: dict[str, ColumnPolicy]) -> list[str]:
    """Columns worth profiling: integers and short text that is not JSON, free text or a struct."""
    out = []
    for f in schema:
        p = columns.get(f.name)
        if _kind(f.type) is None or (
            p and (p.action in ("json", "struct", "drop") or p.entity == "FREE_TEXT")
        ):
            continue
        out.append(f.name)
    return out


def profile_batches(
    schema: pa.Schema, batches: Iterable[pa.RecordBatch], columns: list[str]
) -> dict[str, ColumnProfile]:
    """One streaming pass over a table's batches, sketching only `columns` (those that can be keys: a
    list, struct or map column, even one named `id` or configured as the key, is never a candidate)."""
    kinds = {c: _kind(schema.field(c).type) for c in columns}
    profiles = {c: ColumnProfile(k) for c, k in kinds.items() if k is not None}
    for batch in batches:
        for c, prof in profiles.items():
            prof.add(batch.column(c))
    return profiles


def profile_table(table: pa.Table, columns: dict[str, ColumnPolicy]) -> dict[str, ColumnProfile]:
    return profile_batches(table.schema, table.to_batches(), key_candidates(table.schema, columns))


def _stem(column: str) -> str:
    """'customer_id' / 'PATIENTID' / 'PatientId' / 'fk_patient' -> the thing referenced."""
    parts = [p for p in tokens(column).split("_") if p]
    while parts and parts[-1] in _KEY_SUFFIXES:
        parts.pop()
    while parts and parts[0] in _KEY_SUFFIXES:
        parts.pop(0)
    stem = "_".join(parts)
    for suffix in ("id", "key", "uuid"):
        if len(parts) == 1 and stem.endswith(suffix) and len(stem) > len(suffix) + 2:
            stem = stem[: -len(suffix)]
            break
    return stem.replace("_", "")


def name_similarity(child_column: str, parent_table: str, parent_column: str) -> float:
    """1.0: the child names the parent (customer_id -> customers, PATIENT -> patients.Id);
    0.7: it names it with a qualifier (SUPERVISINGPROVIDERID -> providers); else 0."""
    stem = _stem(child_column)
    if len(stem) < 3:
        return 0.0
    table_tokens = tokens(parent_table).split("_")
    names = {singular("".join(table_tokens)), singular(table_tokens[-1]), "".join(table_tokens)}
    if not _GENERIC.match(tokens(parent_column)):  # col_1 in two tables says nothing
        names.add(_stem(parent_column))
    names = {n for n in names if len(n) >= 3}
    if stem in names:
        return 1.0
    if any(stem.endswith(n) or stem.startswith(n) for n in names):
        return 0.7
    return 0.0


def _pk_score(table: str, column: str, position: int, prof: ColumnProfile) -> float:
    """3: named like the table's id (id, Id, customer_id, PATIENTID); 2: named like some id
    (item_id, order_no; not zip_code or phone_number); 1.5: UUID values; +1 for the first column;
    0: not a key."""
    flat = tokens(column).replace("_", "")
    own = singular(tokens(table)).replace("_", "")
    score = 0.0
    if flat in ("id", "uuid", "key", "guid") or flat in (own + s for s in _KEY_SUFFIXES):
        score = 3.0
    elif _stem(column) != flat or tokens(column).endswith(("_no", "_num")):
        score = 2.0
    if prof.uuid_share >= 0.9:
        score = max(score, 1.5)
    if score and position == 0:
        score += 1.0
    elif position == 0:
        score = 1.0  # a unique leading column (col_1, Number) is the usual surrogate key
    return score


def choose_primary_key(
    table: str, order: list[str], profiles: dict[str, ColumnProfile], columns: dict[str, ColumnPolicy]
) -> tuple[str, Evidence] | None:
    """The unique, non-null int/text column that looks most like an identifier."""
    best: tuple[float, int, str] | None = None
    for i, col in enumerate(order):
        prof = profiles.get(col)
        if prof is None or prof.nulls or not prof.unique or prof.rows < 2 or not prof.keyable():
            continue
        score = _pk_score(table, col, i, prof)
        pol = columns.get(col)
        if score <= 0 or (pol is not None and not _identifier_policy(pol)):
            continue  # an e-mail, a phone or a national id can be unique: it is personal data, not the key
        if best is None or score > best[0]:
            best = (score, i, col)
    if best is None:
        return None
    prof = profiles[best[2]]
    return best[2], Evidence(
        detector="values:unique",
        match_share=round(min(prof.distinct / prof.rows, 1.0), 3),
        score=best[0],
        values_sampled=prof.rows,
    )


def _identifier_policy(pol: ColumnPolicy) -> bool:
    """An identifier rather than personal data: an e-mail or a phone may be unique, it is not a key."""
    entity = pol.entity or ""
    if entity.startswith("ID") or entity == "UUID":
        return True
    return pol.action in ("keep", "hmac", "scrub_text") and pol.entity in _IDENTIFIER_ENTITIES


def key_policy(
    table: str, column: str, pol: ColumnPolicy | None, prof: ColumnProfile, typ: str | None
) -> ColumnPolicy:
    """A key is pseudonymized with hmac under its own entity; a constant prefix ('CUST-') is kept."""
    params = dict(pol.params) if pol and pol.action == "hmac" else {}
    if prof.kind == "text" and prof.constant_prefix:
        params["prefix"] = prof.constant_prefix
    else:
        params.pop("prefix", None)
    entity = (
        pol.entity
        if pol and pol.action == "hmac" and (pol.entity or "").startswith("ID")
        else id_entity(table, column)
    )
    evidence = pol.evidence if pol and pol.action == "hmac" else Evidence(detector="key")
    return ColumnPolicy(
        action="hmac",
        entity=entity,
        type=typ or (pol.type if pol else None),
        params=params,
        evidence=evidence,
    )


@dataclass(frozen=True)
class Candidate:
    parent: str
    parent_column: str
    containment: float
    sampled: int
    similarity: float
    coverage: float


def containment(child: ColumnProfile, parent: ColumnProfile) -> tuple[float, int]:
    """Estimated share of the child's distinct values found in the parent, and how many were tested."""
    tau = min(child.threshold, parent.threshold)
    probe = child.hashes[child.hashes <= tau]
    if not len(probe):
        return 0.0, 0
    found = np.isin(probe, parent.hashes, assume_unique=True).sum()
    return float(found) / len(probe), len(probe)


def _candidate_ok(c: Candidate, child: ColumnProfile, parent: ColumnProfile, child_is_pk: bool) -> bool:
    if c.containment < MIN_CONTAINMENT or child.kind != parent.kind:
        return False
    if c.similarity > 0:
        return child.distinct >= 3 or c.similarity == 1.0
    if child_is_pk or child.distinct < MIN_DISTINCT_BY_VALUE:
        return False  # tiny domains (flags, small ints) and a table's own key are contained by chance
    if parent.dense:  # 1..N: any small integer column fits; only referencing most of the range is evidence
        span = (child.hi - child.lo + 1) / max(parent.hi - parent.lo + 1, 1)
        return c.coverage >= MIN_COVERAGE_DENSE and span >= MIN_SPAN_DENSE
    return True


def discover_foreign_keys(
    tables: dict[str, TableConfig],
    profiles: dict[str, dict[str, ColumnProfile]],
    children: set[str] | None = None,
) -> dict[str, list[ForeignKey]]:
    """For every profiled column (of the `children` tables), the other table's primary key that
    contains its values, if one does unambiguously."""
    parents = {
        t: (cfg.primary_key, profiles[t][cfg.primary_key])
        for t, cfg in tables.items()
        if cfg.primary_key and t in profiles and cfg.primary_key in profiles[t]
    }
    found: dict[str, list[ForeignKey]] = {}
    for child_table, cols in profiles.items():
        if children is not None and child_table not in children:
            continue
        pk = tables[child_table].primary_key
        for col, prof in cols.items():
            if prof.rows == 0 or not prof.keyable() or tokens(col).startswith(("is_", "has_")):
                continue
            candidates = []
            for ptable, (pcol, pprof) in parents.items():
                if ptable == child_table or pprof.kind != prof.kind:
                    continue
                share, sampled = containment(prof, pprof)
                c = Candidate(
                    ptable,
                    pcol,
                    share,
                    sampled,
                    name_similarity(col, ptable, pcol),
                    min(prof.distinct / max(pprof.distinct, 1.0), 1.0),
                )
                if _candidate_ok(c, prof, pprof, col == pk):
                    candidates.append(c)
            if not candidates:
                continue
            candidates.sort(key=lambda c: (-c.similarity, -c.containment, c.parent))
            if (
                len(candidates) > 1
                and candidates[0].similarity == candidates[1].similarity
                and candidates[0].containment == candidates[1].containment
            ):
                continue  # ambiguous: two parents explain the values equally well, and no name decides
            best = candidates[0]
            detector = "values:inclusion" + ("+name" if best.similarity else "")
            found.setdefault(child_table, []).append(
                ForeignKey(
                    column=col,
                    references=f"{best.parent}.{best.parent_column}",
                    evidence=Evidence(
                        detector=detector,
                        match_share=round(best.containment, 3),
                        score=best.similarity,
                        values_sampled=best.sampled,
                    ),
                )
            )
    return found


def discover_keys(
    tables: dict[str, TableConfig],
    profiles: dict[str, dict[str, ColumnProfile]],
    schemas: dict[str, pa.Schema],
    *,
    classified: set[str],
    foreign_keys: bool = True,
) -> None:
    """Primary keys, key policies and foreign keys for the `classified` tables (a configured
    table keeps what its config says, but its primary key can be referenced); then align FKs."""
    for name in sorted(classified):
        cfg, prof = tables[name], profiles.get(name, {})
        if not cfg.primary_key:
            chosen = choose_primary_key(name, list(schemas[name].names), prof, cfg.columns)
            if chosen:
                cfg.primary_key, cfg.primary_key_evidence = chosen
        pk = cfg.primary_key
        if pk and pk in prof and pk in cfg.columns:
            cfg.columns[pk] = key_policy(name, pk, cfg.columns[pk], prof[pk], cfg.columns[pk].type)
        for col, p in list(cfg.columns.items()):  # other text tokens: keep a prefix only if it is constant
            if p.action == "hmac" and col in prof and col != pk and prof[col].kind == "text":
                params = {k: v for k, v in p.params.items() if k != "prefix"}
                if prof[col].constant_prefix:
                    params["prefix"] = prof[col].constant_prefix
                cfg.columns[col] = p.model_copy(update={"params": params})
    if foreign_keys:
        for child, fks in discover_foreign_keys(tables, profiles, classified).items():
            have = {fk.column for fk in tables[child].foreign_keys}
            tables[child].foreign_keys.extend(fk for fk in fks if fk.column not in have)
    for name in classified:  # a key is pseudonymized, not generalized: it is no quasi-identifier
        cfg = tables[name]
        key_columns = {cfg.primary_key} | {fk.column for fk in cfg.foreign_keys}
        if key_columns & set(cfg.quasi_identifiers):
            cfg.quasi_identifiers = [q for q in cfg.quasi_identifiers if q not in key_columns]
            cfg.quasi_identifier_evidence = {
                q: e for q, e in cfg.quasi_identifier_evidence.items() if q not in key_columns
            }
    align_foreign_keys(tables)


def align_foreign_keys(tables: dict[str, TableConfig]) -> None:
    """A foreign key column is transformed exactly like the key it references, so joins survive."""
    for t in tables.values():
        for fk in t.foreign_keys:
            parent = tables.get(fk.parent_table)
            if not parent or fk.parent_column not in parent.columns or fk.column not in t.columns:
                continue
            p, c = parent.columns[fk.parent_column], t.columns[fk.column]
            evidence = c.evidence
            if fk.evidence is not None:
                evidence = Evidence(
                    detector=f"foreign_key:{fk.references}",
                    match_share=fk.evidence.match_share,
                    score=fk.evidence.score,
                    values_sampled=fk.evidence.values_sampled,
                )
            t.columns[fk.column] = c.model_copy(
                update={"action": p.action, "entity": p.entity, "params": p.params, "evidence": evidence}
            )


def describe(tables: dict[str, TableConfig]) -> list[str]:
    """One line per discovered key and its evidence, for a reviewer (no values)."""
    lines = []
    for name, t in tables.items():
        if t.primary_key and t.primary_key_evidence:
            ev = t.primary_key_evidence
            lines.append(f"key {name}.{t.primary_key}: unique and non-null over {ev.values_sampled:,} rows")
        for fk in t.foreign_keys:
            if fk.evidence:
                ev = fk.evidence
                why = "name and values" if ev.score else "values only"
                lines.append(
                    f"foreign key {name}.{fk.column} -> {fk.references}: {ev.match_share:.1%} of "
                    f"{ev.values_sampled:,} sampled values found in the parent key ({why})"
                )
    return lines
