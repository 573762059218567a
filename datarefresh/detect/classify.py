"""Column classification: what is in each column, and what to do with it.

Evidence comes from the column name (detect/names.py: every naming convention), the
share of sampled values matching a validated pattern (e-mail, card with Luhn, phone,
SSN, IP...; for integer and decimal columns too), the gazetteer of given names and
surnames, repetition and dictionary words (categorical text is kept), and Presidio's
analysis of sampled values. Whatever is proposed is checked against the column's Arrow
type, so a plan always applies. Only a sample is read (see TableSource.sample), never
every row. Nothing here ever returns a raw value.
"""

from __future__ import annotations

import ipaddress
import json
import math
import random
import re
from decimal import Decimal
from typing import Any, Callable

import pyarrow as pa

from datarefresh.anonymize.operators import OperatorError, get_operator, is_text
from datarefresh.config import ColumnPolicy, Evidence, TableConfig
from datarefresh.detect import gazetteer
from datarefresh.detect.names import KEPT_ENTITIES, NAME_RULES, NameRule, name_rule, tokens  # noqa: F401

SAMPLE_ROWS = 20_000
SAMPLE_VALUES = 400
VALUE_SHARE = 0.6  # share of sampled values that must match a pattern to call the column
NUMBER_SHARE = 0.75  # numbers stored as numbers: a stricter share (ids and amounts are numbers too)
NAME_SHARE = 0.7  # share of distinct values made of given names / surnames to call a column names


def _tokens(name: str) -> str:
    """'billingAddress' / 'Billing-Address' / 'BILLINGADDRESS' -> 'billing_address'."""
    return tokens(name)


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


_EMAIL = re.compile(r"^[\w.+'-]+@[\w-]+(?:\.[\w-]+)+$")
_PHONE = re.compile(r"^\+?[\d\s().-]{7,20}$")
_SSN = re.compile(r"^\d{3}-\d{2}-\d{4}$")
_CARD = re.compile(r"^(?:\d[ -]?){12,18}\d$")
_IBAN = re.compile(r"^[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?$")
_URL = re.compile(r"^https?://\S+$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$")
_TEXT_DATE = re.compile(
    r"^\d{1,2}[/.-]\d{1,2}[/.-](?:\d{2}|\d{4})(?:[ T]\d{1,2}:\d{2}(?::\d{2})?(?: ?[AP]M)?)?$", re.IGNORECASE
)
_NUMBER = re.compile(r"^[+-]?\d+(?:\.\d+)?$")
_DIGITS = re.compile(r"^\d+$")
# Postcodes whose layout alone is telling (UK, Canada, Netherlands); 5-digit US ZIPs are not.
_POSTCODE = re.compile(r"^(?:[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}|[A-Z]\d[A-Z] ?\d[A-Z]\d|\d{4} ?[A-Z]{2})$")
# National ids with a telling layout: UK NINO, Spanish DNI/NIE, German tax id (11 digits is
# too common), French INSEE (13-15 digits with a sex digit first).
_NATIONAL_ID = re.compile(
    r"^(?:[A-CEGHJ-PR-TW-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D]|\d{8}-?[A-HJ-NP-TV-Z]|"
    r"[XYZ]\d{7}-?[A-Z]|[12] ?\d{2} ?\d{2} ?\d{2} ?\d{3} ?\d{3}(?: ?\d{2})?)$"
)
_USER_AGENT = re.compile(r"^(?:Mozilla|Opera|Dalvik|curl|Wget|python-requests|okhttp)/\d[\w.]*(?: |$)")
# In a URL: an e-mail, a long digit run, or a query parameter that names a person or a secret.
_URL_PERSONAL = re.compile(
    r"@|%40|\d{7,}|[?&;](?:e?mail|name|first|last|user(?:name)?|phone|tel|token|key|"
    r"password|pwd|session|sid|auth|ssn|dob|address|zip|lat|lon)\w*=",
    re.IGNORECASE,
)
# A street address: number + words + street type (US/UK), or a European street name + number.
_STREET = re.compile(
    r"^\d{1,6}[A-Za-z]?,? +(?:[\w.'-]+ +){0,5}(?:st|street|ave|avenue|rd|road|blvd|boulevard|ln|"
    r"lane|dr|drive|ct|court|way|pl|place|ter|terrace|pkwy|parkway|hwy|highway|cir|circle|sq|"
    r"square|trl|trail|loop|row|close|crescent|grove|gardens|rue|chemin|allee|via|calle)\b"
    r"|^(?:[\w.'-]+ +){0,4}[\w.'-]*(?:stra(?:ss|ß)e|str\.|weg|gasse|platz|allee|laan|straat|"
    r"plein|gracht)\.? *\d{1,5}[a-z]?\b|^(?:calle|avenida|avda\.?|via|viale|piazza|rua|rue) +"
    r"[\w .'-]+,? *\d{1,5}",
    re.IGNORECASE,
)
_WORD = re.compile(r"[^\W\d_]+")


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


