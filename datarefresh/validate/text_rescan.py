"""An independent re-scan of scrubbed free text: what looks like surviving PII.

Deliberately not the scrubber's analyzer nor its recognizers (a detector checking its own
output finds nothing it missed): gazetteer names that are rare as words, pyap's US address
parser, phonenumbers' matcher in its stricter VALID mode, and checksummed or fixed-shape
numbers (Luhn cards, mod-97 IBANs, SSNs, e-mails, IPv4). A finding equal to (or a name
word of) one of the fakes the scrubber wrote is explained, not a hit.
"""

from __future__ import annotations

from itertools import pairwise

import regex as re

from datarefresh.detect import gazetteer

_WORD = re.compile(
    r"(?<![\p{L}\p{M}\p{N}_@.])\p{L}[\p{L}\p{M}]*(?:['’-]\p{L}[\p{L}\p{M}]*)*(?![\p{L}\p{M}\p{N}_@])"
)
_CUE = re.compile(
    r"(?i:\b(?:dear|hi|hello|hey|thanks|regards|cheers|sincerely|name|mr|mrs|ms|dr|spoke to|customer|"
    r"caller|from|attn|signed)\b)[^\n\p{L}]{0,4}$"
)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_IPV4 = re.compile(r"(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)(?![\d.])")
_SSN = re.compile(r"(?<![\d-])\d{3}-\d{2}-\d{4}(?![\d-])")
_CARD = re.compile(r"(?<![\d-])\d{4}(?:[ -]?\d{2,6}){2,4}(?![\d-])")
_IBAN = re.compile(r"(?i)(?<![\w])[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{1,4}){3,8}(?![\w])")
_STREETISH = re.compile(
    r"(?<![\w.,:-])\d{1,5},?[ ](?:\p{Lu}\p{Ll}[\p{L}\p{M}'’.-]*[ ]){1,3}\p{Lu}\p{Ll}[\p{L}\p{M}'’.-]*"
    r"|\b\p{Lu}\p{Ll}[\p{L}\p{M}'’-]{3,}[ ]\d{1,5}[a-z]?\b(?![.:/-]\d)"
)
_LONG_NUMBER = re.compile(r"(?<![\w-])\+?\(?\d[\d ().-]{6,20}\d(?![\w-])")
_DATE_SHAPE = re.compile(r"^\d{4}-\d{2}-\d{2}|^\d{1,2}[./-]\d{1,2}[./-]\d{2,4}$|^\d{1,2}:\d{2}")
_RARE = 4.0  # Zipf frequency below which a gazetteer name is more likely a name than a word
_RARE_ALONE = 3.3  # a lone word must be rarer still


def _luhn(d: str) -> bool:
    total = 0
    for i, c in enumerate(reversed(d)):
        n = int(c) * (2 if i % 2 else 1)
        total += n - 9 if n > 9 else n
    return total % 10 == 0


def _iban(v: str) -> bool:
    s = v.replace(" ", "").upper()
    if not 15 <= len(s) <= 34:
        return False
    try:
        return int("".join(str(int(c, 36)) for c in s[4:] + s[:4])) % 97 == 1
    except ValueError:
        return False


def _is_name(word: str) -> bool:
    return gazetteer.name_rank(word) is not None and gazetteer.word_frequency(word) < _RARE


def findings(text: str, generated: set[str], generated_words: set[str]) -> list[tuple[int, int, str]]:
    """(start, end, entity) of unexplained high-risk-looking spans in one scrubbed text."""
    import phonenumbers
    import pyap

    out: list[tuple[int, int, str]] = []

    def add(s: int, e: int, entity: str) -> None:
        value = text[s:e].strip()
        if value in generated:
            return
        tokens = [t.casefold() for t in _TOKEN.findall(value)]
        if tokens and sum(t in generated_words for t in tokens) >= 0.6 * len(tokens):
            return  # mostly words and digit groups of our own fakes (a fake with a neighbour attached)
        out.append((s, e, entity))

    upper = sum(c.isupper() for c in text) > 0.8 * max(1, sum(c.isalpha() for c in text))
    words = [
        m
        for m in _WORD.finditer(text)
        if (m.group()[0].isupper() or upper)
        and m.group().casefold() not in generated_words
        and _is_name(m.group())
    ]
    for a, b in pairwise(words):  # two name words side by side
        if (
            text[a.end() : b.start()] in (" ", "-")
            and gazetteer.word_frequency(a.group()) + gazetteer.word_frequency(b.group()) < 2 * _RARE - 1
        ):
            add(a.start(), b.end(), "PERSON")
    for m in words:  # one rare name word ("Dear Édith", "Ravy", "Name: Klein")
        w = m.group()
        if len(w) >= 3 and (upper or not w.isupper()) and gazetteer.word_frequency(w) < _RARE_ALONE:
            add(m.start(), m.end(), "PERSON")
    for m in _STREETISH.finditer(text):  # a house number next to capitalised words, either order
        ws = _WORD.findall(m.group())
        # "12 Kelly Groves": the last word must not be a common one; "Tygobaan 8": the first
        edge = ws[-1] if m.group()[0].isdigit() else ws[0]
        if gazetteer.word_frequency(edge) < 4.0:
            add(m.start(), m.end(), "STREET_ADDRESS")
    for m in _LONG_NUMBER.finditer(text):  # 8+ digits that are not a date: a phone, an id, an account
        digits = sum(c.isdigit() for c in m.group())
        if 8 <= digits <= 16 and not _DATE_SHAPE.search(m.group()):
            add(m.start(), m.end(), "PHONE_NUMBER")
    for m in _EMAIL.finditer(text):
        add(m.start(), m.end(), "EMAIL_ADDRESS")
    for m in _IPV4.finditer(text):
        add(m.start(), m.end(), "IP_ADDRESS")
    for m in _SSN.finditer(text):
        add(m.start(), m.end(), "US_SSN")
    for m in _CARD.finditer(text):
        digits = "".join(c for c in m.group() if c.isdigit())
        if 13 <= len(digits) <= 19 and _luhn(digits):
            add(m.start(), m.end(), "CREDIT_CARD")
    for m in _IBAN.finditer(text):
        if _iban(m.group()):
            add(m.start(), m.end(), "IBAN_CODE")
    for pm in phonenumbers.PhoneNumberMatcher(text, "US", leniency=phonenumbers.Leniency.VALID):
        add(pm.start, pm.end, "PHONE_NUMBER")
    for addr in pyap.parse(text, country="US"):
        add(addr.match_start, addr.match_end, "STREET_ADDRESS")
    return out


_TOKEN = re.compile(r"[\p{L}\p{M}\p{N}]+")


def generated_words(generated: set[str]) -> set[str]:
    """Words and digit groups of the fakes we wrote ('Maria Lopez' -> {'maria', 'lopez'})."""
    return {w.casefold() for g in generated for w in _TOKEN.findall(g)}
