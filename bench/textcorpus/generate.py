"""Labelled free-text corpus for the scrubbing benchmark, generated from templates and Faker values.

Split rule (also in bench/README.md): the `dev` split (DEV templates, dev value pools,
seeds 1000+) may be used to tune recognizers; the `heldout` split (HELDOUT templates,
held-out value pools, seeds 9000+) may only be scored. No recognizer change may be made
by looking at held-out texts, templates or their misses; report held-out figures.

Slots: NAME / NAME2 (people), FIRST / LAST (given name and surname of NAME), TITLE,
ADDRESS (street + city line, in one of several layouts), STREET, CITY, PHONE / PHONE2,
EMAIL, CARD, SSN, IBAN, IP, DOB, DL; non-personal fillers ORDER, AMOUNT, DATE, TIME,
PRODUCT, COMPANY, TICKET. On top of the template's register, a text may be rendered
ALL CAPS, lowercase or with OCR-like noise.
"""

from __future__ import annotations

import random
import re
import zlib
from dataclasses import dataclass, field

import phonenumbers

from bench.textcorpus import templates, values

SLOT = re.compile(r"\{([A-Z]+[0-9]?)\}")
ENTITY = {
    "NAME": "PERSON",
    "NAME2": "PERSON",
    "FIRST": "PERSON",
    "LAST": "PERSON",
    "STREET": "STREET_ADDRESS",
    "CITY": "LOCATION",
    "PHONE": "PHONE_NUMBER",
    "PHONE2": "PHONE_NUMBER",
    "EMAIL": "EMAIL_ADDRESS",
    "CARD": "CREDIT_CARD",
    "SSN": "US_SSN",
    "IBAN": "IBAN_CODE",
    "IP": "IP_ADDRESS",
    "DOB": "DATE_OF_BIRTH",
    "DL": "US_DRIVER_LICENSE",
}
HIGH_RISK = [
    "PERSON",
    "STREET_ADDRESS",
    "PHONE_NUMBER",
    "CREDIT_CARD",
    "US_SSN",
    "EMAIL_ADDRESS",
    "IBAN_CODE",
    "IP_ADDRESS",
    "US_DRIVER_LICENSE",
]
PRODUCTS = [
    "router X200",
    "blender",
    "Pro Laptop 14",
    "espresso machine",
    "smart watch",
    "winter jacket",
    "standing desk",
    "Galaxy charger",
    "Kindle cover",
    "garden hose",
    "office chair",
    "USB-C hub",
]
COMPANIES = [
    "Acme Corp",
    "Northwind Traders",
    "Globex Ltd",
    "Initech",
    "Blue Harbor Insurance",
    "Umbrella GmbH",
]
TITLES = ["Mr", "Mrs", "Ms", "Dr", "Mr.", "Mrs.", "Ms.", "Dr.", "Prof.", "Mx"]


@dataclass
class Labelled:
    text: str
    spans: list[tuple[int, int, str]]  # (start, end, entity)
    template: str = ""
    register: str = ""
    meta: dict = field(default_factory=dict)  # span index -> value kind (e.g. name script)


def _fold_ascii(s: str) -> str:
    import unicodedata

    s = unicodedata.normalize("NFKD", s)
    return re.sub(r"[^a-z0-9]", "", "".join(c for c in s if not unicodedata.combining(c)).lower())


