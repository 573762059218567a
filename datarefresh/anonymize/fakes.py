"""Entity-aware fake values, computed for whole Arrow arrays at once.

Each generator takes the distinct values of a column and their keyed hashes and
returns realistic replacements: names from committed pools, e-mails at reserved
example domains, phone numbers, national ids and card numbers with the original
layout (digits replaced in place in the Arrow buffer; cards keep a valid Luhn digit).
No per-cell Faker calls: picking from pools and string assembly happen in numpy
and pyarrow kernels.
"""

from __future__ import annotations

import binascii
import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from datarefresh.anonymize.keyed import mix


@lru_cache(maxsize=None)
def pool(name: str) -> pa.Array:
    data = json.loads((Path(__file__).resolve().parents[1] / "data" / "pools.json").read_text("utf-8"))
    return pa.array(data[name], pa.string())


def pick(name: str, h: np.ndarray) -> pa.Array:
    p = pool(name)
    return p.take(pa.array((h % np.uint64(len(p))).astype(np.int64)))


def _join(*parts, sep: str = "") -> pa.Array:
    return pc.binary_join_element_wise(*parts, sep)


def number_strings(h: np.ndarray, width: int) -> pa.Array:
    """Zero-padded decimal strings of `width` digits taken from h."""
    return pc.utf8_lpad(
        pc.cast(pa.array((h % np.uint64(10**width)).astype(np.int64)), pa.string()), width, "0"
    )


def hex_tokens(h: np.ndarray) -> pa.Array:
    """16 lowercase hex characters per hash, built straight into an Arrow buffer."""
    data = binascii.hexlify(h.astype(">u8").tobytes())
    offsets = np.arange(0, 16 * (len(h) + 1), 16, dtype=np.int32)
    return pa.StringArray.from_buffers(len(h), pa.py_buffer(offsets.tobytes()), pa.py_buffer(data))


def _ascii_lower(names: pa.Array) -> pa.Array:
    folded = pc.utf8_normalize(pc.utf8_lower(names), "NFKD")
    return pc.replace_substring_regex(folded, r"[^a-z0-9]", "")


def _string_buffers(values: pa.Array):
    values = values.cast(pa.string())
    n = len(values)
    offsets = np.frombuffer(values.buffers()[1], dtype=np.int32)[values.offset : values.offset + n + 1]
    data_buf = values.buffers()[2]
    data = (
        np.frombuffer(data_buf, dtype=np.uint8)[offsets[0] : offsets[-1]].copy()
        if data_buf is not None
        else np.zeros(0, np.uint8)
    )
    offs = (offsets - offsets[0]).astype(np.int32)
    lengths = np.diff(offs)
    row = np.repeat(np.arange(n), lengths)
    pos = np.arange(len(data), dtype=np.int64) - np.repeat(offs[:-1], lengths)
    return values, offs, data, row, pos


def _rebuild(values: pa.Array, offs: np.ndarray, data: np.ndarray) -> pa.Array:
    validity = values.buffers()[0] if values.null_count else None
    if validity is not None and values.offset:
        # re-base the validity bitmap together with the offsets
        validity = pc.is_valid(values).buffers()[1]
    return pa.StringArray.from_buffers(
        len(values), pa.py_buffer(offs.tobytes()), pa.py_buffer(data.tobytes()), validity, values.null_count
    )