def _is_us_street(s: str) -> bool:
    """A US street address by usaddress's parse: a number, a street name and a street type,
    direction or unit (`0487 Hull Village Suite 759`)."""
    if not s[:1].isdigit() or len(s) > 120:
        return False
    import usaddress

    try:
        labels = {label for _, label in usaddress.parse(s)}
    except Exception:  # noqa: BLE001 - the parser's own errors: not an address
        return False
    return {"AddressNumber", "StreetName"} <= labels and bool(
        labels
        & {"StreetNamePostType", "StreetNamePreDirectional", "StreetNamePostDirectional", "OccupancyType"}
    )


def _all_json(values: list[Any]) -> bool:
    return all(_is_json(v) for v in values if isinstance(v, str))


def _is_phone_digits(s: str) -> bool:
    """A phone number written as bare digits (an int64 column, or digits in text)."""
    if not 10 <= len(s) <= 15:
        return False
    if len(s) == 10:  # North American numbering: area code and exchange start with 2-9
        return s[0] in "23456789" and s[3] in "23456789" and s[1:3] != "11"
    import phonenumbers  # 0.05 s to import: only longer digit strings need it

    try:
        n = phonenumbers.parse(s if len(s) == 10 else "+" + s, "US")
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.is_valid_number(n)


def _is_ssn_digits(s: str) -> bool:
    s = s.zfill(9)
    return len(s) == 9 and s[:3] not in ("000", "666") and s[0] != "9" and s[3:5] != "00" and s[5:] != "0000"


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
    ("NATIONAL_ID", "fake", lambda s: bool(_NATIONAL_ID.match(s.upper()))),
    ("ZIP_CODE", "generalize", lambda s: bool(_POSTCODE.match(s.upper()))),
    ("STREET_ADDRESS", "fake", lambda s: bool(_STREET.match(s.strip())) or _is_us_street(s)),
    ("DATE_TIME", "keep", lambda s: bool(_ISO_DATE.match(s) or _TEXT_DATE.match(s))),
    ("USER_AGENT", "keep", lambda s: bool(_USER_AGENT.match(s))),  # browser strings: long, but not free text
    ("NUMBER", "keep", lambda s: bool(_NUMBER.match(s))),
    ("PHONE_NUMBER", "fake", lambda s: bool(_PHONE.match(s)) and sum(c.isdigit() for c in s) >= 7),
]

# Numbers (or digit strings) that are personal data: (entity, test), in priority order.
NUMBER_RULES: list[tuple[str, Callable[[str], bool]]] = [
    ("CREDIT_CARD", lambda s: 13 <= len(s) <= 19 and _luhn(s)),
    ("PHONE_NUMBER", _is_phone_digits),
    ("US_SSN", lambda s: 7 <= len(s) <= 9 and _is_ssn_digits(s)),
]


def _policy(
    action: str,
    entity: str | None,
    typ: pa.DataType,
    detector: str,
    share: float | None = None,
    score: float | None = None,
    params: dict | None = None,
    fields: dict | None = None,
    detail: str | None = None,
) -> ColumnPolicy:
    return ColumnPolicy(
        action=action,
        entity=entity,
        type=str(typ),
        params=params or {},
        fields=fields or {},
        evidence=Evidence(
            detector=detector,
            match_share=None if share is None else round(share, 3),
            score=score,
            detail=detail,
        ),
    )


def _by_name(name: str, typ: pa.DataType) -> NameRule | None:
    return name_rule(name)


def _spread_values(values: list[Any]) -> list[Any]:
    """The sample in a seeded random order: the first distinct values looked at come from
    across the table, not from its first file (samples arrive in table order)."""
    order = list(values)
    random.Random(0).shuffle(order)
    return order


def _text_values(values: list[Any]) -> list[str]:
    seen: dict[str, None] = {}
    for v in _spread_values(values):
        if isinstance(v, str) and v.strip() and v not in seen:
            seen[v] = None
            if len(seen) >= SAMPLE_VALUES:
                break
    return list(seen)


