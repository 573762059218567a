"""The operator registry: one small class per action, `validate()` before `operate()`.

An operator receives an Arrow array (usually the distinct values of a column chunk,
see engine.py) and returns an array of the same length. `validate` rejects a policy
that cannot apply to the column's Arrow type, so a bad config fails before any row
is read.
"""

from __future__ import annotations

import decimal
from dataclasses import dataclass, field
from typing import Callable, ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from datarefresh.anonymize import fakes
from datarefresh.anonymize.keyed import Keyring, mix, permute_ints
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
    # How the engine treats the action, declared here so that it never tests an action's name:
    identity: ClassVar[bool] = False  # returns its input unchanged: no validation, no work (keep)
    drops: ClassVar[bool] = False  # the column (or JSON key) is left out of the output (drop)
    keeps_blanks: ClassVar[bool] = True  # empty texts come back as they were (not for null)
    takes_lists: ClassVar[bool] = False  # sees list columns whole; else the engine maps it over elements
    # "json" / "struct": the values are walked leaf by leaf (anonymize/nested.py), each leaf
    # through the engine's own apply_column; `operate` is then never called
    nested: ClassVar[str | None] = None
    # params.by names a column whose keyed hash the engine passes per row (ctx.row_hash)
    keyed_by_row: ClassVar[bool] = False

    def validate(self, policy: ColumnPolicy, typ: pa.DataType) -> None:
        """Raise OperatorError if this policy cannot apply to a column of type `typ`."""
        if self.text_only and not is_text(typ):
            raise OperatorError(f"{self.name} applies to text columns, not {typ}")

    def operate(self, values: pa.Array, policy: ColumnPolicy, ctx: OpContext) -> pa.Array:
        raise NotImplementedError

    def unique_by_construction(self, policy: ColumnPolicy, typ: pa.DataType) -> bool:
        """Distinct inputs always give distinct outputs (a primary key needs no uniqueness re-check)."""
        return False


class Keep(Operator):
    name = "keep"
    identity = True

    def operate(self, values, policy, ctx):
        return values

    def unique_by_construction(self, policy, typ):
        return True


class Null(Operator):
    name = "null"
    value_function = False  # every value becomes null: nothing to gain from distinct values
    keeps_blanks = False  # null means null, empty texts included

    def operate(self, values, policy, ctx):
        return pa.nulls(len(values), values.type)


class Redact(Operator):
    name = "redact"

    def operate(self, values, policy, ctx):
        if not is_text(values.type):
            return pa.nulls(len(values), values.type)
        text = policy.params.get("text", "[REDACTED]")
        return pc.if_else(
            pc.is_valid(values), pa.scalar(text, values.type), pa.nulls(len(values), values.type)
        )


class Mask(Operator):
    name = "mask"
    text_only = True

    def operate(self, values, policy, ctx):
        out = fakes.mask_chars(
            values, int(policy.params.get("keep_last", 4)), str(policy.params.get("char", "*"))
        )
        return out.cast(values.type)


class Hmac(Operator):
    """A keyed token: integers map through a keyed permutation (unique, same type), text to
    a 64-bit hex token that keeps a constant type prefix such as 'CUST-' (params.prefix)."""

    name = "hmac"

    def validate(self, policy, typ):
        if not (pa.types.is_integer(typ) or is_text(typ)):
            raise OperatorError(f"hmac applies to integer or text columns, not {typ}")
        if pa.types.is_integer(typ) and typ.bit_width < 32:  # pseudonyms live in [0, 2**31)
            raise OperatorError(f"hmac needs integer ids of 32 bits or more, not {typ}")

    def operate(self, values, policy, ctx):
        if pa.types.is_integer(values.type):
            return _permute(values, policy.entity or "ID", ctx)
        # a 64-bit token; `params.prefix` (set by `plan` only when every value of the key starts
        # with it, like 'CUST-') is kept, so a varying "prefix" (a given name) never survives
        h = ctx.keyring.hash_values(policy.entity or "ID", values)
        text = values.cast(pa.string())
        token = fakes.hex_tokens(h)
        prefix = policy.params.get("prefix")
        if prefix:
            starts = pc.fill_null(pc.starts_with(text, pattern=str(prefix)), False)
            token = pc.if_else(starts, pc.binary_join_element_wise(str(prefix), token, ""), token)
        return pc.if_else(pc.is_valid(text), token, pa.nulls(len(text), pa.string())).cast(values.type)

    def unique_by_construction(self, policy, typ):
        return pa.types.is_integer(typ)  # integer ids through the keyed permutation cannot collide


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
            raise OperatorError(
                f"fake applies to text or integer columns, not {typ}"
                + ("; use shift_date or generalize for dates" if is_temporal(typ) else "")
            )

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

    def unique_by_construction(self, policy, typ):
        return pa.types.is_integer(typ) and (policy.entity or "ID").startswith("ID")  # the keyed permutation


