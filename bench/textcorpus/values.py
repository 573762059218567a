"""Value pools for the evaluation corpus, drawn from Faker's locales (never from the detector's lists).

Every pool is split in two by a stable hash of the value (given names and surnames
separately), so the held-out split shares no given name, surname, street or phone
with the dev split.
"""

from __future__ import annotations

import random
import zlib
from functools import cache

from faker import Faker

SPLITS = ("dev", "heldout")

# Locales whose person names Faker gives in Latin script.
NAME_LOCALES = [
    "en_US",
    "en_GB",
    "en_IE",
    "en_IN",
    "en_AU",
    "en_PH",
    "de_DE",
    "de_AT",
    "de_CH",
    "fr_FR",
    "fr_CA",
    "es_ES",
    "es_MX",
    "es_AR",
    "es_CO",
    "it_IT",
    "pt_BR",
    "pt_PT",
    "nl_NL",
    "nl_BE",
    "sv_SE",
    "da_DK",
    "no_NO",
    "fi_FI",
    "pl_PL",
    "cs_CZ",
    "sk_SK",
    "hu_HU",
    "ro_RO",
    "hr_HR",
    "sl_SI",
    "tr_TR",
    "id_ID",
    "fil_PH",
    "yo_NG",
    "zu_ZA",
    "tw_GH",
    "lv_LV",
    "lt_LT",
    "et_EE",
    "is_IS",
    "ga_IE",
    "az_AZ",
]
ROMANIZED_LOCALES = ["ja_JP", "zh_CN", "zh_TW"]
# Faker has Arabic and Korean names in their own scripts only: common Latin-script spellings, written here.
ARABIC_GIVEN = [
    "Mohammed",
    "Muhammad",
    "Ahmed",
    "Abdulrahman",
    "Abdullah",
    "Omar",
    "Youssef",
    "Khalid",
    "Tariq",
    "Hamza",
    "Bilal",
    "Faisal",
    "Nasser",
    "Saeed",
    "Walid",
    "Fatima",
    "Aisha",
    "Mariam",
    "Noor",
    "Layla",
    "Yasmin",
    "Huda",
    "Rania",
    "Salma",
    "Zainab",
    "Amira",
    "Hind",
    "Lubna",
    "Ghada",
    "Reem",
    "Mahmoud",
    "Ibrahim",
    "Mustafa",
    "Jamal",
    "Karim",
    "Samir",
    "Rashid",
    "Hussein",
    "Ziad",
    "Nadia",
]
ARABIC_FAMILY = [
    "Al-Farsi",
    "Al Mansouri",
    "El-Sayed",
    "Haddad",
    "Nasrallah",
    "Abdel-Malek",
    "Al-Khatib",
    "Khoury",
    "Bin Laden",
    "Al-Rashid",
    "Qureshi",
    "Al Nahyan",
    "Barakat",
    "Darwish",
    "El Amrani",
    "Benali",
    "Bouazza",
    "Al-Hashimi",
    "Saleh",
    "Hamdan",
    "Abu Bakr",
    "Al-Zahrani",
    "Mansour",
    "Ghanem",
    "Aziz",
    "Yousef",
    "Al-Masri",
    "Shaheen",
    "Othman",
    "Kassem",
    "Ibn Rushd",
    "Abdelaziz",
]
KOREAN_GIVEN = [
    "Ji-woo",
    "Seo-yeon",
    "Min-jun",
    "Ha-eun",
    "Do-yoon",
    "Seo-jun",
    "Ji-ho",
    "Su-bin",
    "Ye-jin",
    "Hyun-woo",
    "Jae-won",
    "Eun-ji",
    "Sung-min",
    "Yeon-woo",
    "Da-eun",
    "Joon-young",
    "Hye-jin",
    "Tae-yang",
]
KOREAN_FAMILY = [
    "Kim",
    "Lee",
    "Park",
    "Choi",
    "Jung",
    "Kang",
    "Cho",
    "Yoon",
    "Jang",
    "Lim",
    "Han",
    "Oh",
    "Seo",
    "Shin",
    "Kwon",
    "Hwang",
    "Ahn",
    "Song",
    "Jeon",
    "Hong",
    "Baek",
    "Moon",
    "Ryu",
    "Nam",
]
VIET_GIVEN = [
    "Thị Hương",
    "Văn Minh",
    "Minh Anh",
    "Quốc Bảo",
    "Thu Trang",
    "Ngọc Lan",
    "Đức Thắng",
    "Hoài Nam",
    "Thanh Hà",
    "Gia Huy",
    "Bảo Ngọc",
    "Tuấn Anh",
    "Phương Linh",
    "Hữu Phước",
    "Khánh Vy",
    "Trọng Nghĩa",
]
PARTICLES = [
    "van der",
    "van",
    "de",
    "von",
    "van den",
    "de la",
    "da",
    "dos",
    "di",
    "del",
    "le",
    "ter",
    "zu",
    "bin",
    "ibn",
    "al",
    "O'",
    "Mac",
    "D'",
]
# Syllables for names no gazetteer holds (checked against nothing: they are invented here).
SYLLABLES = [
    "ka",
    "zu",
    "mir",
    "ol",
    "vet",
    "an",
    "dre",
    "sha",
    "qui",
    "lo",
    "bren",
    "tor",
    "ys",
    "ael",
    "gorn",
    "pha",
    "lix",
    "ume",
    "dar",
    "wen",
    "osk",
    "ri",
    "thal",
    "ne",
    "vi",
    "dro",
    "kel",
    "ash",
    "ib",
    "orr",
]