def _number_strings(values: list[Any]) -> tuple[list[str], int]:
    """Distinct non-negative whole numbers of a numeric sample as digit strings (others dropped),
    and how many distinct values were looked at to find them (the share's denominator)."""
    seen: dict[str, None] = {}
    examined: set[Any] = set()
    for v in _spread_values(values):
        if v is None or isinstance(v, bool):
            continue
        if len(seen) >= SAMPLE_VALUES:
            break
        examined.add(v)
        if isinstance(v, float):
            if not math.isfinite(v) or not v.is_integer():
                continue
            v = int(v)
        elif isinstance(v, Decimal):
            if not v.is_finite() or v != v.to_integral_value():
                continue
            v = int(v)
        if isinstance(v, int) and v >= 0:
            seen.setdefault(str(v), None)
    return list(seen), len(examined)


def _number_entity(
    digits: list[str], total: int, share_needed: float, distinct_share: float = 1.0
) -> tuple[str, float] | None:
    """The personal entity a column of digit strings holds (phone, SSN, card), or None.
    SSNs need values that are mostly distinct and spread out: codes (diagnoses, products)
    repeat, and ids handed out in order sit in a narrow band."""
    if not digits:
        return None
    for entity, test in NUMBER_RULES:
        share = sum(1 for s in digits if test(s)) / total
        if share >= share_needed:
            if entity == "US_SSN" and (_looks_sequential(digits) or distinct_share < 0.8):
                continue
            return entity, share
    return None


def _looks_sequential(digits: list[str]) -> bool:
    """Nine-digit ids handed out in order sit in a narrow band; SSNs spread over most of 001-899."""
    nums = sorted(int(d) for d in digits)
    return len(nums) >= 20 and (nums[-1] - nums[0]) < 50_000_000


def _int_digits_fit(typ: pa.DataType, values: list[Any]) -> bool:
    """fake on integers scrambles digits in place: values must stay within the type."""
    limit = len(str(2 ** (typ.bit_width - (0 if typ.id in _UNSIGNED else 1)) - 1)) - 1
    return all(len(str(abs(v))) <= limit for v in values if isinstance(v, int))


_UNSIGNED = {pa.uint8().id, pa.uint16().id, pa.uint32().id, pa.uint64().id}


def _ids_fit(typ: pa.DataType, values: list[Any]) -> bool:
    """hmac on integers maps [0, 2**31) onto itself and the rest onto 64-bit values."""
    if typ.bit_width < 32:
        return False
    if typ.bit_width == 32 or typ.id in _UNSIGNED:  # larger values map to signed 64-bit ones
        return all(0 <= v < 2**31 for v in values if isinstance(v, int))
    return True


# ---------------------------------------------------------------- person names and categories

_TITLES = {
    "mr",
    "mrs",
    "ms",
    "miss",
    "mx",
    "dr",
    "prof",
    "sir",
    "jr",
    "sr",
    "ii",
    "iii",
    "iv",
    "md",
    "phd",
    "dds",
    "esq",
    "rn",
    "herr",
    "frau",
    "sra",
    "srta",
    "mme",
    "mlle",
    "m",
    "don",
    "dona",
}


def _name_tokens(value: str) -> list[str]:
    return [t for t in _WORD.findall(value) if len(t) > 1 and t.lower() not in _TITLES]


def _person_names(sample: list[str], repeat: float = 1.0) -> tuple[str, float] | None:
    """(entity, share) when the distinct values are given names / surnames: every word of a
    value in the gazetteer; digits, initials and odd casing ignored. Place and occupation
    words are names too sometimes (Georgia, Baker), so a column must be mostly names, with
    some rarer ones, the long tail real name columns have."""
    if len(sample) < 10 and repeat >= 3:  # a handful of values repeated (gold, silver) is a category
        return None
    hits = given = surname = multi = rare = 0
    for v in sample:
        toks = _name_tokens(v)
        letters = sum(map(len, toks))
        if not toks or len(toks) > 4 or letters < 3 or letters < sum(c.isdigit() for c in v):
            continue  # 'John123' is a name with digits, 'AB1234567X' a code
        ranks = [(gazetteer.given_rank(t), gazetteer.surname_rank(t)) for t in toks]
        if not all(g or s for g, s in ranks):
            continue
        hits += 1
        if len(toks) > 1:
            multi += 1
        else:
            g, s = ranks[0]
            given += bool(g and (not s or g <= s))
            surname += bool(s and (not g or s < g))
        rare += any(not gazetteer.is_common_word(t, 3.5) for t in toks)
    share = hits / len(sample)
    if share < NAME_SHARE or (share < 0.9 and rare < 0.1 * len(sample)):
        return None
    single = hits - multi
    if multi >= single:
        return "PERSON", share
    return (
        "FIRST_NAME" if given >= 2 * surname else "LAST_NAME" if surname >= 2 * given else "PERSON"
    ), share