class _Values:
    def __init__(self, split: str, rng: random.Random):
        self.rng, self.split = rng, split
        self.given, self.family = values.name_parts(split)
        self.fakers = {
            loc: values._faker(loc)
            for loc in sorted(set(values.ADDRESS_LOCALES) | set(values.PHONE_REGIONS) | {"en_US"})
        }
        for f in self.fakers.values():
            f.seed_instance(rng.randrange(1 << 30))

    def person(self) -> tuple[str, str, str, str]:
        """(full, first, last, kind)."""
        r = self.rng
        g, gloc, _ = r.choice(self.given)
        s, sloc, skind = r.choice(self.family)
        if gloc in ("ja_JP", "zh_CN", "zh_TW") and r.random() < 0.6:  # keep families together when we can
            same = [x for x in self.family if x[1] == gloc]
            s, sloc, skind = r.choice(same) if same else (s, sloc, skind)
        if r.random() < 0.12:
            p = r.choice(values.PARTICLES)
            s = f"{p}{s}" if p.endswith("'") else f"{p} {s}"
        if r.random() < 0.08:
            g2 = r.choice(self.given)[0]
            g = f"{g}-{g2}" if r.random() < 0.5 else f"{g} {g2}"
        if r.random() < 0.06:
            s = f"{s}-{r.choice(self.family)[0]}"
        full = f"{s} {g}" if gloc in ("zh_CN", "zh_TW") and r.random() < 0.5 else f"{g} {s}"
        kind = "non_ascii" if not full.isascii() else "ascii"
        return full, g, s, kind

    def address(self) -> tuple[str, str, str]:
        """(street line, city line, locale)."""
        r = self.rng
        for _ in range(50):
            loc = r.choice(values.ADDRESS_LOCALES)
            f = self.fakers[loc]
            lines = f.address().split("\n")
            if len(lines) == 1:
                street, city = f.street_address(), f"{f.postcode()} {f.city()}"
            else:
                street, city = lines[0], ", ".join(lines[1:])
            if loc == "en_US":
                roll = r.random()
                if roll < 0.15:
                    street = (
                        r.choice(["PO Box", "P.O. Box", "POB", "Post Office Box"]) + f" {r.randint(1, 99999)}"
                    )
                elif roll < 0.3:
                    base = f.street_address() if "Apt" not in street and "Suite" not in street else street
                    unit = r.choice(["Apt", "Apt.", "Unit", "Suite", "Ste", "#", "Fl"]) + (
                        " " if r.random() < 0.8 else ""
                    )
                    street = (
                        f"{base}{r.choice([', ', ' '])}{unit}{r.randint(1, 999)}{r.choice(['', 'A', 'B'])}"
                    )
            elif loc == "en_GB" and r.random() < 0.2:
                street = f"Flat {r.randint(1, 40)}, {street}"
            if values.in_split(street, self.split, "a"):
                return street, city, loc
        return street, city, loc

    def phone(self) -> str:
        r = self.rng
        loc = r.choice(list(values.PHONE_REGIONS) + ["en_US"] * 6)
        region = values.PHONE_REGIONS[loc]
        raw = self.fakers[loc].phone_number() if loc in self.fakers else values._faker(loc).phone_number()
        if r.random() < 0.5:
            try:
                num = phonenumbers.parse(raw, region)
                if phonenumbers.is_possible_number(num):
                    fmt = r.choice(
                        [
                            phonenumbers.PhoneNumberFormat.INTERNATIONAL,
                            phonenumbers.PhoneNumberFormat.NATIONAL,
                            phonenumbers.PhoneNumberFormat.E164,
                        ]
                    )
                    raw = phonenumbers.format_number(num, fmt)
            except phonenumbers.NumberParseException:
                pass
        return raw

    def card(self) -> str:
        r = self.rng
        f = self.fakers["en_US"]
        kind = r.choice(["visa16", "mastercard", "amex", "discover", "visa16", "jcb16"])
        n = f.credit_card_number(kind)
        sep = r.choice([" ", "-", "", " "])
        groups = [n[:4], n[4:10], n[10:]] if len(n) == 15 else [n[i : i + 4] for i in range(0, len(n), 4)]
        return sep.join(groups)

    def ssn(self) -> str:
        s = self.fakers["en_US"].ssn()
        roll = self.rng.random()
        return s if roll < 0.7 else (s.replace("-", " ") if roll < 0.85 else s.replace("-", ""))

    def iban(self) -> str:
        loc = self.rng.choice(
            ["de_DE", "fr_FR", "nl_NL", "es_ES", "it_IT", "en_GB", "pl_PL", "da_DK", "pt_PT"]
        )
        s = self.fakers[loc].iban()
        return " ".join(s[i : i + 4] for i in range(0, len(s), 4)) if self.rng.random() < 0.6 else s

    def ip(self) -> str:
        f = self.fakers["en_US"]
        roll = self.rng.random()
        return f.ipv4_public() if roll < 0.6 else (f.ipv4_private() if roll < 0.8 else f.ipv6())

    def dob(self) -> str:
        d = self.fakers["en_US"].date_of_birth(minimum_age=18, maximum_age=90)
        fmt = self.rng.choice(["%Y-%m-%d", "%m/%d/%Y", "%d/%m/%Y", "%d.%m.%Y", "%B %d, %Y", "%d %b %Y"])
        return d.strftime(fmt)

    def email(self, first: str, last: str) -> str:
        r = self.rng
        if r.random() < 0.3:
            return self.fakers["en_US"].email()
        user = r.choice(
            [
                f"{_fold_ascii(first)}.{_fold_ascii(last)}",
                f"{_fold_ascii(first)[:1]}{_fold_ascii(last)}",
                f"{_fold_ascii(first)}{r.randint(1, 99)}",
                f"{_fold_ascii(last)}_{_fold_ascii(first)}",
            ]
        )
        domains = [
            "gmail.com",
            "outlook.com",
            "web.de",
            "yahoo.co.uk",
            "mail.example.org",
            "proton.me",
            "free.fr",
        ]
        return f"{user or 'user'}@{r.choice(domains)}"

    def dl(self) -> str:
        r = self.rng
        return r.choice("ABCDEFGHJKLMNPRSTWXY") + "".join(
            str(r.randint(0, 9)) for _ in range(r.choice((7, 8, 12)))
        )