def in_split(value: str, split: str, salt: str = "") -> bool:
    """Stable assignment of a value to a split (about half each)."""
    return (zlib.crc32((salt + value).casefold().encode()) % 2) == SPLITS.index(split)


@cache
def _faker(locale: str) -> Faker:
    f = Faker(locale)
    f.seed_instance(zlib.crc32(locale.encode()))
    return f


@cache
def name_parts(split: str) -> tuple[list[tuple[str, str, str]], list[tuple[str, str, str]]]:
    """(given names, surnames) of one split, each as (value, origin locale, script kind)."""
    given: dict[str, tuple[str, str]] = {}
    family: dict[str, tuple[str, str]] = {}
    for loc in NAME_LOCALES:
        f = _faker(loc)
        for _ in range(120):
            g, s = f.first_name().strip(), f.last_name().strip()
            if " " not in g and g not in ("Jane", "John"):
                given.setdefault(g, (loc, "faker"))
            family.setdefault(s, (loc, "faker"))
    for loc in ROMANIZED_LOCALES:
        f = _faker(loc)
        for _ in range(120):
            given.setdefault(f.first_romanized_name(), (loc, "romanized"))
            family.setdefault(f.last_romanized_name(), (loc, "romanized"))
    for g in ARABIC_GIVEN:
        given.setdefault(g, ("ar", "latin-arabic"))
    for s in ARABIC_FAMILY:
        family.setdefault(s, ("ar", "latin-arabic"))
    for g in KOREAN_GIVEN:
        given.setdefault(g, ("ko", "latin-korean"))
    for s in KOREAN_FAMILY:
        family.setdefault(s, ("ko", "latin-korean"))
    for g in VIET_GIVEN:
        given.setdefault(g, ("vi", "faker"))
    rng = random.Random(7)
    for _ in range(300):
        w = "".join(rng.choice(SYLLABLES) for _ in range(rng.choice((2, 2, 3)))).capitalize()
        (given if rng.random() < 0.5 else family).setdefault(w, ("invented", "invented"))
    # Korean/Chinese family names are few and short: keep them in both splits rather than lose the locale.
    shared = set(KOREAN_FAMILY)
    g_out = sorted((v, *m) for v, m in given.items() if in_split(v, split, "g") or v in shared)
    s_out = sorted((v, *m) for v, m in family.items() if in_split(v, split, "s") or v in shared)
    return g_out, s_out


ADDRESS_LOCALES = [
    "en_US",
    "en_US",
    "en_US",
    "en_GB",
    "en_IE",
    "en_CA",
    "en_AU",
    "de_DE",
    "de_AT",
    "fr_FR",
    "nl_NL",
    "es_ES",
    "it_IT",
    "pl_PL",
    "sv_SE",
    "da_DK",
    "pt_PT",
    "cs_CZ",
    "fi_FI",
    "no_NO",
]
PHONE_REGIONS = {
    "en_US": "US",
    "en_GB": "GB",
    "de_DE": "DE",
    "fr_FR": "FR",
    "nl_NL": "NL",
    "es_ES": "ES",
    "it_IT": "IT",
    "pl_PL": "PL",
    "sv_SE": "SE",
    "en_IN": "IN",
    "pt_BR": "BR",
    "en_AU": "AU",
    "ja_JP": "JP",
    "de_CH": "CH",
    "da_DK": "DK",
    "en_IE": "IE",
    "es_MX": "MX",
}