def _dictionary_share(sample: list[str]) -> float:
    """Share of distinct values whose words are mostly dictionary words (wordfreq)."""

    def wordy(v: str) -> bool:
        toks = _name_tokens(v)
        return bool(toks) and sum(gazetteer.is_common_word(t, 3.0) for t in toks) * 2 >= len(toks)

    return sum(map(wordy, sample)) / len(sample) if sample else 0.0


def _categorical(values: list[Any], sample: list[str]) -> tuple[bool, float, float, int]:
    """Kept as is: values that repeat (states, countries, statuses, products, diagnoses).
    Returns (categorical, dictionary share, repetition, distinct)."""
    present = [v for v in values if isinstance(v, str) and v.strip()]
    distinct = len(set(present))
    repeat = len(present) / distinct if distinct else 0.0
    words = _dictionary_share(sample)
    codes = sum(1 for s in sample if " " not in s.strip() and len(s) <= 24) / len(sample) if sample else 0.0
    digits = sum(1 for s in sample if any(c.isdigit() for c in s)) / len(sample) if sample else 1.0
    ok = (
        (distinct <= 50 and repeat >= 4)
        or (repeat >= 3 and words >= 0.5)
        or (repeat >= 1.5 and words >= 0.8)
        or (repeat >= 3 and codes >= 0.9)
        or (distinct <= 50 and words >= 0.9 and digits <= 0.1)
    )  # a lookup table: Sales, Engineering...
    return ok, words, repeat, distinct


def _identifier_like(values: list[Any], sample: list[str]) -> float:
    """Share of distinct, space-free, digit-bearing tokens: ids, not words."""
    present = [v for v in values if isinstance(v, str) and v.strip()]
    if not present or len(set(present)) < 0.9 * len(present):
        return 0.0
    return sum(
        1 for s in sample if " " not in s.strip() and 4 <= len(s) <= 64 and any(c.isdigit() for c in s)
    ) / len(sample)


# ---------------------------------------------------------------- classification


def classify_values(
    name: str, typ: pa.DataType, values: list[Any], *, table: str = "", use_presidio: bool = True
) -> ColumnPolicy:
    """Classify one column (or JSON / struct leaf) from its name, type and sampled values.
    The result always applies to `typ`: an action the type cannot take is replaced by one it can."""
    policy = _classify(name, typ, values, table, use_presidio)
    return _applicable(policy, typ)


def _applicable(policy: ColumnPolicy, typ: pa.DataType) -> ColumnPolicy:
    from datarefresh.anonymize.engine import _leaf_type

    try:
        get_operator(policy.action).validate(policy, _leaf_type(typ, policy))
        return policy
    except OperatorError as exc:
        ev = policy.evidence
        return _policy(
            "null",
            policy.entity,
            typ,
            (ev.detector if ev else "type") + ";type",
            ev and ev.match_share,
            detail=f"{policy.action} cannot apply: {exc}; nulled instead",
        )


def _classify(name: str, typ: pa.DataType, values: list[Any], table: str, use_presidio: bool) -> ColumnPolicy:
    base = typ.value_type if pa.types.is_dictionary(typ) else typ
    if pa.types.is_struct(base) or (
        (pa.types.is_list(base) or pa.types.is_large_list(base)) and pa.types.is_struct(base.value_type)
    ):
        return _classify_struct(name, typ, values, table, use_presidio)
    if pa.types.is_list(base) or pa.types.is_large_list(base) or pa.types.is_fixed_size_list(base):
        flat = [x for v in values if v for x in v]
        inner = classify_values(name, base.value_type, flat, table=table, use_presidio=use_presidio)
        if pa.types.is_fixed_size_list(base) and inner.action not in ("keep", "null"):
            inner = _policy(
                "null", inner.entity, typ, (inner.evidence.detector if inner.evidence else "") + ";type"
            )
        return inner.model_copy(update={"type": str(typ)})
    if pa.types.is_map(base):
        flat = [x for v in values if v for pair in v for x in pair]
        inner = classify_values(
            name, pa.string(), [str(x) for x in flat if x is not None], table=table, use_presidio=use_presidio
        )
        if inner.action == "keep":
            return _policy("keep", None, typ, "values:map")
        return _policy(
            "null",
            inner.entity,
            typ,
            "values:map;" + (inner.evidence.detector if inner.evidence else ""),
            detail="a map holding personal data is nulled (no per-key policy)",
        )
    text = is_text(base)
    present = [v for v in values if v is not None and not (isinstance(v, str) and not v.strip())]
    rule = _by_name(name, base)
    if rule and rule.weak:
        rule = rule if _weak_rule_holds(rule, base, values) else None
    if rule:
        got = _from_rule(rule, name, typ, base, values, present, table)
        if got is not None and rule.weak:  # say that the values confirmed a name that alone was not enough
            got = got.model_copy(
                update={
                    "evidence": got.evidence.model_copy(
                        update={
                            "detector": "name+values",
                            "detail": "a weak name rule, confirmed by the values",
                        }
                    )
                }
            )
        if got is not None:
            return got
    if not present:
        # Nothing to go on in the sample: the values we did not see are not published. Text is
        # scrubbed (blanks stay blank, so an empty column stays as it was); other types nulled.
        if text:
            return _policy("scrub_text", "UNKNOWN_TEXT", typ, "empty", detail="no value in the sampled rows")
        return _policy("null", None, typ, "empty", detail="no value in the sampled rows")
    if pa.types.is_integer(base) or pa.types.is_floating(base) or pa.types.is_decimal(base):
        return _classify_number(typ, base, values)
    if not text:
        return _classify_other(typ, base, present)
    return _classify_text(name, typ, values, table, use_presidio)


