"""Apply a table's column policies to record batches.

`TableTransformer` checks the policy against the data's schema once (fail closed:
unknown column, missing column, changed type, an action that cannot apply), then
transforms batch after batch. Value functions run on the distinct values of each
column chunk only (dictionary encoding), which is where the speed comes from.
"""

from __future__ import annotations


import pyarrow as pa
import pyarrow.compute as pc

from datarefresh.anonymize import nested
from datarefresh.anonymize.keyed import Keyring
from datarefresh.anonymize.operators import OpContext, Operator, OperatorError, get_operator
from datarefresh.config import ColumnPolicy, TableConfig
from datarefresh.errors import ConfigError, PolicyError


def apply_column(
    values: pa.Array, policy: ColumnPolicy, ctx: OpContext, *, where: str = "", dedupe: bool = True
) -> pa.Array:
    """Transform one column (or nested leaf) according to its policy.

    With dedupe, value functions run on the distinct values only; callers turn it off for
    columns known to be (nearly) all distinct, where encoding would cost more than it saves.
    """
    op = get_operator(policy.action)
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    t = values.type
    if op.identity:
        return values
    if not op.takes_lists and (pa.types.is_list(t) or pa.types.is_large_list(t)):
        # a list of scalars: transform the flattened values, keep the list structure
        inner = apply_column(values.flatten(), policy, ctx, where=where)
        offsets = values.offsets
        if values.offset:
            offsets = pc.subtract(offsets, offsets[0])
        cls = pa.ListArray if pa.types.is_list(t) else pa.LargeListArray
        return cls.from_arrays(offsets, inner, mask=pc.is_null(values) if values.null_count else None)
    if pa.types.is_dictionary(t):
        out_dict = apply_column(values.dictionary, policy, ctx, where=where)
        if (
            out_dict.null_count
        ):  # parquet cannot write a null inside a dictionary: re-encode, nulls in the indices
            return pc.dictionary_encode(out_dict.take(values.indices)).cast(t)
        return pa.DictionaryArray.from_arrays(values.indices, out_dict)
    op.validate(policy, t)
    original = values
    blank = _blanks(values, policy, op)
    if blank is not None:  # operators never see them: they keep nulls, and blanks come back below
        values = pc.if_else(blank, pa.nulls(len(values), values.type), values)
    if dedupe and op.value_function and len(values) > 1:
        encoded = pc.dictionary_encode(values)
        ctx.stats.setdefault("distinct_share", {})[where] = len(encoded.dictionary) / len(values)
        if len(encoded.dictionary) < len(values):
            out = _operate(op, encoded.dictionary, policy, ctx)
            return _keep_blanks(original, out.take(encoded.indices), blank)
    return _keep_blanks(original, _operate(op, values, policy, ctx), blank)


def _operate(op: Operator, values: pa.Array, policy: ColumnPolicy, ctx: OpContext) -> pa.Array:
    if op.nested:  # JSON documents and structs: walked leaf by leaf, each leaf through apply_column
        out = nested.WALKERS[op.nested](values, policy, ctx, apply_column)
        return out if out.type == values.type else out.cast(values.type)
    return op.operate(values, policy, ctx)


# Empty stays empty: an empty or whitespace-only text is no value to hide, and a fake in its place
# (an e-mail where prod had none) is silently wrong data that the null/empty-rate checks can't see.
# Nulls stay null in every operator already. Here, once, for every operator and nested leaf;
# `params.blank: transform` on a column opts out, the `null` action nulls everything anyway.
BLANK_PARAM = "blank"


def _blanks(values: pa.Array, policy: ColumnPolicy, op: Operator) -> pa.Array | None:
    if not op.keeps_blanks or policy.params.get(BLANK_PARAM, "keep") != "keep":
        return None
    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)) or not len(values):
        return None
    mask = pc.fill_null(pc.equal(pc.utf8_trim_whitespace(values), ""), False)
    return mask if pc.any(mask).as_py() else None


