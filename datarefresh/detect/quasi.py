"""Quasi-identifiers and small domains, proposed from a table's sample and its column policies.

Runs after the column rules (classify_table's last step), so it sees what each column will
become. Three decisions, each with evidence and never a raw value:

1. Small domains are not substitution ciphers. A low-cardinality column whose policy would map
   each value one-to-one to a keyed fake of a non-identifying kind (a 31-value country name
   turned into fake city names) is decoded by a frequency count and useless; it is kept
   instead and watched as a quasi-identifier (dev generalizes it to k).
2. A column that is a function of a kept column (a country name beside its code) adds nothing
   an attacker does not already have from the kept one: it is treated like it (kept, and a
   quasi-identifier whenever the kept one is).
3. Quasi-identifiers: columns whose output still carries the real value (kept or generalized)
   and that describe a person publicly: dates of birth, gender, postcode, city/region/country,
   age, occupation, employer, and other mid-cardinality attributes of a table about people.
"""

from __future__ import annotations

import re

import pyarrow as pa
import pyarrow.compute as pc

from datarefresh.config import ColumnPolicy, Evidence, TableConfig

# Names (tokenized, see classify._tokens) of attributes an attacker finds in a public roster.
QI_NAME = re.compile(
    r"(?:^|_)(?:birth|dob|birthday|birth_?date|date_of_birth|gender|sex|zip|zip_?code|postal|postal_?code|"
    r"postcode|city|town|state|province|region|county|country|country_?full|nationality|age|occupation|job|"
    r"job_?title|profession|employer|company|organi[sz]ation|marital|ethnicity|race|religion|language)"
    r"(?:$|_)"
)
QI_ENTITIES = {"DATE_OF_BIRTH", "GENDER", "ZIP_CODE", "AGE"}
# Fakes of these kinds carry no identity of their own: on a small domain they are only a cipher.
NON_IDENTIFYING_FAKES = {
    "CITY",
    "LOCATION",
    "COUNTRY",
    "STATE",
    "REGION",
    "NRP",
    "ORGANIZATION",
    "UNKNOWN_TEXT",
}
# Columns that make a table "about people" (then its mid-cardinality attributes are watched).
PERSON_ENTITIES = {
    "PERSON",
    "FIRST_NAME",
    "LAST_NAME",
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "DATE_OF_BIRTH",
    "US_SSN",
    "NATIONAL_ID",
    "STREET_ADDRESS",
    "USERNAME",
}
SMALL_DOMAIN = 64  # at most this many distinct values (and each seen 4 times on average)
MID_CARDINALITY = (20, 0.5)  # at least 20 distinct values, at most half the sampled rows


def _tokens(name: str) -> str:
    name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def _is_text(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t)


def carries_value(p: ColumnPolicy) -> bool:
    """The output holds the real value, maybe coarser (what an attacker can link on)."""
    return p.action in ("keep", "generalize")


def _keep(p: ColumnPolicy, detector: str, share: float | None = None) -> ColumnPolicy:
    return p.model_copy(
        update={
            "action": "keep",
            "entity": None,
            "params": {},
            "evidence": Evidence(detector=detector, match_share=share),
        }
    )


def _short(col: pa.ChunkedArray) -> bool:
    """Values of a few words (an attribute), not sentences."""
    lengths = pc.utf8_length(col.drop_null()) if col.null_count < len(col) else None
    return lengths is not None and (pc.mean(lengths).as_py() or 0) <= 40


def _determines(sample: pa.Table, driver: str, col: str) -> bool:
    """Every value of `driver` goes with one value of `col` in the sample (col = f(driver))."""
    pairs = sample.select([driver, col]).group_by([driver, col], use_threads=False).aggregate([])
    drivers = pc.count_distinct(sample.column(driver), mode="all").as_py()
    return pairs.num_rows == drivers and drivers >= 2