def _address_segments(street: str, city: str, rng: random.Random) -> list[tuple[str, str | None]]:
    layout = rng.random()
    if layout < 0.4:
        return [(street, "STREET_ADDRESS"), ("\n", None), (city.replace(", ", "\n"), "LOCATION")]
    if layout < 0.75:
        return [(street, "STREET_ADDRESS"), (", ", None), (city, "LOCATION")]
    return [(street, "STREET_ADDRESS"), (" ", None), (city.replace(",", ""), "LOCATION")]


_OCR = {"l": "1", "O": "0", "o": "0", "I": "l", "e": "c", "S": "5", "B": "8", "a": "o"}


def _ocr(s: str, rng: random.Random, rate: float) -> str:
    out = []
    for ch in s:
        roll = rng.random()
        if ch in _OCR and roll < rate:
            out.append(_OCR[ch])
        elif ch == " " and roll < rate / 2:
            out.append("  ")
        else:
            out.append(ch)
    return "".join(out)


# US driver's licence layouts by issuing state, from the states' published formats (dev split only):
# letters then digits, digits only, or a fixed prefix. (state, prefix letters, digits)
DL_LAYOUTS = [
    ("CA", 1, 7),
    ("FL", 1, 12),
    ("NY", 0, 9),
    ("TX", 0, 8),
    ("PA", 0, 8),
    ("IL", 1, 11),
    ("MI", 1, 12),
    ("WI", 1, 13),
    ("NJ", 1, 14),
    ("OH", 2, 6),
    ("MD", 1, 12),
    ("AZ", 1, 8),
    ("WA", 3, 9),
    ("GA", 0, 9),
    ("NC", 0, 12),
    ("VA", 1, 8),
    ("MA", 1, 8),
    ("CO", 0, 9),
    ("MN", 1, 12),
    ("KY", 1, 8),
]
STATE_NAMES = {
    "CA": "California",
    "FL": "Florida",
    "NY": "New York",
    "TX": "Texas",
    "PA": "Pennsylvania",
    "IL": "Illinois",
    "MI": "Michigan",
    "WI": "Wisconsin",
    "NJ": "New Jersey",
    "OH": "Ohio",
    "MD": "Maryland",
    "AZ": "Arizona",
    "WA": "Washington",
    "GA": "Georgia",
    "NC": "North Carolina",
    "VA": "Virginia",
    "MA": "Massachusetts",
    "CO": "Colorado",
    "MN": "Minnesota",
    "KY": "Kentucky",
}