class ShiftDate(Operator):
    """Move dates and timestamps by a keyed offset of up to `max_days` days (not zero), at
    the column's precision: whole days for dates, any number of seconds (and sub-seconds, to
    the column's unit) for timestamps, so neither the time of day nor the weekday survives to
    be matched against a log. One offset per entity: all values of the same `by` value (e.g.
    customer_id) move together, so intervals survive; without `by`, each distinct value moves
    by its own offset.

    `jitter` (seconds for timestamps, days for dates) adds a keyed per-row offset within
    +-jitter on top, a function of the entity and the value (deterministic), which blurs the
    intervals an attacker could match. `keep_intervals: true` asks for exact intervals per
    entity: it needs `by` and refuses jitter. Residual risk: see README (date shifting).
    """

    name = "shift_date"
    value_function = False
    keyed_by_row = True
    _UNIT = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}

    def validate(self, policy, typ):
        if not is_temporal(typ):
            raise OperatorError(f"shift_date applies to date or timestamp columns, not {typ}")
        p = policy.params
        max_days, jitter = p.get("max_days", 30), p.get("jitter", 0)
        if isinstance(max_days, bool) or not isinstance(max_days, int) or max_days < 1:
            raise OperatorError(
                f"shift_date params.max_days must be a whole number of days >= 1, got {max_days!r}"
            )
        if isinstance(jitter, bool) or not isinstance(jitter, (int, float)) or jitter < 0:
            raise OperatorError(
                "shift_date params.jitter must be a number >= 0 (seconds for timestamps, days "
                f"for dates), got {jitter!r}"
            )
        if p.get("keep_intervals"):
            if not p.get("by"):
                raise OperatorError(
                    "shift_date keep_intervals needs params.by: the entity whose intervals to keep"
                )
            if jitter:
                raise OperatorError(
                    "shift_date keep_intervals keeps each entity's intervals exactly; "
                    "it cannot take params.jitter"
                )

    def operate(self, values, policy, ctx):
        h = ctx.row_hash if ctx.row_hash is not None else ctx.keyring.hash_values("DATE_SHIFT", values)
        max_days = int(policy.params.get("max_days", 30))
        jitter = policy.params.get("jitter", 0)
        sign = np.where((h >> np.uint64(63)) == 1, -1, 1)
        t = values.type
        per_day = 1 if not pa.types.is_timestamp(t) else 86_400 * self._UNIT[t.unit]
        # offsets in the column's own unit: days (dates) or the timestamp's unit
        offset = ((h % np.uint64(max_days * per_day)).astype(np.int64) + 1) * sign
        if jitter:
            bound = int(jitter * (self._UNIT[t.unit] if pa.types.is_timestamp(t) else 1))
            jh = mix(ctx.keyring.hash_values("DATE_JITTER", values) ^ h, 7)
            offset = offset + (jh % np.uint64(2 * bound + 1)).astype(np.int64) - bound
        mask = pc.is_null(values).to_numpy(zero_copy_only=False)
        if pa.types.is_date32(t):
            raw = pc.cast(values, pa.int32()).to_numpy(zero_copy_only=False)
            return pa.array(raw + offset, pa.int32(), mask=mask).cast(t)
        if pa.types.is_timestamp(t):
            raw = pc.cast(values, pa.int64()).to_numpy(zero_copy_only=False)
            return pa.array(raw + offset, pa.int64(), mask=mask).cast(t)
        return pc.add(values, pa.array(offset * 86_400_000, pa.duration("ms"))).cast(t)  # date64: whole days