def undeclared(table: TableConfig) -> list[str]:
    """Columns of a table about people that keep their value (kept or generalized) and are named or
    typed like quasi-identifiers, but are in neither quasi_identifiers nor not_quasi_identifiers. A
    config's list is used as written, so such a column (employer and occupation left out) would
    single people out of a dev sample generalized on the others only. By name and policy only
    (refine also looks at values); keys are never quasi-identifiers."""
    columns = table.columns
    if not any((p.entity or "") in PERSON_ENTITIES | QI_ENTITIES for p in columns.values()):
        return []
    keys = {table.primary_key} | {fk.column for fk in table.foreign_keys}
    listed = set(table.quasi_identifiers) | set(table.not_quasi_identifiers)
    return [
        c
        for c, p in columns.items()
        if c not in keys
        and c not in listed
        and carries_value(p)
        and ((p.entity or "") in QI_ENTITIES or QI_NAME.search(_tokens(c)))
    ]


def refine(name: str, sample: pa.Table, table: TableConfig) -> TableConfig:
    """The table policy with small domains kept, functions of kept columns treated like them,
    and quasi-identifiers proposed (with evidence in quasi_identifier_evidence)."""
    columns = dict(table.columns)
    rows = sample.num_rows
    distinct = {
        c: pc.count_distinct(sample.column(c)).as_py()
        for c in sample.column_names
        if c in columns and _is_text(sample.schema.field(c).type)
    }
    # 1. functions of kept columns -> treated like them
    kept = [c for c in distinct if columns[c].action == "keep"]
    follows: dict[str, str] = {}
    for c, d in distinct.items():
        p = columns[c]
        # only replacements of non-identifying kinds: never ids, names, contacts, or what a policy
        # deliberately blanks (mask, redact, null)
        if p.action not in ("fake", "scrub_text") or (p.entity or "") not in NON_IDENTIFYING_FAKES:
            continue
        if rows < 4 * d:  # too few rows to call it a function
            continue
        for k in kept:
            if k != c and d <= distinct[k] and _determines(sample, k, c):
                columns[c] = _keep(p, f"function_of:{k}")
                follows[c] = k
                break
    # 2. small domains faked one-to-one -> kept
    for c, d in distinct.items():
        p = columns[c]
        if (
            p.action == "fake"
            and (p.entity or "") in NON_IDENTIFYING_FAKES
            and 2 <= d <= SMALL_DOMAIN
            and rows >= 4 * d
        ):
            columns[c] = _keep(p, f"small_domain:{d} values", round(d / max(rows, 1), 3))
    # 3. quasi-identifiers
    evidence: dict[str, Evidence] = {}
    person_table = any((p.entity or "") in PERSON_ENTITIES | QI_ENTITIES for p in columns.values())
    if not person_table:  # rows that are not people (orders.state, products.region) are no one's roster
        return table.model_copy(update={"columns": columns})
    for c, p in columns.items():
        if c == table.primary_key or c not in sample.column_names:
            continue
        typ = sample.schema.field(c).type
        d = distinct.get(c)
        named = (p.entity or "") in QI_ENTITIES or QI_NAME.search(_tokens(c))
        # a short attribute scrubbed as text keeps every value the scrubber finds nothing in
        scrubbed_attribute = p.action == "scrub_text" and named and _short(sample.column(c))
        if not (carries_value(p) or scrubbed_attribute):
            continue
        if named:
            evidence[c] = Evidence(
                detector="name:quasi_identifier" if QI_NAME.search(_tokens(c)) else f"entity:{p.entity}",
                match_share=None if d is None else round(d / rows, 3),
            )
        elif d is not None and _is_text(typ) and MID_CARDINALITY[0] <= d <= MID_CARDINALITY[1] * rows:
            evidence[c] = Evidence(
                detector="values:mid_cardinality_attribute", match_share=round(d / rows, 3)
            )
    for c, k in follows.items():
        if k in evidence and c not in evidence:
            evidence[c] = Evidence(detector=f"function_of:{k}")
    qis = list(table.quasi_identifiers) or [c for c in columns if c in evidence]
    return table.model_copy(
        update={
            "columns": columns,
            "quasi_identifiers": qis,
            "quasi_identifier_evidence": {c: evidence[c] for c in qis if c in evidence},
        }
    )
