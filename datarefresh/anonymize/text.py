"""scrub_text: each PII span Presidio (plus our recognizers) finds becomes a consistent fake.

The replacement for a span is the same function of (key, entity, span text) as a
structured column of that entity, so "ana@example.org" in a ticket body becomes the
same fake address as in the customers table.
"""

from __future__ import annotations

from collections import Counter, defaultdict

import pyarrow as pa

from datarefresh.anonymize import fakes
from datarefresh.detect.text import analyze_texts

# Presidio entity -> the fake generator used for it.
FAKE_FOR = {"LOCATION": "CITY", "US_BANK_NUMBER": "NATIONAL_ID", "UK_NHS": "NATIONAL_ID",
            "MEDICAL_LICENSE": "NATIONAL_ID"}


def scrub_texts(values: pa.Array, ctx) -> pa.Array:
    """Scrub an array of (distinct) texts; nulls and empty strings pass through."""
    texts = values.cast(pa.string()).to_pylist()
    todo = [i for i, t in enumerate(texts) if t]
    spans = analyze_texts([texts[i] for i in todo]) if todo else []
    found: dict[str, set[str]] = defaultdict(set)
    counts: Counter = Counter()
    for i, sp in zip(todo, spans):
        for s in sp:
            found[s.entity].add(texts[i][s.start:s.end])
            counts[s.entity] += 1
    replacement: dict[tuple[str, str], str] = {}
    for entity, originals in found.items():
        gen = FAKE_FOR.get(entity, entity)
        arr = pa.array(sorted(originals), pa.string())
        fake = fakes.fake(gen, arr, ctx.keyring.hash_values(gen, arr)).to_pylist()
        replacement.update({(entity, o): f for o, f in zip(arr.to_pylist(), fake)})
    out = list(texts)
    for i, sp in zip(todo, spans):
        t = texts[i]
        parts, last = [], 0
        for s in sp:
            parts.append(t[last:s.start])
            parts.append(replacement[(s.entity, t[s.start:s.end])])
            last = s.end
        parts.append(t[last:])
        out[i] = "".join(parts)
    stats = ctx.stats.setdefault("text_entities", Counter())
    stats.update(counts)
    # the leak scan's re-analysis must tell our own fakes from surviving originals
    generated = ctx.stats.setdefault("generated", set())
    if len(generated) < 200_000:
        generated.update(replacement.values())
    return pa.array(out, pa.string())