def _ranks(selected: np.ndarray, row: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """For the selected bytes: 1-based rank within their value, and how many their value has."""
    sel_row = row[selected]
    counts = np.bincount(sel_row, minlength=n)
    starts = np.cumsum(counts) - counts
    return np.arange(1, len(sel_row) + 1) - starts[sel_row], counts[sel_row]


def _digit_stream(h: np.ndarray, row: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """A keyed pseudo-random digit per (value, position): 4 bits of a per-value hash per
    position, a fresh hash every 16 positions. Cheap shifts instead of a mix per byte."""
    word = pos // 16
    streams = mix(h, 5)[row]
    far = np.flatnonzero(word > 0)
    if far.size:
        streams[far] = mix(h[row[far]], 100 + word[far].astype(np.uint64))
    nibble = (streams >> ((pos % 16) * 4).astype(np.uint64)) & np.uint64(0xF)
    return (nibble * np.uint64(10)) >> np.uint64(4)  # 0..15 -> 0..9


def scramble_digits(
    values: pa.Array, h: np.ndarray, *, luhn: bool = False, keep_country_code: bool = False
) -> pa.Array:
    """Replace every ASCII digit with a keyed pseudo-random digit, keeping the layout
    ("(415) 555-0100" stays "(ddd) ddd-dddd"). With luhn=True (card numbers) the first
    digit (the network) is kept and the last becomes a valid Luhn check digit. With
    keep_country_code, a leading "+44" stays as it is."""
    values, offs, data, row, pos = _string_buffers(values)
    is_digit = (data >= 48) & (data <= 57)
    if keep_country_code and len(data):
        plus_rows = np.zeros(len(values), bool)
        plus_rows[row[(pos == 0) & (data == ord("+"))]] = True
        first_sep = np.full(len(values), np.iinfo(np.int64).max)
        seps = np.flatnonzero(~is_digit & (pos > 0))
        np.minimum.at(first_sep, row[seps], pos[seps])
        # a country code has at most 3 digits; without a separator after it, keep only 2
        limit = np.where(first_sep == np.iinfo(np.int64).max, 3, np.minimum(first_sep, 4))
        is_digit &= ~(plus_rows[row] & (pos < limit[row]))
    digit_at = np.flatnonzero(is_digit)
    rnd = _digit_stream(h, row[digit_at], pos[digit_at])
    if not luhn:
        data[digit_at] = (48 + rnd).astype(np.uint8)
        return _rebuild(values, offs, data)
    digit = np.zeros(len(data), bool)
    digit[digit_at] = True
    rank, count = _ranks(digit, row, len(values))
    keep = rank == 1
    data[digit_at[~keep]] = (48 + rnd[~keep]).astype(np.uint8)
    from_right = count - rank  # 0 = check digit
    d = (data[digit_at] - 48).astype(np.int64)
    doubled = np.where(from_right % 2 == 1, d * 2, d)
    doubled = np.where(doubled > 9, doubled - 9, doubled)
    sums = np.bincount(row[digit_at], weights=np.where(from_right > 0, doubled, 0), minlength=len(values))
    check = (10 - sums.astype(np.int64) % 10) % 10
    last = from_right == 0
    data[digit_at[last]] = (48 + check[row[digit_at[last]]]).astype(np.uint8)
    return _rebuild(values, offs, data)


def zero_after(values: pa.Array, keep: int) -> pa.Array:
    """Keep the first `keep` bytes, turn later ASCII letters and digits into '0' ("02134" -> "02100")."""
    values, offs, data, row, pos = _string_buffers(values)
    alnum = ((data >= 48) & (data <= 57)) | (((data | 32) >= 97) & ((data | 32) <= 122))
    data[alnum & (pos >= keep)] = ord("0")
    return _rebuild(values, offs, data)


def mask_chars(values: pa.Array, keep_last: int = 4, char: str = "*") -> pa.Array:
    """Mask every non-separator byte except the last `keep_last` ones of each value."""
    values, offs, data, row, pos = _string_buffers(values)
    maskable = ~np.isin(data, np.frombuffer(b" -()./+_@:,", dtype=np.uint8))
    rank, count = _ranks(maskable, row, len(values))
    data[np.flatnonzero(maskable)[count - rank >= keep_last]] = ord(char)
    return _rebuild(values, offs, data)


def _iban(values: pa.Array, h: np.ndarray) -> pa.Array:
    out = []
    for v, hv in zip(values.to_pylist(), h.tolist()):
        if v is None:
            out.append(None)
            continue
        compact = re.sub(r"\s", "", v).upper()
        rng = np.random.default_rng(hv)
        bban = "".join(
            str(rng.integers(10)) if c.isdigit() else chr(65 + rng.integers(26)) if c.isalpha() else c
            for c in compact[4:]
            if c.isalnum() and c.isascii()
        )  # others would break the checksum
        cc = compact[:2] if re.fullmatch(r"[A-Z]{2}", compact[:2]) else "DE"
        num = int("".join(str(int(c, 36)) for c in bban + cc + "00"))
        iban = f"{cc}{98 - num % 97:02d}{bban}"
        out.append(" ".join(iban[i : i + 4] for i in range(0, len(iban), 4)) if " " in v else iban)
    return pa.array(out, pa.string())


def _ip(values: pa.Array, h: np.ndarray) -> pa.Array:
    octets = [
        pc.cast(pa.array(((mix(h, 20 + i) % np.uint64(254)) + np.uint64(1)).astype(np.int64)), pa.string())
        for i in range(4)
    ]
    v4 = _join(*octets, sep=".")
    groups = [pc.utf8_slice_codeunits(hex_tokens(mix(h, 30 + i)), 0, 4) for i in range(8)]
    v6 = _join(*groups, sep=":")
    return pc.if_else(pc.match_substring(values.cast(pa.string()), ":"), v6, v4)


def _person(v, h):
    return _join(pick("first_name", mix(h, 1)), pick("last_name", mix(h, 2)), sep=" ")


def _email(v, h):
    local = _join(
        _ascii_lower(pick("first_name", mix(h, 1))), _ascii_lower(pick("last_name", mix(h, 2))), sep="."
    )
    return _join(local, number_strings(mix(h, 3), 6), "@", pick("email_domain", mix(h, 4)))


def _street(v, h):
    num = pc.cast(pa.array(((mix(h, 5) % np.uint64(9899)) + np.uint64(1)).astype(np.int64)), pa.string())
    return _join(num, pick("street", mix(h, 6)), sep=" ")


def _username(v, h):
    return _join(
        pc.utf8_slice_codeunits(_ascii_lower(pick("first_name", mix(h, 1))), 0, 1),
        _ascii_lower(pick("last_name", mix(h, 2))),
        number_strings(mix(h, 3), 3),
    )


def _string_id(v, h):
    # keep a type prefix such as "CUST-" so ids stay recognisable; the rest is a 64-bit token
    prefix = pc.extract_regex(v.cast(pa.string()), r"^(?P<p>[A-Za-z]+[-_])").field("p")
    return _join(pc.fill_null(prefix, ""), hex_tokens(h))


def _token(prefix: str):
    return lambda v, h: _join(pa.array([prefix] * len(h), pa.string()), hex_tokens(h))


def _organization(v, h):
    word = pc.utf8_capitalize(pick("word", mix(h, 7)))
    suffix = pa.array(
        np.array(["Inc", "LLC", "Ltd", "GmbH", "Group"])[(mix(h, 8) % np.uint64(5)).astype(np.int64)]
    )
    return _join(word, suffix, sep=" ")


_MONTHS = [
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
_DATE_PART = re.compile(r"\d+|[^\W\d_]+")


def _month_like(word: str, month: int) -> str:
    """Month `month` (1-12) written like `word`: full or abbreviated ("Mar", "Sept"), in its case."""
    name, low = _MONTHS[month - 1], word.lower()
    if low not in _MONTHS:  # abbreviated; "Sept" style keeps four letters for September only
        name = "sept" if low == "sept" and month == 9 else name[:3]
    if word.isupper() and len(word) > 1:
        return name.upper()
    return name.capitalize() if word[:1].isupper() else name


def _date_of_birth(values: pa.Array, h: np.ndarray) -> pa.Array:
    """A keyed fake date in the original's layout, always a real date: the year is kept (a birth year is
    needed for ages and is no identifier on its own), month and day are drawn from the keyed hash.
    Numeric layouts whose day/month order can't be told (03/04/1980) get a day and month both <= 12, so the
    fake is valid read either way; days stop at 28 so every month and year holds them. A value that is not
    a date we can read keeps its layout with new digits (like any other identifier)."""
    out = []
    for v, hv in zip(values.to_pylist(), h.tolist()):
        if v is None:
            out.append(None)
            continue
        parts = list(_DATE_PART.finditer(v))
        words = [p for p in parts if not p.group().isdigit()]
        nums = [p for p in parts if p.group().isdigit()]
        month_word = next((w for w in words if w.group().lower()[:3] in [m[:3] for m in _MONTHS]), None)
        years = [p for p in nums if len(p.group()) == 4]
        others = [p for p in nums if len(p.group()) <= 2]
        if not years and len(others) == 3:  # D/M/YY or M/D/YY: the two-digit year is the last number
            years, others = others[2:], others[:2]
        fields = len(others) + (month_word is not None)
        if len(years) != 1 or fields not in (1, 2) or len(nums) != len(years) + len(others):
            out.append(scramble_digits(pa.array([v], pa.string()), np.array([hv], np.uint64)).to_pylist()[0])
            continue
        r1, r2 = int(mix(np.array([hv], np.uint64), 40)[0]), int(mix(np.array([hv], np.uint64), 41)[0])
        month, day = 1 + r1 % 12, 1 + r2 % 28
        subs: dict[int, str] = {}
        if month_word is not None and month_word.group().lower() == "may":
            month = 5  # "May" is both the full and the short name: another month would give the layout away
        if month_word is not None:
            subs[month_word.start()] = _month_like(month_word.group(), month)
            if others:
                subs[others[0].start()] = (
                    f"{day:0{len(others[0].group())}d}"
                    if len(others[0].group()) == 2 or day < 10
                    else str(day)
                )
        else:
            a, b = others if len(others) == 2 else (others[0], None)
            if b is None:  # month and year only (03/1980)
                subs[a.start()] = f"{month:0{len(a.group())}d}"
            else:
                first, second = int(a.group()), int(b.group())
                if first > 12:
                    vals = (day, month)  # day first
                elif second > 12 or years[0].start() < a.start():
                    vals = (month, day)  # month first, or year-month-day
                else:
                    vals = (month, 1 + r2 % 12)  # ambiguous: both readings valid
                for p, x in zip((a, b), vals):
                    subs[p.start()] = f"{x:0{len(p.group())}d}" if len(p.group()) == 2 else str(x)
        pieces, last = [], 0
        for p in parts:
            if p.start() in subs:
                pieces.append(v[last : p.start()])
                pieces.append(subs[p.start()])
                last = p.end()
        pieces.append(v[last:])
        fake_value = "".join(pieces)
        out.append(fake_value)
    return pa.array(out, pa.string())


# entity type -> generator(values, hashes). The entity names follow Presidio's where it has one.
GENERATORS: dict[str, Callable[[pa.Array, np.ndarray], pa.Array]] = {
    "PERSON": _person,
    "FIRST_NAME": lambda v, h: pick("first_name", mix(h, 1)),
    "LAST_NAME": lambda v, h: pick("last_name", mix(h, 2)),
    "EMAIL_ADDRESS": _email,
    "PHONE_NUMBER": lambda v, h: scramble_digits(v, h, keep_country_code=True),
    "US_SSN": lambda v, h: scramble_digits(v, h),
    "NATIONAL_ID": lambda v, h: scramble_digits(v, h),
    "US_DRIVER_LICENSE": lambda v, h: scramble_digits(v, h),
    "DATE_OF_BIRTH": _date_of_birth,
    "US_PASSPORT": lambda v, h: scramble_digits(v, h),
    "CREDIT_CARD": lambda v, h: scramble_digits(v, h, luhn=True),
    "IBAN_CODE": _iban,
    "IP_ADDRESS": _ip,
    "STREET_ADDRESS": _street,
    "CITY": lambda v, h: pick("city", mix(h, 9)),
    "LOCATION": lambda v, h: pick("city", mix(h, 9)),
    "USERNAME": _username,
    "PASSWORD": _token("pw-"),
    "URL": lambda v, h: _join(
        "https://", pick("url_host", mix(h, 10)), "/", pc.utf8_slice_codeunits(hex_tokens(h), 0, 10)
    ),
    "ORGANIZATION": _organization,
    "ID": _string_id,
}


def fake(entity: str, values: pa.Array, h: np.ndarray) -> pa.Array:
    """Fake replacements for `values` (string-typed), nulls kept null."""
    gen = GENERATORS.get(entity) or _token(entity.lower()[:12] + "-")
    out = gen(values, h)
    if values.null_count:
        out = pc.if_else(pc.is_valid(values), out, pa.nulls(len(values), pa.string()))
    return out
