"""Column classification: what is in each column, and what to do with it.

Evidence comes from three places, strongest first: the column name, the share of
sampled values matching a validated pattern (e-mail, card with Luhn, IP...), and
Presidio's analysis of sampled values. Only a sample is read (the first rows of
the first files), never every row. Nothing here ever returns a raw value.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Callable

import pyarrow as pa
import pyarrow.compute as pc

from datarefresh.config import ColumnPolicy, Evidence, ForeignKey, TableConfig

SAMPLE_ROWS = 20_000
SAMPLE_VALUES = 400
VALUE_SHARE = 0.6  # share of sampled values that must match a pattern to call the column


def _tokens(name: str) -> str:
    """'billingAddress' / 'Billing-Address' -> 'billing_address'."""
    name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def _singular(word: str) -> str:
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("ses", "xes")):
        return word[:-2]
    return word[:-1] if word.endswith("s") and not word.endswith("ss") else word


def id_entity(table: str, column: str) -> str:
    """Entity of an identifier column: customers.id and orders.customer_id share ID:customer_id."""
    col = _tokens(column)
    if col == "id":
        col = f"{_singular(_tokens(table))}_id"
    return f"ID:{col}"


@dataclass(frozen=True)
class NameRule:
    pattern: str
    action: str
    entity: str | None = None
    params: tuple = ()
    temporal_only: bool = False  # applies to date/timestamp columns only


_PERSONISH = r"(?:customer|contact|user|person|full|display|holder|card_?holder|recipient|sender|employee|patient|" \
             r"owner|account_?holder|buyer|client|member|guest|passenger|driver|agent|author|requester)"

NAME_RULES: list[NameRule] = [
    NameRule(r"(?:^|_)(?:e_?mail|email_?address|mail)(?:$|_)", "fake", "EMAIL_ADDRESS"),
    NameRule(r"(?:^|_)(?:phone|mobile|tel|telephone|fax|cell|msisdn)(?:$|_)", "fake", "PHONE_NUMBER"),
    NameRule(r"(?:^|_)(?:first_?name|given_?name|fname|forename)(?:$|_)", "fake", "FIRST_NAME"),
    NameRule(r"(?:^|_)(?:last_?name|surname|family_?name|lname)(?:$|_)", "fake", "LAST_NAME"),
    NameRule(rf"^(?:(?:full_?)?name|{_PERSONISH}_?name|name_of_{_PERSONISH})$", "fake", "PERSON"),
    NameRule(r"(?:^|_)(?:ip|ip_?address|ipv4|ipv6|client_?ip|remote_?addr)(?:$|_)", "fake", "IP_ADDRESS"),
    NameRule(r"(?:^|_)(?:street|address|addr|address_?line\d?)(?:$|_)", "fake", "STREET_ADDRESS"),
    NameRule(r"(?:^|_)(?:city|town)(?:$|_)", "fake", "CITY"),
    NameRule(r"(?:^|_)(?:zip|zip_?code|postal|postal_?code|postcode)(?:$|_)", "generalize", "ZIP_CODE",
             (("to", "zip3"),)),
    NameRule(r"(?:^|_)(?:birth|dob|date_of_birth|birthday|birth_?date)(?:$|_)", "generalize", "DATE_OF_BIRTH",
             (("to", "year"),)),
    NameRule(r"(?:^|_)(?:ssn|social_?security(?:_?number)?)(?:$|_)", "fake", "US_SSN"),
    NameRule(r"(?:^|_)(?:national_?id|tax_?id|tin|nin|nino|passport(?:_?number)?|id_?number)(?:$|_)",
             "fake", "NATIONAL_ID"),
    NameRule(r"(?:^|_)(?:driver_?s?_?licen[cs]e|dl_?number|licen[cs]e_?number)(?:$|_)", "fake", "US_DRIVER_LICENSE"),
    NameRule(r"(?:^|_)(?:card|card_?number|cc_?number|credit_?card|pan)(?:$|_)", "fake", "CREDIT_CARD"),
    NameRule(r"(?:^|_)(?:iban)(?:$|_)", "fake", "IBAN_CODE"),
    NameRule(r"(?:^|_)(?:username|user_?name|login|handle|screen_?name)(?:$|_)", "fake", "USERNAME"),
    NameRule(r"(?:^|_)(?:password|passwd|pwd|secret|api_?key|access_?token|token)(?:$|_)", "redact", "PASSWORD"),
    NameRule(r"^(?:age)$", "generalize", "AGE", (("to", "age_band"),)),
    # Quasi-identifiers kept as they are: low cardinality alone; the k-anonymity gate watches them.
    NameRule(r"^(?:gender|sex)$", "keep", "GENDER"),
]

_EMAIL = re.compile(r"^[\w.+'-]+@[\w-]+(?:\.[\w-]+)+$")
_PHONE = re.compile(r"^\+?[\d\s().-]{7,20}$")
_SSN = re.compile(r"^\d{3}-\d{2}-\d{4}$")
_CARD = re.compile(r"^(?:\d[ -]?){12,18}\d$")
_IBAN = re.compile(r"^[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?$")
_URL = re.compile(r"^https?://\S+$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$")
_NUMBER = re.compile(r"^[+-]?\d+(?:\.\d+)?$")


def _luhn(s: str) -> bool:
    d = [int(c) for c in s if c.isdigit()][::-1]
    return sum(x if i % 2 == 0 else (x * 2 - 9 if x > 4 else x * 2) for i, x in enumerate(d)) % 10 == 0


def _is_ip(s: str) -> bool:
    try:
        ipaddress.ip_address(s)
        return True
    except ValueError:
        return False


def _is_json(s: str) -> bool:
    s = s.strip()
    if not s or s[0] not in "[{":
        return False
    try:
        json.loads(s)
        return True
    except ValueError:
        return False


# (entity, action, test) in priority order; the first whose share passes wins.
VALUE_RULES: list[tuple[str, str, Callable[[str], bool]]] = [
    ("JSON", "json", _is_json),
    ("EMAIL_ADDRESS", "fake", lambda s: bool(_EMAIL.match(s))),
    ("UUID", "hmac", lambda s: bool(_UUID.match(s))),
    ("IP_ADDRESS", "fake", _is_ip),
    ("CREDIT_CARD", "fake", lambda s: bool(_CARD.match(s)) and _luhn(s)),
    ("US_SSN", "fake", lambda s: bool(_SSN.match(s))),
    ("IBAN_CODE", "fake", lambda s: bool(_IBAN.match(s.upper()))),
    ("URL", "fake", lambda s: bool(_URL.match(s))),
    ("DATE_TIME", "keep", lambda s: bool(_ISO_DATE.match(s))),
    ("NUMBER", "keep", lambda s: bool(_NUMBER.match(s))),
    ("PHONE_NUMBER", "fake", lambda s: bool(_PHONE.match(s)) and sum(c.isdigit() for c in s) >= 7),
]


def _policy(action: str, entity: str | None, typ: pa.DataType, detector: str, share: float | None = None,
            score: float | None = None, params: dict | None = None, fields: dict | None = None) -> ColumnPolicy:
    return ColumnPolicy(action=action, entity=entity, type=str(typ), params=params or {}, fields=fields or {},
                        evidence=Evidence(detector=detector, match_share=None if share is None else round(share, 3),
                                          score=score))


def _by_name(name: str, typ: pa.DataType) -> NameRule | None:
    tok = _tokens(name)
    for rule in NAME_RULES:
        if re.search(rule.pattern, tok):
            return rule
    return None


def _text_values(values: list[Any]) -> list[str]:
    seen: dict[str, None] = {}
    for v in values:
        if isinstance(v, str) and v.strip() and v not in seen:
            seen[v] = None
            if len(seen) >= SAMPLE_VALUES:
                break
    return list(seen)


def classify_values(name: str, typ: pa.DataType, values: list[Any], *, table: str = "",
                    use_presidio: bool = True) -> ColumnPolicy:
    """Classify one column (or JSON / struct leaf) from its name, type and sampled values."""
    rule = _by_name(name, typ)
    temporal = pa.types.is_date(typ) or pa.types.is_timestamp(typ)
    text = pa.types.is_string(typ) or pa.types.is_large_string(typ)
    if rule and (rule.entity == "DATE_OF_BIRTH" and not (temporal or pa.types.is_integer(typ)) and not text):
        rule = None
    if rule:
        params = dict(rule.params)
        if rule.entity == "DATE_OF_BIRTH" and text:
            return _policy("redact", rule.entity, typ, "name")  # a birth date as text: no safe generalization
        if rule.action == "fake" and not (text or pa.types.is_integer(typ)):
            return _policy("null", rule.entity, typ, "name")
        return _policy(rule.action, rule.entity, typ, "name", params=params)
    tok = _tokens(name)
    if (tok == "id" or tok.endswith("_id") or tok.endswith("_key")) and (pa.types.is_integer(typ) or text):
        return _policy("hmac", id_entity(table, name), typ, "name")
    if pa.types.is_struct(typ) or ((pa.types.is_list(typ) or pa.types.is_large_list(typ))
                                   and pa.types.is_struct(typ.value_type)):
        return _classify_struct(name, typ, values, table, use_presidio)
    if pa.types.is_list(typ) or pa.types.is_large_list(typ):
        flat = [x for v in values if v for x in v]
        inner = classify_values(name, typ.value_type, flat, table=table, use_presidio=use_presidio)
        return inner.model_copy(update={"type": str(typ)})
    if not text:
        return _policy("keep", None, typ, "type")
    sample = _text_values(values)
    if not sample:
        return _policy("keep", None, typ, "empty")
    for entity, action, test in VALUE_RULES:
        share = sum(1 for s in sample if test(s)) / len(sample)
        if share >= VALUE_SHARE:
            if entity == "JSON":
                return _classify_json(name, typ, sample, share, table, use_presidio)
            return _policy(action, entity if action != "keep" else None, typ, f"values:{entity}", share)
    distinct = len(set(values) - {None})
    long_text = sum(len(s) > 40 and " " in s for s in sample) / len(sample)
    if long_text >= 0.3:
        return _policy("scrub_text", "FREE_TEXT", typ, "values:free_text", long_text)
    if use_presidio:
        found = _presidio_share(sample)
        if found:
            entity, share, score = found
            if entity == "PERSON":
                return _policy("fake", "PERSON", typ, "presidio:PERSON", share, score)
            if entity == "LOCATION":
                return _policy("fake", "CITY", typ, "presidio:LOCATION", share, score)
            return _policy("scrub_text", entity, typ, f"presidio:{entity}", share, score)
    if distinct <= 50 and len(values) >= 4 * distinct:
        return _policy("keep", None, typ, "categorical", distinct / max(len(values), 1))
    # Nothing matched, but text we cannot explain is not passed through: scrub it.
    return _policy("scrub_text", "UNKNOWN_TEXT", typ, "fallback")


def _presidio_share(sample: list[str]) -> tuple[str, float, float] | None:
    from datarefresh.detect.text import analyze_texts

    subset = sample[:100]
    spans = analyze_texts(subset)
    best = None
    for entity in ("PERSON", "LOCATION", "PHONE_NUMBER", "STREET_ADDRESS", "US_DRIVER_LICENSE"):
        hits = [max((s.score for s in sp if s.entity == entity), default=0) for sp in spans]
        share = sum(1 for h in hits if h) / len(subset)
        if share >= 0.5 and (best is None or share > best[1]):
            best = (entity, share, round(max(hits), 2))
    return best


def _classify_json(name, typ, sample, share, table, use_presidio) -> ColumnPolicy:
    from datarefresh.anonymize.nested import _walk

    by_path: dict[str, list[Any]] = {}
    for text in sample:
        leaves: dict[str, list] = defaultdict(list)
        _walk(json.loads(text), "", leaves)
        for path, refs in leaves.items():
            by_path.setdefault(path, []).extend(c[k] for c, k in refs)
    fields = {}
    for path, vals in sorted(by_path.items()):
        try:
            leaf_type = pa.array(vals).type
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            leaf_type = pa.string()
        pol = classify_values(path.split(".")[-1], leaf_type, vals, table=table, use_presidio=use_presidio)
        fields[path] = pol.model_copy(update={"type": None})
    return _policy("json", "JSON", typ, "values:JSON", share, fields=fields)


def _classify_struct(name, typ, values, table, use_presidio) -> ColumnPolicy:
    fields: dict[str, ColumnPolicy] = {}

    def walk(t: pa.DataType, rows: list[Any], prefix: str) -> None:
        while pa.types.is_list(t) or pa.types.is_large_list(t):
            rows = [x for r in rows if r for x in r]
            t = t.value_type
        for f in t:
            sub = [r.get(f.name) if isinstance(r, dict) else None for r in rows]
            inner = f.type
            while pa.types.is_list(inner) or pa.types.is_large_list(inner):
                inner = inner.value_type
            if pa.types.is_struct(inner):
                walk(f.type, sub, f"{prefix}{f.name}.")
            else:
                pol = classify_values(f.name, f.type, sub, table=table, use_presidio=use_presidio)
                fields[f"{prefix}{f.name}"] = pol.model_copy(update={"type": None})

    walk(typ, values, "")
    return _policy("struct", None, typ, "type:struct", fields=fields)


def classify_table(name: str, sample: pa.Table, *, use_presidio: bool = True) -> TableConfig:
    """A table policy from a sample of its rows."""
    columns = {}
    for field in sample.schema:
        values = sample.column(field.name).to_pylist()
        columns[field.name] = classify_values(field.name, field.type, values, table=name, use_presidio=use_presidio)
    table = TableConfig(primary_key=_primary_key(name, sample, columns), columns=columns)
    from datarefresh.detect.quasi import refine

    return refine(name, sample, table)  # small domains, functions of kept columns, quasi-identifiers


def _primary_key(name: str, sample: pa.Table, columns: dict[str, ColumnPolicy]) -> str | None:
    own = f"{_singular(_tokens(name))}_id"
    candidates = [c for c in sample.column_names if _tokens(c) in ("id", own)]
    # otherwise a leading *_id column (order_items.item_id)
    first = sample.column_names[0] if sample.column_names else ""
    if not candidates and _tokens(first).endswith("_id"):
        candidates = [first]
    for c in candidates:
        col = sample.column(c)
        if col.null_count == 0 and pc.count_distinct(col).as_py() == len(col):
            return c
    return None


def link_foreign_keys(tables: dict[str, TableConfig]) -> None:
    """Zero-config foreign keys: a column whose identifier entity is another table's primary
    key entity references that key (orders.customer_id -> customers.customer_id)."""
    pk_by_entity = {}
    for tname, t in tables.items():
        if t.primary_key and t.primary_key in t.columns:
            pk_by_entity[t.columns[t.primary_key].entity] = (tname, t.primary_key)
    for tname, t in tables.items():
        for col, pol in t.columns.items():
            target = pk_by_entity.get(pol.entity)
            if target and col != t.primary_key:
                if not any(fk.column == col for fk in t.foreign_keys):
                    t.foreign_keys.append(ForeignKey(column=col, references=f"{target[0]}.{target[1]}"))
