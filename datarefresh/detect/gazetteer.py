"""A multi-locale gazetteer of given names and surnames, offline.

The lists are a committed extract of the `names-dataset` package (105 countries; see
`scripts/make_gazetteer.py`): every name within the top 2,500 given names or top 4,000
surnames of at least one country, with its best rank there. Lookups ignore case and
accents, so `ÉDITH`, `edith` and `Edith` are the same name.

Many names are also ordinary words (`May`, `Will`, `Street`, `The`); `word_frequency`
(wordfreq's Zipf scale, English by default) lets callers discount them. `is_common_word` answers
"at least this frequent" for the common plain words from a committed extract of wordfreq
(`scripts/make_wordlists.py`), so classifying columns does not import wordfreq (~0.3 s a process).
"""

from __future__ import annotations

import gzip
import unicodedata
from functools import cache
from importlib import resources


def fold(token: str) -> str:
    """Case- and accent-insensitive form: 'Édith' -> 'edith', 'Øster' -> 'oster'."""
    decomposed = unicodedata.normalize("NFKD", token.casefold())
    folded = "".join(c for c in decomposed if not unicodedata.combining(c))
    return folded.replace("ø", "o").replace("ß", "ss").replace("ł", "l").replace("’", "'")


@cache
def _load(filename: str) -> dict[str, int]:
    data = resources.files("datarefresh").joinpath("data", filename).read_bytes()
    ranks: dict[str, int] = {}
    for line in gzip.decompress(data).decode().splitlines():
        name, rank = line.split("\t")
        key = fold(name)
        r = int(rank)
        if r < ranks.get(key, 1 << 30):
            ranks[key] = r
    return ranks


def given_rank(token: str) -> int | None:
    """Best rank of `token` among any country's given names (1 = most common), or None."""
    return _load("given_names.tsv.gz").get(fold(token))


def surname_rank(token: str) -> int | None:
    """Best rank of `token` among any country's surnames (1 = most common), or None."""
    return _load("surnames.tsv.gz").get(fold(token))


def name_rank(token: str) -> int | None:
    """Best rank as a given name or a surname, or None when it is neither."""
    ranks = [r for r in (given_rank(token), surname_rank(token)) if r is not None]
    return min(ranks) if ranks else None


def word_frequency(token: str, lang: str = "en") -> float:
    """Zipf frequency of `token` as a word of `lang` (0 = unknown, 3 = rare, 6+ = very common)."""
    from wordfreq import zipf_frequency  # 0.3 s to import: only runs that look at words pay it

    return zipf_frequency(token, lang)


COMMON_ZIPF = 3.0  # the extract holds every plain English word at least this frequent


def is_common_word(token: str, zipf: float) -> bool:
    """`word_frequency(token) >= zipf` (English), for `zipf >= COMMON_ZIPF`. A word of Latin letters
    (any case or accents) is looked up in the extract, under the form wordfreq looks words up by
    (NFC, casefolded); the extract holds every such word that frequent. Anything else asks wordfreq."""
    if zipf < COMMON_ZIPF:
        raise ValueError(f"the extract answers for Zipf frequencies from {COMMON_ZIPF} up")
    key = unicodedata.normalize("NFC", token).casefold()
    if _latin_key(key):
        return _common_words().get(key, 0.0) >= zipf
    return word_frequency(token) >= zipf


def _latin_key(key: str) -> bool:
    return key.isalpha() and max(key) <= "\u024f"  # letters of the Latin blocks (scripts/make_wordlists.py)


def wordlist(filename: str) -> list[str]:
    """The lines of a committed wordfreq extract in datarefresh/data/ (its header skipped)."""
    data = resources.files("datarefresh").joinpath("data", filename).read_bytes()
    return [line for line in gzip.decompress(data).decode().splitlines() if not line.startswith("#")]


@cache
def _common_words() -> dict[str, float]:
    return {w: float(z) for w, z in (line.split("\t") for line in wordlist("words_en_common.tsv.gz"))}
