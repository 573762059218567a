"""The operator registry: one small class per action, `validate()` before `operate()`.

An operator receives an Arrow array (usually the distinct values of a column chunk,
see engine.py) and returns an array of the same length. `validate` rejects a policy
that cannot apply to the column's Arrow type, so a bad config fails before any row
is read.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Callable, ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from datarefresh.anonymize import fakes
from datarefresh.anonymize.keyed import Keyring, permute_ints
from datarefresh.config import ColumnPolicy


class OperatorError(ValueError):
    """A policy that cannot apply to a column (the engine adds table and column)."""


@dataclass
class OpContext:
    keyring: Keyring
    # shift_date: keyed hash of the row's `by` value, one per row (None: hash the value itself)
    row_hash: np.ndarray | None = None
    # scrub_text and json fall back to this text scrubber (injected so tests can count calls)
    scrub: Callable[[pa.Array, "OpContext"], pa.Array] | None = None
    stats: dict = field(default_factory=dict)


def is_text(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)


def is_temporal(t: pa.DataType) -> bool:
    return pa.types.is_date(t) or pa.types.is_timestamp(t)


class Operator:
    name: ClassVar[str]
    # True: a function of the value alone, so the engine may run it on distinct values only.
    value_function: ClassVar[bool] = True
    text_only: ClassVar[bool] = False  # applies to string columns alone

    def validate(self, policy: ColumnPolicy, typ: pa.DataType) -> None:
        """Raise OperatorError if this policy cannot apply to a column of type `typ`."""
        if self.text_only and not is_text(typ):
            raise OperatorError(f"{self.name} applies to text columns, not {typ}")

    def operate(self, values: pa.Array, policy: ColumnPolicy, ctx: OpContext) -> pa.Array:
        raise NotImplementedError


class Keep(Operator):
    name = "keep"

    def operate(self, values, policy, ctx):
        return values


class Null(Operator):
    name = "null"

    def operate(self, values, policy, ctx):
        return pa.nulls(len(values), values.type)


class Redact(Operator):
    name = "redact"

    def operate(self, values, policy, ctx):
        if not is_text(values.type):
            return pa.nulls(len(values), values.type)
        text = policy.params.get("text", "[REDACTED]")
        return pc.if_else(pc.is_valid(values), pa.scalar(text, values.type), pa.nulls(len(values), values.type))


class Mask(Operator):
    name = "mask"
    text_only = True

    def operate(self, values, policy, ctx):
        out = fakes.mask_chars(values, int(policy.params.get("keep_last", 4)), str(policy.params.get("char", "*")))
        return out.cast(values.type)


class Hmac(Operator):
    """A keyed token: integers map through a keyed permutation (unique, same type), text to
    a 64-bit hex token that keeps a type prefix such as 'CUST-'."""

    name = "hmac"

    def validate(self, policy, typ):
        if not (pa.types.is_integer(typ) or is_text(typ)):
            raise OperatorError(f"hmac applies to integer or text columns, not {typ}")

    def operate(self, values, policy, ctx):
        if pa.types.is_integer(values.type):
            return _permute(values, policy.entity or "ID", ctx)
        h = ctx.keyring.hash_values(policy.entity or "ID", values)
        return fakes.fake("ID", values.cast(pa.string()), h).cast(values.type)


def _permute(values: pa.Array, entity: str, ctx: OpContext) -> pa.Array:
    valid = pc.is_valid(values)
    ints = pc.fill_null(values, 0).to_numpy(zero_copy_only=False).astype(np.int64)
    out = permute_ints(ctx.keyring, entity, ints)
    info = np.iinfo(values.type.to_pandas_dtype())
    if values.null_count:
        out = np.where(valid.to_numpy(zero_copy_only=False), out, 0)
    if out.min(initial=0) < info.min or out.max(initial=0) > info.max:
        raise OperatorError(f"pseudonymized ids do not fit {values.type}; store them as int64")
    return pc.if_else(valid, pa.array(out.astype(info.dtype)), pa.nulls(len(values), values.type))


class Fake(Operator):
    name = "fake"

    def validate(self, policy, typ):
        if not (is_text(typ) or pa.types.is_integer(typ)):
            raise OperatorError(f"fake applies to text or integer columns, not {typ}"
                                + ("; use shift_date or generalize for dates" if is_temporal(typ) else ""))

    def operate(self, values, policy, ctx):
        entity = policy.entity or "ID"
        if pa.types.is_integer(values.type):
            if entity == "ID" or entity.startswith("ID:"):
                return _permute(values, entity, ctx)
            # numbers stored as integers (phone, national id): scramble digits, keep the width
            as_text = pc.cast(values, pa.string())
            out = fakes.scramble_digits(as_text, ctx.keyring.hash_values(entity, as_text))
            return pc.cast(out, values.type)
        text = values.cast(pa.string())
        return fakes.fake(entity, text, ctx.keyring.hash_values(entity, text)).cast(values.type)


class ShiftDate(Operator):
    """Move dates by a keyed offset of 1..max_days days, one offset per entity: all dates
    of the same `by` value (e.g. customer_id) move together, so intervals survive."""

    name = "shift_date"
    value_function = False

    def validate(self, policy, typ):
        if not is_temporal(typ):
            raise OperatorError(f"shift_date applies to date or timestamp columns, not {typ}")

    def operate(self, values, policy, ctx):
        h = ctx.row_hash if ctx.row_hash is not None else ctx.keyring.hash_values("DATE_SHIFT", values)
        max_days = int(policy.params.get("max_days", 30))
        magnitude = (h % np.uint64(max_days)).astype(np.int64) + 1
        sign = np.where((h >> np.uint64(63)) == 1, -1, 1)
        days = magnitude * sign
        if pa.types.is_date32(values.type):
            raw = pc.cast(values, pa.int32()).to_numpy(zero_copy_only=False)
            return pa.array(raw + days, pa.int32(), mask=pc.is_null(values).to_numpy(zero_copy_only=False)).cast(values.type)
        unit = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}
        if pa.types.is_timestamp(values.type):
            step = 86400 * unit[values.type.unit]
            raw = pc.cast(values, pa.int64()).to_numpy(zero_copy_only=False)
            out = pa.array(raw + days * step, pa.int64(), mask=pc.is_null(values).to_numpy(zero_copy_only=False))
            return out.cast(values.type)
        return pc.add(values, pa.array(days * 86_400_000, pa.duration("ms"))).cast(values.type)  # date64


class Generalize(Operator):
    name = "generalize"

    def validate(self, policy, typ):
        to = policy.params.get("to")
        ok = {
            "zip3": is_text(typ) or pa.types.is_integer(typ),
            "year": is_temporal(typ) or pa.types.is_integer(typ),
            "month": is_temporal(typ),
            "decade": is_temporal(typ) or pa.types.is_integer(typ),
            "age_band": pa.types.is_integer(typ) or pa.types.is_floating(typ),
        }
        if not ok.get(to, False):
            raise OperatorError(f"generalize to {to!r} does not apply to {typ}")

    def operate(self, values, policy, ctx):
        to = policy.params["to"]
        t = values.type
        if to == "zip3":
            if pa.types.is_integer(t):
                return pc.multiply(pc.divide(values, pa.scalar(100, t)), pa.scalar(100, t))
            return fakes.zero_after(values, 3).cast(t)
        if to == "age_band":
            width = policy.params.get("width", 10)
            return pc.cast(pc.multiply(pc.floor(pc.divide(pc.cast(values, pa.float64()), width)), width), t)
        if pa.types.is_integer(t):  # a year stored as a number
            return values if to == "year" else pc.multiply(pc.divide(values, pa.scalar(10, t)), pa.scalar(10, t))
        unit = {"year": "year", "month": "month", "decade": "year"}[to]
        out = pc.floor_temporal(values, 1, unit)
        if to == "decade":
            years = pc.year(out)
            firsts = [None if y is None else dt.date(y - y % 10, 1, 1) for y in years.to_pylist()]
            out = pa.array(firsts, pa.date32()).cast(t)
        return out.cast(t)


class ScrubText(Operator):
    name = "scrub_text"
    text_only = True

    def operate(self, values, policy, ctx):
        from datarefresh.anonymize.text import scrub_texts

        return (ctx.scrub or scrub_texts)(values, ctx).cast(values.type)


class Json(Operator):
    name = "json"

    def validate(self, policy, typ):
        if not is_text(typ):
            raise OperatorError(f"json applies to text columns holding JSON, not {typ}")

    def operate(self, values, policy, ctx):
        from datarefresh.anonymize.nested import transform_json

        return transform_json(values, policy, ctx).cast(values.type)


class Struct(Operator):
    """Nested Arrow columns are handled field by field by the engine; see nested.py."""

    name = "struct"

    def validate(self, policy, typ):
        t = typ
        while pa.types.is_list(t) or pa.types.is_large_list(t):
            t = t.value_type
        if not pa.types.is_struct(t):
            raise OperatorError(f"struct applies to struct (or list of struct) columns, not {typ}")

    def operate(self, values, policy, ctx):
        from datarefresh.anonymize.nested import transform_struct

        return transform_struct(values, policy, ctx)


class Drop(Operator):
    """Handled by the engine: the column is left out of the output."""

    name = "drop"

    def operate(self, values, policy, ctx):  # pragma: no cover - never called
        raise AssertionError("drop is handled by the engine")


REGISTRY: dict[str, Operator] = {op.name: op() for op in
                                 (Keep, Null, Redact, Mask, Hmac, Fake, ShiftDate, Generalize, ScrubText, Json,
                                  Struct, Drop)}


def get_operator(name: str) -> Operator:
    try:
        return REGISTRY[name]
    except KeyError:
        raise OperatorError(f"unknown action {name!r}; known: {', '.join(sorted(REGISTRY))}") from None
