"""A people table shaped like a public bulk export of fake identities (Fake Name Generator's CSV):
PersonId, Gender, GivenName, Surname, StreetAddress, City, State, ZipCode, Country (ISO code),
CountryFull (31 values), EmailAddress, TelephoneNumber, Birthday (M/D/YYYY text), Age,
Occupation, Company, as one CSV file.

Unlike datarefresh's own demo data, places nest (a city has its state and a few postcodes),
cities, employers and jobs follow skewed (Zipf-like) frequencies, and the country name sits
beside its code. The split rule of the re-identification bench: SEEDS["dev"] may be used to
tune anything; SEEDS["heldout"] is only ever measured and reported, never looked at while
changing code (see bench/reid.py).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

SEEDS = {"dev": 101, "heldout": 20261201}

# (Faker locale, ISO code, country name, share of the population)
COUNTRIES = [
    ("en_US", "US", "United States", 0.40),
    ("en_GB", "GB", "United Kingdom", 0.06),
    ("de_DE", "DE", "Germany", 0.05),
    ("fr_FR", "FR", "France", 0.04),
    ("es_ES", "ES", "Spain", 0.03),
    ("it_IT", "IT", "Italy", 0.03),
    ("en_CA", "CA", "Canada", 0.03),
    ("en_AU", "AU", "Australia", 0.03),
    ("nl_NL", "NL", "Netherlands", 0.02),
    ("pl_PL", "PL", "Poland", 0.02),
    ("pt_BR", "BR", "Brazil", 0.03),
    ("es_MX", "MX", "Mexico", 0.02),
    ("sv_SE", "SE", "Sweden", 0.015),
    ("da_DK", "DK", "Denmark", 0.01),
    ("fi_FI", "FI", "Finland", 0.01),
    ("no_NO", "NO", "Norway", 0.01),
    ("de_AT", "AT", "Austria", 0.01),
    ("de_CH", "CH", "Switzerland", 0.01),
    ("nl_BE", "BE", "Belgium", 0.01),
    ("pt_PT", "PT", "Portugal", 0.01),
    ("cs_CZ", "CZ", "Czech Republic", 0.01),
    ("hu_HU", "HU", "Hungary", 0.01),
    ("ro_RO", "RO", "Romania", 0.01),
    ("el_GR", "GR", "Greece", 0.01),
    ("en_IE", "IE", "Ireland", 0.01),
    ("en_NZ", "NZ", "New Zealand", 0.01),
    ("en_IN", "IN", "India", 0.02),
    ("ja_JP", "JP", "Japan", 0.02),
    ("ko_KR", "KR", "South Korea", 0.01),
    ("zh_CN", "CN", "China", 0.02),
    ("tr_TR", "TR", "Turkey", 0.01),
]
COLUMNS = [
    "PersonId",
    "Gender",
    "GivenName",
    "Surname",
    "StreetAddress",
    "City",
    "State",
    "ZipCode",
    "Country",
    "CountryFull",
    "EmailAddress",
    "TelephoneNumber",
    "Birthday",
    "Age",
    "Occupation",
    "Company",
]
# what an attacker's public roster holds besides the names (the bench links on these)
ROSTER = [
    "Gender",
    "Birthday",
    "Age",
    "City",
    "State",
    "ZipCode",
    "Country",
    "CountryFull",
    "Occupation",
    "Company",
]


def _zipf(rng: np.random.Generator, n: int, size: int, a: float = 1.1) -> np.ndarray:
    w = 1.0 / np.arange(1, n + 1) ** a
    return rng.choice(n, size=size, p=w / w.sum())


def generate(dest: str | Path, rows: int, seed: int) -> Path:
    """Write DEST/people/people.csv; return the table folder."""
    from faker import Faker

    rng = np.random.default_rng(seed)
    shares = np.array([c[3] for c in COUNTRIES])
    country = rng.choice(len(COUNTRIES), rows, p=shares / shares.sum())
    fakers = {}
    places = {}  # country index -> list of (city, state, [postcodes])
    base = Faker("en_US")
    base.seed_instance(seed)
    jobs = sorted({base.job() for _ in range(800)})
    companies = sorted({base.company() for _ in range(400)})
    jobs = [jobs[i] for i in rng.permutation(len(jobs))]
    companies = [companies[i] for i in rng.permutation(len(companies))]
    job_of = _zipf(rng, len(jobs), rows, 0.8)
    company_of = _zipf(rng, len(companies), rows, 1.0)
    folder = Path(dest) / "people"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "people.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(COLUMNS)
        for i in range(rows):
            ci = int(country[i])
            loc, iso, name, _ = COUNTRIES[ci]
            fk = fakers.get(ci)
            if fk is None:
                fk = fakers[ci] = Faker(loc)
                fk.seed_instance(seed * 100 + ci)
                states = []
                for _ in range(8):
                    try:
                        states.append(fk.administrative_unit())
                    except AttributeError:
                        states.append(fk.city())
                places[ci] = [
                    (fk.city(), states[j % len(states)], [fk.postcode() for _ in range(3)]) for j in range(30)
                ]
            city, state, codes = places[ci][int(_zipf(rng, 30, 1)[0])]
            male = rng.random() < 0.5
            age_days = int(rng.integers(18 * 365, 90 * 365))
            born = np.datetime64("2026-01-01") - np.timedelta64(age_days, "D")
            y, m, d = (int(x) for x in str(born).split("-"))
            w.writerow(
                [
                    i + 1,
                    "male" if male else "female",
                    fk.first_name_male() if male else fk.first_name_female(),
                    fk.last_name(),
                    fk.street_address().replace("\n", " "),
                    city,
                    state,
                    codes[int(rng.integers(0, 3))],
                    iso,
                    name,
                    base.email(),
                    fk.phone_number(),
                    f"{m}/{d}/{y}",
                    age_days // 365,
                    jobs[job_of[i]],
                    companies[company_of[i]],
                ]
            )
    return folder