def _dev_layouts(fill: dict, r: random.Random) -> None:
    """Dev-split widening: a state and a licence in that state's layout (sometimes with the
    separators states print), name layouts (surname in capitals, initials, middle initial),
    and licence-shaped non-personal codes for the PII-free texts."""
    state, letters, digits = r.choice(DL_LAYOUTS)
    up = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    if state == "WA":
        body = "WDL" + "".join(r.choice(up + "0123456789") for _ in range(9))
    else:
        body = "".join(r.choice(up) for _ in range(letters)) + "".join(
            str(r.randint(0, 9)) for _ in range(digits)
        )
    if state == "FL" and r.random() < 0.5:
        body = f"{body[:4]}-{body[4:7]}-{body[7:9]}-{body[9:12]}-{body[12:]}"
    elif state == "NY" and r.random() < 0.4:
        body = f"{body[:3]} {body[3:6]} {body[6:]}"
    if r.random() < 0.6:  # the rest keep the generic layout of dl()
        fill["DL"] = body
    fill["STATE"] = state if r.random() < 0.75 else STATE_NAMES[state]
    for n in (4, 7, 8, 9):
        fill[f"CODE{n}"] = "".join(str(r.randint(0, 9)) for _ in range(n))
    full, first, last = fill["NAME"], fill["FIRST"], fill["LAST"]
    roll = r.random()
    if roll < 0.08 and first and last and full == f"{first} {last}":
        fill["NAME"] = f"{first} {last.upper()}"  # French/administrative style
    elif roll < 0.13 and first and last and full == f"{first} {last}":
        fill["NAME"] = f"{first[0]}. {last}"
    elif roll < 0.18 and first and last and full == f"{first} {last}":
        fill["NAME"] = f"{first} {r.choice(up)}. {last}"


def render(template: tuple[str, str, str], v: _Values, rng: random.Random) -> Labelled:
    tid, register, text = template
    full, first, last, _ = v.person()
    full2, *_ = v.person()
    street, city, _loc = v.address()
    fill: dict[str, object] = {
        "NAME": full,
        "NAME2": full2,
        "FIRST": first,
        "LAST": last,
        "TITLE": rng.choice(TITLES),
        "STREET": street,
        "CITY": city.split(", ")[0].split("\n")[0],
        "ADDRESS": _address_segments(street, city, rng),
        "PHONE": v.phone(),
        "PHONE2": v.phone(),
        "EMAIL": v.email(first, last),
        "CARD": v.card(),
        "SSN": v.ssn(),
        "IBAN": v.iban(),
        "IP": v.ip(),
        "DOB": v.dob(),
        "DL": v.dl(),
        "ORDER": f"{rng.choice(['ORD', 'SO', '#', 'A'])}-{rng.randint(10000, 999999)}",
        "AMOUNT": rng.choice(["$", "EUR ", "£", ""]) + f"{rng.randint(5, 2500)}.{rng.randint(0, 99):02d}",
        "DATE": f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        "TIME": f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}",
        "PRODUCT": rng.choice(PRODUCTS),
        "COMPANY": rng.choice(COMPANIES),
        "TICKET": f"T{rng.randint(100000, 999999)}",
    }
    if (
        v.split == "dev"
    ):  # dev-only layouts (issue 13); the held-out split draws none of this, nor its random numbers
        _dev_layouts(fill, random.Random(rng.random()))
    segments: list[tuple[str, str | None]] = []
    last_end = 0
    for m in SLOT.finditer(text):
        segments.append((text[last_end : m.start()], None))
        value = fill[m.group(1)]
        if isinstance(value, list):
            segments.extend(value)
        else:
            segments.append((str(value), ENTITY.get(m.group(1))))
        last_end = m.end()
    segments.append((text[last_end:], None))
    style = rng.choices(["plain", "upper", "lower", "ocr"], weights=[70, 10, 10, 10])[0]
    out, spans, meta, pos = [], [], {}, 0
    for s, entity in segments:
        if style == "upper":
            s = s.upper()
        elif style == "lower":
            s = s.lower()
        elif style == "ocr":
            s = _ocr(s, rng, 0.08 if entity is None else 0.03)
        if entity and s:
            if entity == "PERSON":
                meta[len(spans)] = "non_ascii" if not s.isascii() else "ascii"
            spans.append((pos, pos + len(s), entity))
        out.append(s)
        pos += len(s)
    return Labelled("".join(out), spans, tid, f"{register}/{style}", meta)


def generate(split: str, n: int) -> list[Labelled]:
    """`n` labelled texts of one split, the same on every run."""
    pool = {"dev": templates.DEV, "heldout": templates.HELDOUT, "clean": templates.CLEAN}[split]
    seed = {"dev": 1000, "heldout": 9000, "clean": 1500}[split]
    rng = random.Random(seed)
    v = _Values("dev" if split == "clean" else split, rng)
    return [render(pool[i % len(pool)], v, random.Random(seed * 100_003 + i)) for i in range(n)]


def corpus_id(items: list[Labelled]) -> str:
    return f"{zlib.crc32(''.join(i.text for i in items).encode()):08x}"
