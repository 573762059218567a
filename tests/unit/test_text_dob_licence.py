"""Free text: dates of birth become valid keyed dates in their layout; driver's licences with and
without a cue."""

import datetime as dt
import random
import re

import pyarrow as pa
import pytest

from datarefresh.anonymize import fakes
from datarefresh.anonymize.keyed import Keyring
from datarefresh.anonymize.operators import OpContext
from datarefresh.anonymize.text import scrub_texts
from tests.conftest import TEST_KEY

MONTHS = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
]


def _shape(s: str) -> str:
    """Layout of a date: digit runs by width, month words by style (full / 3 letters) and case."""

    def word(m):
        w = m.group()
        style = "?" if w.lower() == "may" else "F" if w.lower() in MONTHS else "A"  # "May": full and short
        return style + ("U" if w.isupper() else "C" if w[0].isupper() else "l")

    return re.sub(r"[^\W\d_]+", word, re.sub(r"\d", "9", s))


def _parse(s: str, fmt: str) -> dt.date:
    return dt.datetime.strptime(s, fmt).date()


LAYOUTS = ["%Y-%m-%d", "%d.%m.%Y", "%B %d, %Y", "%d %b %Y", "%d %B %Y", "%b %d, %Y"]


def _dobs(n: int, fmt: str) -> list[str]:
    r = random.Random(fmt)
    return [(dt.date(1930, 1, 1) + dt.timedelta(days=r.randrange(27000))).strftime(fmt) for _ in range(n)]


@pytest.mark.parametrize("fmt", LAYOUTS)
def test_a_fake_date_of_birth_is_a_real_date_in_the_same_layout_with_the_year_kept(fmt):
    values = _dobs(60, fmt)
    arr = pa.array(values)
    out = fakes.fake("DATE_OF_BIRTH", arr, Keyring(TEST_KEY).hash_values("DATE_OF_BIRTH", arr)).to_pylist()
    for v, f in zip(values, out):
        a, b = _shape(f), _shape(v)
        assert len(a) == len(b) and all(x == y or "?" in (x, y) for x, y in zip(a, b)), (v, f)
        assert _parse(f, fmt).year == _parse(v, fmt).year  # and it parses: month 1-12, a day that month has
    assert sum(f != v for f, v in zip(out, values)) >= 55


def test_day_month_order_unknown_gives_a_date_valid_either_way():
    values = _dobs(80, "%m/%d/%Y") + _dobs(80, "%d/%m/%Y")
    arr = pa.array(values)
    out = fakes.fake("DATE_OF_BIRTH", arr, Keyring(TEST_KEY).hash_values("DATE_OF_BIRTH", arr)).to_pylist()
    for v, f in zip(values, out):
        a, b, _ = (int(x) for x in f.split("/"))
        first, second, _ = (int(x) for x in v.split("/"))
        if first <= 12 and second <= 12:  # ambiguous original: valid under both readings
            assert a <= 12 and b <= 12, (v, f)
        else:  # the side that says "day" stays a day
            assert (a > 12) == (first > 12) or a <= 12 and b <= 12, (v, f)
        _parse(f, "%d/%m/%Y" if first > 12 else "%m/%d/%Y")


def test_fake_dates_are_deterministic_under_the_key_and_change_with_it():
    arr = pa.array(_dobs(40, "%Y-%m-%d"))
    once = fakes.fake("DATE_OF_BIRTH", arr, Keyring(TEST_KEY).hash_values("DATE_OF_BIRTH", arr)).to_pylist()
    again = fakes.fake("DATE_OF_BIRTH", arr, Keyring(TEST_KEY).hash_values("DATE_OF_BIRTH", arr)).to_pylist()
    other = fakes.fake(
        "DATE_OF_BIRTH", arr, Keyring(b"another key " * 4).hash_values("DATE_OF_BIRTH", arr)
    ).to_pylist()
    assert once == again
    assert sum(a != b for a, b in zip(once, other)) >= 35


LICENCE_TEXTS = {
    # with a cue word
    "Driver's license: D1234567 on file.": "D1234567",
    "DL# 123456789 checked": "123456789",
    # no cue word: a state whose layout the code has, a person, a date of birth
    "Ana Lopez,A7654321,CA,$12.00": "A7654321",
    "ID checked at counter: B51834000 (KY), exp 2029-04-30.": "B51834000",
    "Jan Kowalski  246813579  New York  1980-02-03": "246813579",
    '{"state":"FL","doc":"W123456789012"}': "W123456789012",
    "Ms. Ortega (TX 61852231) rented the van on 2026-04-27.": "61852231",
}
NOT_LICENCES = {
    "Caller read part number K9067826 off the box; shipped from our TX depot.": "K9067826",
    "A-489365,P40175131,EUR 832.57,FL,2026-07-19": "P40175131",  # FL licences are a letter and 12 digits
    "Invoice 123456789 was paid on 2026-01-02.": "123456789",
    "Ticket T394262 assigned to the billing team.": "T394262",
}


def test_licences_with_and_without_a_cue_word_are_replaced_and_lookalikes_kept():
    texts = list(LICENCE_TEXTS) + list(NOT_LICENCES)
    out = scrub_texts(pa.array(texts), OpContext(Keyring(TEST_KEY))).to_pylist()
    for text, scrubbed in zip(texts, out):
        value = LICENCE_TEXTS.get(text) or NOT_LICENCES[text]
        if text in LICENCE_TEXTS:
            assert value not in scrubbed, scrubbed
        else:
            assert value in scrubbed, scrubbed


def test_a_date_of_birth_in_text_becomes_a_valid_date():
    texts = [f"Name: Ana Lopez\nDate of birth: {d}\nPhone: 555-0100" for d in _dobs(30, "%d/%m/%Y")]
    out = scrub_texts(pa.array(texts), OpContext(Keyring(TEST_KEY))).to_pylist()
    for text, scrubbed in zip(texts, out):
        old = re.search(r"birth: (\S+)", text).group(1)
        new = re.search(r"birth: (\S+)", scrubbed).group(1)
        assert new != old
        a, b, year = (int(x) for x in new.split("/"))
        dt.date(year, b, a)  # a real date read as the original's day/month/year (raises if not)
        assert year == int(old.split("/")[2])