def _weak_rule_holds(rule: NameRule, base: pa.DataType, values: list[Any]) -> bool:
    """A weak name rule (`name`, `customer`, `card`) applies when the values agree."""
    if not is_text(base):
        return False
    sample = _text_values(values)
    if not sample:
        return False
    if rule.entity in ("PERSON", "FIRST_NAME", "LAST_NAME"):
        return _person_names(sample) is not None
    if rule.entity == "CREDIT_CARD":
        return sum(1 for s in sample if _CARD.match(s) and _luhn(s)) / len(sample) >= VALUE_SHARE
    return False


def _from_rule(
    rule: NameRule,
    name: str,
    typ: pa.DataType,
    base: pa.DataType,
    values: list[Any],
    present: list[Any],
    table: str,
) -> ColumnPolicy | None:
    """The policy a name rule gives for this type, or None to let the values decide."""
    text = is_text(base)
    integer = pa.types.is_integer(base)
    numeric = integer or pa.types.is_floating(base) or pa.types.is_decimal(base)
    temporal = pa.types.is_date(base) or pa.types.is_timestamp(base)
    params = dict(rule.params)
    if text and rule.action not in ("keep", "null", "redact"):
        sample = _text_values(values)
        json_share = sum(map(_is_json, sample)) / len(sample) if sample else 0
        if json_share >= VALUE_SHARE and _all_json(
            values
        ):  # an `address` holding JSON objects: field by field
            return _classify_json(name, typ, sample, json_share, table, True)
    if rule.action == "hmac":
        entity = id_entity(table, name) if rule.pattern.startswith("(?:^|_)(?:id|") else f"ID:{_tokens(name)}"
        if text or (integer and _ids_fit(base, present)):
            return _policy("hmac", entity, typ, "name")
        if not present:
            return _policy("null", entity, typ, "name;empty")
        return _policy(
            "keep",
            entity,
            typ,
            "name;type",
            detail=f"identifier stored as {base}: cannot be pseudonymized in place; kept",
        )
    if rule.action == "fake":
        if text:
            return _policy("fake", rule.entity, typ, "name")
        if integer:
            if _int_digits_fit(base, present):
                return _policy("fake", rule.entity, typ, "name")
            return _policy(
                "null", rule.entity, typ, "name;type", detail=f"values too wide to fake within {base}"
            )
        if numeric or temporal or pa.types.is_binary(base) or pa.types.is_large_binary(base):
            return _policy(
                "null", rule.entity, typ, "name;type", detail=f"fake cannot apply to {base}; nulled"
            )
        return None  # a boolean named `phone` is not a phone: values decide
    if rule.action == "generalize":
        if rule.entity in ("DATE_OF_BIRTH", "DATE_OF_DEATH", "CARD_EXPIRY") and numeric and not integer:
            return _policy("null", rule.entity, typ, "name;type")
        if (
            rule.entity == "DATE_OF_BIRTH"
            and integer
            and all(1 <= v <= 31 for v in present if isinstance(v, int))
            and present
        ):
            return _policy("null", rule.entity, typ, "name;values", detail="a day or month of birth")
        policy = _policy("generalize", rule.entity, typ, "name", params=params)
        try:
            get_operator("generalize").validate(policy, base)
        except OperatorError:
            if pa.types.is_boolean(base):
                return None
            return _policy("null", rule.entity, typ, "name;type", detail=f"cannot generalize {base}; nulled")
        if text and rule.entity != "ZIP_CODE":
            share = _parse_share(params["to"], _text_values(values))
            return _policy(
                "generalize",
                rule.entity,
                typ,
                "name",
                share,
                params=params,
                detail="text parsed; values that do not parse become null",
            )
        return policy
    if rule.action == "keep":
        return _policy("keep", rule.entity, typ, "name")
    return _policy(rule.action, rule.entity, typ, "name", params=params)