def _keep_blanks(values: pa.Array, out: pa.Array, blank: pa.Array | None) -> pa.Array:
    if blank is None:
        return out
    if out.type != values.type:
        out = out.cast(values.type)
    return pc.if_else(blank, values, out)


class TableTransformer:
    def __init__(
        self,
        name: str,
        table: TableConfig,
        schema: pa.Schema,
        keyring: Keyring,
        *,
        unknown_columns: str = "fail",
        scrub=None,
    ):
        self.name, self.table, self.keyring = name, table, keyring
        self.stats: dict = {}
        self.scrub = scrub
        columns = table.columns
        for col in columns:
            if col not in schema.names:
                raise PolicyError(
                    "configured column is missing from the data (renamed or dropped in prod?)",
                    table=name,
                    column=col,
                )
        for q in table.quasi_identifiers:  # left out, it would go unprotected in dev without a word
            if q not in schema.names:
                raise ConfigError(
                    f"table {name}, column {q}: quasi-identifier is not a column of the data "
                    "(misspelt, renamed or dropped in prod?)",
                    key=f"tables.{name}.quasi_identifiers",
                )
        pk = table.primary_key
        if pk and pk in schema.names and pa.types.is_nested(schema.field(pk).type):
            raise PolicyError(
                f"a {schema.field(pk).type} column cannot be the primary key (a key is an integer "
                "or text column)",
                table=name,
                column=pk,
            )
        self.plan: list[tuple[pa.Field, ColumnPolicy]] = []
        for f in schema:
            policy = columns.get(f.name)
            if policy is None:
                if unknown_columns == "drop":
                    continue
                raise PolicyError(
                    "column is in the data but not in the policy; classify it (datarefresh plan) "
                    "or set unknown_columns: drop",
                    table=name,
                    column=f.name,
                )
            if policy.type and policy.type != str(f.type):
                raise PolicyError(
                    f"type changed: policy says {policy.type}, data has {f.type}", table=name, column=f.name
                )
            op = get_operator(policy.action)
            if op.drops:
                continue
            try:
                op.validate(policy, _leaf_type(f.type, policy))
            except OperatorError as exc:
                raise PolicyError(str(exc), table=name, column=f.name) from None
            self.plan.append((f, policy))
        self.schema = pa.schema([f for f, _ in self.plan])
        self._shift_by = {
            f.name: policy.params.get("by")
            for f, policy in self.plan
            if get_operator(policy.action).keyed_by_row
        }
        for col, by in self._shift_by.items():
            if by and by not in schema.names:
                raise PolicyError(f"shift_date params.by names unknown column {by!r}", table=name, column=col)

    def transform(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        out = []
        for f, policy in self.plan:
            ctx = OpContext(self.keyring, scrub=self.scrub, stats=self.stats)
            by = self._shift_by.get(f.name)
            if by:
                by_policy = self.table.columns.get(by)
                entity = by_policy.entity if by_policy and by_policy.entity else f"ROW:{by}"
                ctx.row_hash = self.keyring.hash_values("SHIFT/" + entity, batch.column(by))
            # after one batch we know whether deduplicating this column pays off
            dedupe = self.stats.get("distinct_share", {}).get(f.name, 0.0) < 0.8
            try:
                col = apply_column(batch.column(f.name), policy, ctx, where=f.name, dedupe=dedupe)
            except OperatorError as exc:
                raise PolicyError(str(exc), table=self.name, column=f.name) from None
            if col.type != f.type:
                col = col.cast(f.type)
            out.append(col)
        return pa.RecordBatch.from_arrays(out, schema=self.schema)


def _leaf_type(t: pa.DataType, policy: ColumnPolicy) -> pa.DataType:
    """Operators validate against the scalar type inside list/dictionary wrappers."""
    takes_lists = get_operator(policy.action).takes_lists
    while not takes_lists and (pa.types.is_list(t) or pa.types.is_large_list(t)):
        t = t.value_type
    if pa.types.is_dictionary(t):
        t = t.value_type
    return t