class Generalize(Operator):
    """Coarsen a value: zip3, year, month, decade, age_band (width 10) or round (params.digits).

    Text columns are parsed where they can be (a birthday stored as '3/29/1982' becomes
    '1982', an age '34' becomes '30-39', a latitude '42.36' becomes '42.4'); a text value
    that does not parse becomes null rather than passing through."""

    name = "generalize"

    def validate(self, policy, typ):
        to = policy.params.get("to")
        number = pa.types.is_integer(typ) or pa.types.is_floating(typ) or pa.types.is_decimal(typ)
        ok = {
            "zip3": is_text(typ) or number,
            "year": is_temporal(typ) or pa.types.is_integer(typ) or is_text(typ),
            "month": is_temporal(typ) or is_text(typ),
            "decade": is_temporal(typ) or pa.types.is_integer(typ) or is_text(typ),
            "age_band": number or is_text(typ),
            "round": pa.types.is_floating(typ) or pa.types.is_decimal(typ) or is_text(typ),
        }
        if not ok.get(to, False):
            raise OperatorError(f"generalize to {to!r} does not apply to {typ}")

    def operate(self, values, policy, ctx):
        to = policy.params["to"]
        t = values.type
        if is_text(t) and to != "zip3":
            return _generalize_text(values.cast(pa.string()), to, policy.params).cast(t)
        if to == "zip3":
            if pa.types.is_integer(t):
                return pc.multiply(pc.divide(values, pa.scalar(100, t)), pa.scalar(100, t))
            if not is_text(t):  # a postcode stored as a float or decimal
                return _band(values, 100)
            return fakes.zero_after(values, 3).cast(t)
        if to == "age_band":
            width = int(policy.params.get("width", 10))
            return _band(values, width)
        if to == "round":
            digits = int(policy.params.get("digits", 1))
            if pa.types.is_decimal(t):
                return _decimal_map(values, lambda v: _round_decimal(v, digits, t))
            return _round_float(values, digits)
        if pa.types.is_integer(t):  # a year (1982) or a compact date (19820329) stored as a number
            v = (
                values.to_numpy(zero_copy_only=False)
                if not values.null_count
                else pc.fill_null(values, 0).to_numpy(zero_copy_only=False)
            )
            v = v.astype(np.int64)
            year = np.where((v >= 10000101) & (v <= 99991231), v // 10000, v)
            valid = (year >= 1000) & (year <= 9999) & pc.is_valid(values).to_numpy(zero_copy_only=False)
            if to == "decade":
                year = year - year % 10
            return pa.array(np.where(valid, year, 0), pa.int64(), mask=~valid).cast(t)
        unit = {"year": "year", "month": "month", "decade": "year"}[to]
        # multiples count from 1970, so 10 years floors to 1980, 1990...; zones are respected
        return pc.floor_temporal(values, 10 if to == "decade" else 1, unit).cast(t)


def _band(values: pa.Array, width: int) -> pa.Array:
    """Bands of `width` counted from zero, truncating toward zero (-15 -> -10, as integer
    division does), so a band never has a larger magnitude than its value and never overflows
    the column's type."""
    t = values.type
    if pa.types.is_integer(t):  # integer arithmetic: no precision lost through floats
        w = pa.scalar(width, t)
        return pc.multiply(pc.divide(values, w), w)
    if pa.types.is_decimal(t):  # exact: floats lose digits, and decimal kernels stop at 38
        return _decimal_map(values, lambda v: (v / width).to_integral_value(decimal.ROUND_DOWN) * width)
    return pc.cast(
        pc.multiply(pc.trunc(pc.divide(pc.cast(values, pa.float64()), float(width))), float(width)), t
    )


# Past 2**53 a double has no fractional digits to round, and rounding there can overflow
_EXACT_FLOAT = 2.0**53


def _round_float(values: pa.Array, digits: int) -> pa.Array:
    """Arrow's round, except where |value| >= 2**53 (or inf/nan), which is already as coarse
    as a double gets; Arrow raises 'overflow occurred during rounding' there."""
    values = pc.cast(values, pa.float64()) if not pa.types.is_floating(values.type) else values
    small = pc.fill_null(pc.less(pc.abs(values), pa.scalar(_EXACT_FLOAT, values.type)), False)
    safe = pc.if_else(small, values, pa.scalar(0, values.type))
    return pc.if_else(small, pc.round(safe, digits), values)


def _round_decimal(v: decimal.Decimal, digits: int, t: pa.DataType) -> decimal.Decimal:
    """Nearest at `digits`, or toward zero where the nearest needs more integer digits than
    the type has (99.99 as decimal(4,2) rounds to 99.9, not to an overflow). Arrow's own
    decimal round returns 0 in that case."""
    step = decimal.Decimal(1).scaleb(-digits)
    near = v.quantize(step, decimal.ROUND_HALF_EVEN)
    if near.adjusted() >= t.precision - t.scale:
        return v.quantize(step, decimal.ROUND_DOWN)
    return near


def _decimal_map(values: pa.Array, fn) -> pa.Array:
    with decimal.localcontext() as c:
        c.prec = 80  # decimal256 holds up to 76 digits
        return pa.array([None if v is None else fn(v) for v in values.to_pylist()], values.type)


# Text dates, in the layouts exports use. The year is taken from a 4-digit run (1800-2099),
# from YYYYMMDD, or from a trailing 2-digit year: MM/YY (card expiry) is 20YY, D/M/YY is
# 19YY when YY is later than this year.
_YEAR4 = r"(?:^|[^0-9])(?P<y>(?:18|19|20)\d{2})(?:[^0-9]|$)"
_COMPACT = r"^\s*(?P<y>(?:18|19|20)\d{2})[01]\d[0-3]\d\s*$"
_MM_YY = r"^\s*(?P<m>\d{1,2})\s*[/.-]\s*(?P<y>\d{2})\s*$"
_DMY_YY = r"^\s*\d{1,2}[/.-]\d{1,2}[/.-](?P<y>\d{2})(?:[ T].*)?$"
_ISO_MONTH = r"^\s*(?P<y>(?:18|19|20)\d{2})[-/.](?P<m>\d{1,2})(?:[-/.]\d{1,2})?(?:[ T].*)?$"
_US_MONTH = r"^\s*(?P<m>\d{1,2})[/.-]\d{1,2}[/.-](?P<y>(?:18|19|20)\d{2})(?:[ T].*)?$"
_NUMBER_TEXT = r"^\s*(?P<n>[+-]?\d+(?:[.,]\d+)?)\s*$"


def _group(values: pa.Array, pattern: str, name: str) -> pa.Array:
    return (
        pc.struct_field(pc.extract_regex(values, pattern), name) if len(values) else pa.array([], pa.string())
    )


_TWO_DIGIT_YEAR_PIVOT = 25  # '25 -> 2025, '26 -> 1926: fixed near the year this was written (dates of birth)


def _text_years(values: pa.Array) -> pa.Array:
    """The year of each text date as int64 (null where none can be read)."""
    year = pc.cast(_group(values, _YEAR4, "y"), pa.int64())
    year = pc.coalesce(year, pc.cast(_group(values, _COMPACT, "y"), pa.int64()))
    # two-digit years above the pivot are 19xx: a constant, not today's year, so the same input
    # gives the same output in every run (a pivot that moved each January would change outputs)
    this = _TWO_DIGIT_YEAR_PIVOT
    yy = pc.cast(_group(values, _MM_YY, "y"), pa.int64())
    year = pc.coalesce(year, pc.add(yy, 2000))
    yy = pc.cast(_group(values, _DMY_YY, "y"), pa.int64())
    year = pc.coalesce(year, pc.if_else(pc.greater(yy, this), pc.add(yy, 1900), pc.add(yy, 2000)))
    return year


def _generalize_text(values: pa.Array, to: str, params: dict) -> pa.Array:
    if to in ("year", "decade"):
        year = _text_years(values)
        if to == "decade":
            year = pc.multiply(pc.divide(year, 10), 10)
        return pc.cast(year, pa.string())
    if to == "month":
        iso = _group(values, _ISO_MONTH, "y"), _group(values, _ISO_MONTH, "m")
        us = _group(values, _US_MONTH, "y"), _group(values, _US_MONTH, "m")
        y = pc.coalesce(iso[0], us[0])
        m = pc.cast(pc.coalesce(iso[1], us[1]), pa.int64())
        ok = pc.and_(pc.greater_equal(m, 1), pc.less_equal(m, 12))
        text = pc.binary_join_element_wise(y, pc.utf8_lpad(pc.cast(m, pa.string()), 2, "0"), "-")
        return pc.if_else(ok, text, pa.nulls(len(values), pa.string()))
    number = pc.cast(pc.replace_substring(_group(values, _NUMBER_TEXT, "n"), ",", "."), pa.float64())
    if to == "round":
        return pc.cast(_round_float(number, int(params.get("digits", 1))), pa.string())
    # age_band: '34' -> '30-39'; a number no age can be ('1e300') does not parse as one
    width = int(params.get("width", 10))
    number = pc.if_else(pc.less(pc.abs(number), _EXACT_FLOAT), number, pa.scalar(None, pa.float64()))
    low = pc.cast(pc.multiply(pc.floor(pc.divide(number, width)), width), pa.int64())
    return pc.binary_join_element_wise(
        pc.cast(low, pa.string()), pc.cast(pc.add(low, width - 1), pa.string()), "-"
    )


class ScrubText(Operator):
    name = "scrub_text"
    text_only = True

    def operate(self, values, policy, ctx):
        from datarefresh.anonymize.text import scrub_texts

        return (ctx.scrub or scrub_texts)(values, ctx).cast(values.type)


class Json(Operator):
    """JSON documents in a text column, walked key by key by the engine; see nested.py."""

    name = "json"
    nested = "json"

    def validate(self, policy, typ):
        if not is_text(typ):
            raise OperatorError(f"json applies to text columns holding JSON, not {typ}")


class Struct(Operator):
    """Nested Arrow columns are handled field by field by the engine; see nested.py."""

    name = "struct"
    nested = "struct"
    value_function = False  # struct arrays are not dictionary-encoded; their leaves are
    takes_lists = True  # a list of structs is walked as a whole

    def validate(self, policy, typ):
        t = typ
        while pa.types.is_list(t) or pa.types.is_large_list(t):
            t = t.value_type
        if not pa.types.is_struct(t):
            raise OperatorError(f"struct applies to struct (or list of struct) columns, not {typ}")


class Drop(Operator):
    """Handled by the engine: the column is left out of the output."""

    name = "drop"
    drops = True

    def operate(self, values, policy, ctx):  # pragma: no cover - never called
        raise AssertionError("drop is handled by the engine")


REGISTRY: dict[str, Operator] = {
    op.name: op()
    for op in (Keep, Null, Redact, Mask, Hmac, Fake, ShiftDate, Generalize, ScrubText, Json, Struct, Drop)
}


def get_operator(name: str) -> Operator:
    try:
        return REGISTRY[name]
    except KeyError:
        raise OperatorError(f"unknown action {name!r}; known: {', '.join(sorted(REGISTRY))}") from None