def _parse_share(to: str, sample: list[str]) -> float | None:
    """Share of sampled text values the generalize operator can read."""
    if not sample:
        return None
    from datarefresh.anonymize.operators import _generalize_text

    out = _generalize_text(pa.array(sample, pa.string()), to, {})
    return 1 - out.null_count / len(sample)


def _classify_number(typ: pa.DataType, base: pa.DataType, values: list[Any]) -> ColumnPolicy:
    """Numbers are classified from their values too: phones, SSNs and cards stored as numbers."""
    digits, examined = _number_strings(values)
    present = [v for v in values if v is not None]
    found = _number_entity(digits, max(examined, 1), NUMBER_SHARE, len(set(present)) / max(len(present), 1))
    if found is None:
        return _policy(
            "keep",
            None,
            typ,
            "values:number",
            detail=f"{examined} distinct numbers looked at: not phones, SSNs or cards; kept",
        )
    entity, share = found
    if pa.types.is_integer(base) and _int_digits_fit(base, [int(d) for d in digits]):
        return _policy("fake", entity, typ, f"values:{entity}", share)
    return _policy(
        "null",
        entity,
        typ,
        f"values:{entity};type",
        share,
        detail=f"{entity} stored as {base}: fake cannot apply; nulled",
    )


# Dates of birth / death: years spread over decades, most of them decades before the latest one.
LIFE_SPAN_YEARS = 40  # 5th-95th percentile spread of years
LIFE_AGE_YEARS = 20  # median this many years before the column's latest date
MIN_DATES = 20  # distinct dates needed before the values decide


def _classify_other(typ: pa.DataType, base: pa.DataType, present: list[Any]) -> ColumnPolicy:
    """Columns that are neither text nor numbers, decided from their values and type, with evidence."""
    if pa.types.is_date(base) or pa.types.is_timestamp(base):
        return _classify_dates(typ, present)
    if pa.types.is_boolean(base):
        return _policy(
            "keep", None, typ, "type:boolean", detail="two values identify no one on their own; kept"
        )
    if pa.types.is_binary(base) or pa.types.is_large_binary(base) or pa.types.is_fixed_size_binary(base):
        # bytes can hold anything (a scanned passport, a photo): not scannable, so not published unless
        # a config says keep
        return _policy(
            "redact",
            None,
            typ,
            "type:binary",
            detail="binary values cannot be scanned for personal data; redacted (null) unless a "
            "config says keep",
        )
    return _policy("keep", None, typ, f"type:{base}", detail=f"{base} values (times, durations) are kept")


def _classify_dates(typ: pa.DataType, present: list[Any]) -> ColumnPolicy:
    """Birth and death dates spread over decades, most of them long before the latest date, with no time
    of day; event dates (orders, visits, logins) are recent, narrow, and often carry a time."""
    import datetime as dt

    dates = [v for v in present if isinstance(v, (dt.date, dt.datetime))]
    distinct = len(set(dates))
    if distinct < MIN_DATES:
        return _policy(
            "keep",
            None,
            typ,
            "values:dates",
            detail=f"{distinct} distinct dates: too few to tell dates of birth from event dates; kept",
        )
    timed = sum(1 for v in dates if isinstance(v, dt.datetime) and v.time() != dt.time(0)) / len(dates)
    years = sorted(v.year + (v.timetuple().tm_yday - 1) / 366 for v in dates)
    q = lambda p: years[min(len(years) - 1, int(p * len(years)))]  # noqa: E731
    span, age = q(0.95) - q(0.05), years[-1] - q(0.5)
    facts = (
        f"{distinct} distinct dates, years spread over {span:.0f} (5th-95th percentile), median "
        f"{age:.0f} years before the latest, {timed:.0%} with a time of day"
    )
    if timed < 0.05 and span >= LIFE_SPAN_YEARS and age >= LIFE_AGE_YEARS:
        return _policy(
            "generalize",
            "DATE_OF_BIRTH",
            typ,
            "values:DATE_OF_BIRTH",
            params={"to": "year"},
            detail=f"{facts}: dates of birth or death; generalized to the year",
        )
    return _policy(
        "keep",
        None,
        typ,
        "values:event_dates",
        detail=f"{facts}: event dates (recent, narrow or timed); kept",
    )


