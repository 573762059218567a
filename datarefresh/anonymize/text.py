"""scrub_text: each PII span Presidio (plus our recognizers) finds becomes a consistent fake.

The replacement for a span is the same function of (key, entity, span text) as a
structured column of that entity, so "ana@example.org" in a ticket body becomes the
same fake address as in the customers table.
"""

from __future__ import annotations

from collections import Counter, defaultdict

import pyarrow as pa

from datarefresh.anonymize import fakes
from datarefresh.detect.text import Span, analyze_texts

# spaCy's own default limit (nlp.max_length): its parser and NER need about 1 GB of memory
# per 100,000 characters, so longer texts are refused with this limit named, never cut.
MAX_TEXT_CHARS = 1_000_000

# Presidio entity -> the fake generator used for it.
FAKE_FOR = {
    "LOCATION": "CITY",
    "US_BANK_NUMBER": "NATIONAL_ID",
    "UK_NHS": "NATIONAL_ID",
    "MEDICAL_LICENSE": "NATIONAL_ID",
}  # a DATE_OF_BIRTH becomes a keyed valid date in its layout (fakes.py)
CACHE_MAX = 100_000  # scrubbed texts remembered across the chunks of a column (in memory only)


def scrub_text_list(texts: list[str], ctx) -> tuple[list[str], list[list[Span]]]:
    """Scrub texts (no nulls); returns the scrubbed texts and the spans replaced in each."""
    todo = [i for i, t in enumerate(texts) if t]
    longest = max((len(texts[i]) for i in todo), default=0)
    if longest > MAX_TEXT_CHARS:
        from datarefresh.anonymize.operators import OperatorError

        raise OperatorError(
            f"a text of {longest:,} characters is longer than the {MAX_TEXT_CHARS:,} "
            "characters free-text scrubbing analyses (memory bound); redact or null this "
            "column, or split the text upstream"
        )
    spans_of = analyze_texts([texts[i] for i in todo]) if todo else []
    spans: list[list[Span]] = [[] for _ in texts]
    for i, sp in zip(todo, spans_of):
        spans[i] = sp
    found: dict[str, set[str]] = defaultdict(set)
    counts: Counter = Counter()
    for t, sp in zip(texts, spans):
        for s in sp:
            found[s.entity].add(t[s.start : s.end])
            counts[s.entity] += 1
    replacement: dict[tuple[str, str], str] = {}
    for entity, originals in found.items():
        gen = FAKE_FOR.get(entity, entity)
        arr = pa.array(sorted(originals), pa.string())
        fake = fakes.fake(gen, arr, ctx.keyring.hash_values(gen, arr)).to_pylist()
        replacement.update({(entity, o): f for o, f in zip(arr.to_pylist(), fake)})
    out = list(texts)
    for i, sp in enumerate(spans):
        if not sp:
            continue
        t = texts[i]
        parts, last = [], 0
        for s in sp:
            parts.append(t[last : s.start])
            parts.append(replacement[(s.entity, t[s.start : s.end])])
            last = s.end
        parts.append(t[last:])
        out[i] = "".join(parts)
    stats = ctx.stats.setdefault("text_entities", Counter())
    stats.update(counts)
    # the leak scan's re-analysis must tell our own fakes from surviving originals
    generated = ctx.stats.setdefault("generated", set())
    if len(generated) < 200_000:
        generated.update(replacement.values())
    return out, spans


def scrub_texts(values: pa.Array, ctx) -> pa.Array:
    """Scrub an array of texts; nulls and empty strings pass through. A text seen earlier in
    the column (any chunk) reuses its scrubbed form instead of being analysed again."""
    texts = values.cast(pa.string()).to_pylist()
    cache: dict[str, str] = ctx.stats.setdefault("text_cache", {})
    # this batch's results are looked up from `done`, never from the shared cache, which may be
    # cleared when it fills (a KeyError there would name a raw text)
    done = {t: cache[t] for t in dict.fromkeys(texts) if t and t in cache}
    new = [t for t in dict.fromkeys(texts) if t and t not in done]
    if new:
        scrubbed, _ = scrub_text_list(new, ctx)
        done.update(zip(new, scrubbed))
        if len(cache) + len(new) > CACHE_MAX:
            cache.clear()
        cache.update(zip(new, scrubbed))
    return pa.array([done[t] if t else t for t in texts], pa.string())
