"""Name rules on >= 300 real column names of public formats (tests/corpus/column_names.csv).

Floors are asserted on the held-out half, which no rule change may be tuned on (see
bench/names_bench.py for the split and the rule); `./dev bench` prints both halves.
"""

from __future__ import annotations

from collections import Counter

from bench.names_bench import evaluate, load_corpus, split_of

ENTITIES = {
    "none",
    "ID",
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "FIRST_NAME",
    "LAST_NAME",
    "PERSON",
    "STREET_ADDRESS",
    "CITY",
    "ZIP_CODE",
    "DATE_OF_BIRTH",
    "DATE_OF_DEATH",
    "AGE",
    "US_SSN",
    "NATIONAL_ID",
    "US_PASSPORT",
    "US_DRIVER_LICENSE",
    "CREDIT_CARD",
    "CARD_SECURITY_CODE",
    "CARD_EXPIRY",
    "IBAN_CODE",
    "IP_ADDRESS",
    "USERNAME",
    "PASSWORD",
    "GEO_COORDINATE",
}


def test_corpus_is_large_varied_and_labelled_with_known_entities():
    rows = load_corpus()
    assert len(rows) >= 300
    assert {r["entity"] for r in rows} <= ENTITIES
    assert len({r["source"] for r in rows}) >= 15
    assert len({r["column"] for r in rows}) == len(rows)  # each name once
    splits = Counter(split_of(r) for r in rows)
    assert min(splits.values()) >= 0.4 * len(rows)


def test_name_rules_on_the_held_out_half():
    held = evaluate([r for r in load_corpus() if split_of(r) == "heldout"])
    personal, everything = held["personal_entities"], held["all_entities"]
    assert personal["labelled"] >= 100
    assert personal["precision"] >= 0.92 and personal["recall"] >= 0.9, personal
    assert everything["precision"] >= 0.92 and everything["recall"] >= 0.85, everything