def _classify_text(
    name: str, typ: pa.DataType, values: list[Any], table: str, use_presidio: bool
) -> ColumnPolicy:
    sample = _text_values(values)
    for entity, action, test in VALUE_RULES:
        share = sum(1 for s in sample if test(s)) / len(sample)
        if share >= VALUE_SHARE:
            if entity == "JSON":
                if not _all_json(values):  # the json action refuses a value that does not parse
                    return _policy(
                        "scrub_text",
                        "JSON",
                        typ,
                        "values:JSON;mixed",
                        share,
                        detail="JSON mixed with other text: scrubbed as text",
                    )
                return _classify_json(name, typ, sample, share, table, use_presidio)
            if entity == "NUMBER":  # digits in text: a phone, SSN or card without separators?
                digits = [s.lstrip("+") for s in sample if _DIGITS.match(s.lstrip("+"))]
                present = [v for v in values if isinstance(v, str) and v.strip()]
                found = _number_entity(
                    digits, len(sample), VALUE_SHARE, len(set(present)) / max(len(present), 1)
                )
                if found:
                    return _policy("fake", found[0], typ, f"values:{found[0]}", found[1])
            if entity == "ZIP_CODE":
                return _policy("generalize", entity, typ, f"values:{entity}", share, params={"to": "zip3"})
            if entity == "UUID":
                return _policy("hmac", id_entity(table, name), typ, "values:UUID", share)
            if entity == "URL" and not any(_URL_PERSONAL.search(s) for s in sample):
                return _policy(
                    "keep",
                    None,
                    typ,
                    "values:URL",
                    share,
                    detail="no e-mail, phone-like number or personal parameter in the sampled URLs",
                )
            return _policy(action, entity if action != "keep" else None, typ, f"values:{entity}", share)
    long_text = sum(len(s) > 40 and " " in s for s in sample) / len(sample)
    if long_text >= 0.3:
        return _policy("scrub_text", "FREE_TEXT", typ, "values:free_text", long_text)
    present = [v for v in values if isinstance(v, str) and v.strip()]
    names = _person_names(sample, len(present) / max(len(set(present)), 1))
    if names:
        return _policy(
            "fake",
            names[0],
            typ,
            f"gazetteer:{names[0]}",
            names[1],
            detail=f"{len(sample)} distinct values checked against given names and surnames",
        )
    categorical, words, repeat, distinct = _categorical(values, sample)
    if categorical:
        return _policy(
            "keep",
            None,
            typ,
            "categorical",
            words,
            round(repeat, 1),
            detail=f"{distinct} distinct values, each repeated {repeat:.1f} times on average; "
            f"{words:.0%} dictionary words",
        )
    ident = _identifier_like(values, sample)
    if ident >= VALUE_SHARE:
        return _policy(
            "hmac",
            id_entity(table, name),
            typ,
            "values:identifier",
            ident,
            detail="distinct tokens with digits, no spaces: pseudonymized like an id",
        )
    if use_presidio:
        found = _presidio_share(sample)
        if found:
            entity, share, score = found
            if entity == "PERSON":
                return _policy("fake", "PERSON", typ, "presidio:PERSON", share, score)
            if entity == "LOCATION":
                return _policy("fake", "CITY", typ, "presidio:LOCATION", share, score)
            return _policy("scrub_text", entity, typ, f"presidio:{entity}", share, score)
    # Nothing matched, but text we cannot explain is not passed through: scrub it.
    return _policy(
        "scrub_text",
        "UNKNOWN_TEXT",
        typ,
        "fallback",
        words,
        round(repeat, 1),
        detail=f"{distinct} distinct values, repeated {repeat:.1f} times on average; "
        f"{words:.0%} dictionary words: not categorical",
    )


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
    from datarefresh.anonymize.paths import json_leaves

    by_path: dict[str, list[Any]] = {}
    for text in sample:
        try:
            leaves = json_leaves(json.loads(text))
        except ValueError:
            continue
        for path, refs in leaves.items():
            by_path.setdefault(path, []).extend(c[k] for c, k in refs)
    fields = {}
    for path, vals in sorted(by_path.items()):
        try:
            leaf_type = pa.array(vals).type
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
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


_EXPIRY_NAME = re.compile(
    r"^(?:exp|expiry|expires|expiration|expire|valid_thru|valid_until|good_thru)"
    r"(?:_(?:date|month|year|mm|yy|yyyy))?$|^(?:mm_yy|mmyy)$"
)
_CODE_NAME = re.compile(r"^(?:code|security|sec_code|verification|verification_code|pin|cid)$")


