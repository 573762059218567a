"""JSON-string columns and nested Arrow (struct / list) columns, walked key by key.

A policy's `fields` maps a dotted path ("user.email") to the policy of that leaf;
lists are transparent ("items.name" is every element's name; anonymize/paths.py walks them).
In JSON, keys vary from row to row, so a string leaf with no policy is scrubbed as free text rather
than passed through (fail closed); non-string leaves with no policy are kept.
In structs the schema is fixed, so a field with no policy is an error.

The engine dispatches here (WALKERS) and hands in its own `apply` (engine.apply_column), so a
leaf is anonymized exactly as a column is, and this module never imports the engine.
"""

from __future__ import annotations

import json
from typing import Any, Callable

import pyarrow as pa
import pyarrow.compute as pc

from datarefresh.config import ColumnPolicy
from datarefresh.anonymize.operators import OperatorError, get_operator
from datarefresh.anonymize.paths import json_leaves

_SCRUB = ColumnPolicy(action="scrub_text")
# engine.apply_column(values, policy, ctx, where=...)
Apply = Callable[..., pa.Array]


def _leaf_array(raw: list[Any]) -> pa.Array:
    present = [v for v in raw if v is not None]
    if all(isinstance(v, str) for v in present):
        return pa.array(raw, pa.string())
    try:
        return pa.array(raw)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed types under one key: treat as text
        return pa.array([None if v is None else str(v) for v in raw], pa.string())


def transform_json(values: pa.Array, policy: ColumnPolicy, ctx, apply: Apply) -> pa.Array:
    docs: list[Any] = []
    for i, text in enumerate(values.cast(pa.string()).to_pylist()):
        if text is None:
            docs.append(None)
            continue
        try:
            docs.append(json.loads(text))
        except json.JSONDecodeError as exc:
            # the raw value is not echoed: it may be PII
            raise OperatorError(
                f"value {i} of this chunk is not valid JSON ({exc.msg} at char {exc.pos})"
            ) from None
    leaves: dict[str, list[tuple[Any, Any]]] = {}
    for doc in docs:
        json_leaves(doc, leaves)
    for path, refs in leaves.items():
        leaf_policy = policy.fields.get(path)
        raw = [c[k] for c, k in refs]
        if leaf_policy is None:
            if not any(isinstance(v, str) for v in raw):
                continue
            leaf_policy = _SCRUB
        op = get_operator(leaf_policy.action)
        if op.identity:
            continue
        if op.drops:  # the key goes; an element of a list becomes null (the list keeps its length)
            for c, k in refs:
                if isinstance(c, dict):
                    del c[k]
                else:
                    c[k] = None
            continue
        arr = _leaf_array(raw)
        out = apply(arr, leaf_policy, ctx, where=path).to_pylist()
        for (c, k), v in zip(refs, out):
            c[k] = v
    return pa.array([None if d is None else json.dumps(d, ensure_ascii=False) for d in docs], pa.string())


def transform_struct(values: pa.Array, policy: ColumnPolicy, ctx, apply: Apply, prefix: str = "") -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    t = values.type
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        inner = transform_struct(values.flatten(), policy, ctx, apply, prefix)
        cls = pa.ListArray if pa.types.is_list(t) else pa.LargeListArray
        offsets = values.offsets
        if values.offset or values.null_count:
            offsets = pc.subtract(offsets, offsets[0])
        return cls.from_arrays(offsets, inner, mask=pc.is_null(values) if values.null_count else None)
    children = []
    for i, f in enumerate(t):
        path = f"{prefix}{f.name}"
        child = pc.struct_field(values, [i])  # with the parent's nulls (field() ignores them)
        if pa.types.is_struct(f.type) or (
            (pa.types.is_list(f.type) or pa.types.is_large_list(f.type))
            and pa.types.is_struct(f.type.value_type)
        ):
            children.append(transform_struct(child, policy, ctx, apply, prefix=path + "."))
            continue
        leaf = policy.fields.get(path)
        if leaf is None:
            raise OperatorError(f"nested field {path!r} has no policy")
        children.append(apply(child, leaf, ctx, where=path))
    return pa.StructArray.from_arrays(
        children, fields=list(t), mask=pc.is_null(values) if values.null_count else None
    )


# Operator.nested -> its walker
WALKERS: dict[str, Callable[..., pa.Array]] = {"json": transform_json, "struct": transform_struct}