def _card_context(columns: dict[str, ColumnPolicy], sample: pa.Table) -> None:
    """Next to a card number, `exp`/`expires` is the card's expiry and a 3-4 digit `code`
    its security code: names that say nothing alone say enough there."""
    if not any(p.entity == "CREDIT_CARD" for p in columns.values()):
        return
    for col, pol in list(columns.items()):
        if pol.evidence and pol.evidence.detector.startswith("name"):
            continue
        tok, typ = _tokens(col), sample.schema.field(col).type
        if _EXPIRY_NAME.match(tok):
            rule = NameRule("", "generalize", "CARD_EXPIRY", (("to", "year"),))
        elif _CODE_NAME.match(tok) and all(
            re.fullmatch(r"\d{3,4}", str(v))
            for v in sample.column(col).drop_null().to_pylist()[:SAMPLE_VALUES]
        ):
            rule = NameRule("", "null", "CARD_SECURITY_CODE")
        else:
            continue
        values = sample.column(col).to_pylist()
        present = [v for v in values if v is not None]
        base = typ.value_type if pa.types.is_dictionary(typ) else typ
        got = _from_rule(rule, col, typ, base, values, present, "")
        if got is not None:
            ev = got.evidence
            columns[col] = _applicable(
                got.model_copy(update={"evidence": ev.model_copy(update={"detector": "name+card_context"})}),
                typ,
            )


GEO_DECIMALS = 4  # coordinates to 4 decimals locate a person to about 10 m
GEO_SHARE = 0.9


def _coordinates(values: list[Any]) -> tuple[float, float] | None:
    """(largest magnitude, share with >= GEO_DECIMALS decimals) of a float column that could hold
    latitudes or longitudes, or None."""
    nums = [float(v) for v in values if isinstance(v, (float, Decimal)) and math.isfinite(v)]
    if len(set(nums)) < MIN_DATES:
        return None
    top = max(abs(v) for v in nums)
    if top > 180 or top <= 1:  # beyond any coordinate, or a share / probability
        return None
    fine = sum(
        1 for v in nums if abs(v * 10 ** (GEO_DECIMALS - 1) - round(v * 10 ** (GEO_DECIMALS - 1))) > 1e-6
    )
    return top, fine / len(nums)


def _geo_context(columns: dict[str, ColumnPolicy], sample: pa.Table) -> None:
    """Two float columns under names that say nothing, one within -90..90 and the other within
    -180..180, both with 4 or more decimals: a latitude/longitude pair, rounded like a named one."""
    found = {}
    for col, pol in columns.items():
        typ = sample.schema.field(col).type
        if not (pol.evidence and pol.evidence.detector == "values:number") or not (
            pa.types.is_floating(typ) or pa.types.is_decimal(typ)
        ):  # kept by a name (price, score): stays
            continue
        got = _coordinates(sample.column(col).to_pylist())
        if got and got[1] >= GEO_SHARE:
            found[col] = got
    if len(found) < 2 or not any(top <= 90 for top, _ in found.values()):
        return
    for col, (top, fine) in found.items():
        typ = sample.schema.field(col).type
        columns[col] = _applicable(
            _policy(
                "generalize",
                "GEO_COORDINATE",
                typ,
                "values:GEO_COORDINATE",
                fine,
                params={"to": "round", "digits": 1},
                detail=f"floats within +/-{'90' if top <= 90 else '180'}, {fine:.0%} with "
                f"{GEO_DECIMALS}+ decimals, beside another such column: a latitude/longitude pair; "
                "rounded to 1 decimal (about 11 km)",
            ),
            typ,
        )


def classify_table(
    name: str, sample: pa.Table, *, use_presidio: bool = True, find_keys: bool = True
) -> TableConfig:
    """A table policy from a sample of its rows (and its primary key, from the sample's values,
    unless the caller finds keys on the whole table: `datarefresh.detect.keys`)."""
    columns = {}
    for field in sample.schema:
        values = sample.column(field.name).to_pylist()
        columns[field.name] = classify_values(
            field.name, field.type, values, table=name, use_presidio=use_presidio
        )
    _card_context(columns, sample)
    _geo_context(columns, sample)
    table = TableConfig(columns=columns)
    if find_keys:
        from datarefresh.detect import keys

        keys.discover_keys(
            {name: table},
            {name: keys.profile_table(sample, columns)},
            {name: sample.schema},
            classified={name},
            foreign_keys=False,
        )
    from datarefresh.detect.quasi import refine

    return refine(name, sample, table)  # small domains, functions of kept columns, quasi-identifiers
