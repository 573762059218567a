"""Classification on tables nobody on the project wrote: every naming convention, PII in
every type, values deciding when names don't, and samples from across the table."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from datarefresh.detect.classify import classify_table, classify_values
from datarefresh.detect.names import name_rule, words
from datarefresh.refresh.local import discover_local, sanitize_folder

GIVEN = [
    "John",
    "Mary",
    "Olusegun",
    "Siobhan",
    "Wei",
    "Maria",
    "Ahmed",
    "Lucía",
    "Jürgen",
    "Priya",
    "Kenji",
    "Fatima",
    "Liam",
    "Emma",
    "Noah",
    "Aaliyah",
    "Mateo",
    "Chloé",
    "Dmitri",
    "Ngozi",
    "Haruto",
    "Sofia",
]
SURNAMES = [
    "Smith",
    "Garcia",
    "Kowalski",
    "Nguyen",
    "Müller",
    "Okafor",
    "Rossi",
    "Dubois",
    "Tanaka",
    "Patel",
    "Johnson",
    "Lee",
    "Haddad",
    "Novak",
    "Silva",
    "Jensen",
    "Moreau",
    "Ivanova",
    "Kim",
    "Brown",
]
STATES = ["Massachusetts", "Georgia", "Virginia", "Texas", "Ohio", "California", "Washington", "New York"]
OCCUPATIONS = ["Software engineer", "Registered nurse", "Baker", "Teacher", "Accountant", "Truck driver"]


@pytest.mark.parametrize(
    "name,expect",
    [
        ("GIVENNAME", ["given", "name"]),
        ("MothersMaiden", ["mothers", "maiden"]),
        ("CCExpires", ["cc", "expires"]),
        ("NationalID", ["national", "id"]),
        ("PATIENTID", ["patient", "id"]),
        ("DEATHDATE", ["death", "date"]),
        ("billingAddress1", ["billing", "address", "1"]),
        ("Default Address Zip", ["default", "address", "zip"]),
        ("provincia", ["provincia"]),
        ("geburtsdatum", ["geburtsdatum"]),
    ],
)
def test_names_split_into_words_in_every_convention(name, expect):
    assert words(name) == expect


@pytest.mark.parametrize(
    "name,entity",
    [
        ("GivenName", "FIRST_NAME"),
        ("GIVENNAME", "FIRST_NAME"),
        ("first_name", "FIRST_NAME"),
        ("nombre", "FIRST_NAME"),
        ("vorname", "FIRST_NAME"),
        ("prenom", "FIRST_NAME"),
        ("FIRST", "FIRST_NAME"),
        ("LAST", "LAST_NAME"),
        ("apellido", "LAST_NAME"),
        ("nachname", "LAST_NAME"),
        ("MAIDEN", "LAST_NAME"),
        ("MothersMaiden", "LAST_NAME"),
        ("telefono", "PHONE_NUMBER"),
        ("TelephoneNumber", "PHONE_NUMBER"),
        ("courriel", "EMAIL_ADDRESS"),
        ("adresse", "STREET_ADDRESS"),
        ("geburtsdatum", "DATE_OF_BIRTH"),
        ("DEATHDATE", "DATE_OF_DEATH"),
        ("CVV2", "CARD_SECURITY_CODE"),
        ("CCExpires", "CARD_EXPIRY"),
        ("NationalID", "NATIONAL_ID"),
        ("DRIVERS", "US_DRIVER_LICENSE"),
        ("PASSPORT", "US_PASSPORT"),
        ("LAT", "GEO_COORDINATE"),
        ("PATIENTID", "ID"),
        ("STATE", "STATE"),
        ("Nationality", "DEMOGRAPHIC"),
    ],
)
def test_name_rules_in_every_convention_and_language(name, entity):
    assert name_rule(name).entity == entity


def test_metadata_about_pii_is_not_pii():
    for name in (
        "email_verified",
        "HasOptedOutOfEmail",
        "phone_type",
        "Card Last4",
        "CCType",
        "is_email_bounced",
        "last_login_at",
        "gender_concept_id",
        "device.mobile_brand_name",
    ):
        rule = name_rule(name)
        assert rule is None or rule.entity not in (
            "EMAIL_ADDRESS",
            "PHONE_NUMBER",
            "CREDIT_CARD",
            "USERNAME",
            "ID",
        ), name


def _people(n: int, seed: int = 3) -> list[dict]:
    """Rows shaped like a public fake-people CSV export: PascalCase names, every column text."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        rows.append(
            {
                "GivenName": rng.choice(GIVEN),
                "Surname": rng.choice(SURNAMES),
                "MothersMaiden": rng.choice(SURNAMES),
                "Age": str(rng.randint(18, 90)),
                "Birthday": f"{rng.randint(1, 12)}/{rng.randint(1, 28)}/{rng.randint(1940, 2005)}",
                "CVV2": str(rng.randint(100, 999)),
                "CCExpires": f"{rng.randint(1, 12)}/20{rng.randint(26, 31)}",
                "CCNumber": "4111111111111111",
                "STATE": rng.choice(STATES),
                "Nationality": rng.choice(["American", "German", "French", "British"]),
                "Occupation": rng.choice(OCCUPATIONS),
                "TelephoneNumber": f"{rng.randint(201, 989)}-555-{rng.randint(1000, 9999)}",
            }
        )
    return rows


def test_people_csv_export_zero_config_applies_and_replaces_what_it_should(tmp_path, keyring):
    """Today: 'generalize to age_band does not apply to string'; MothersMaiden, CVV2 kept;
    nationality replaced by fake city names."""
    rows = _people(600)
    (tmp_path / "src" / "customers").mkdir(parents=True)
    # every column text, as in the public export (parquet keeps the types: a CSV reader would infer ints)
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "src" / "customers" / "part-0.parquet")
    sanitize_folder(tmp_path / "src", tmp_path / "out", keyring=keyring, use_presidio=False)
    got = pq.read_table(tmp_path / "out" / "customers").to_pylist()
    assert len(got) == len(rows)

    # rows come out in a keyed order (no primary key here), so columns are compared as multisets
    def same(col):
        left = Counter(b[col] for b in got)
        kept = 0
        for a in rows:
            kept += left[a[col]] > 0
            left[a[col]] -= 1
        return kept / len(rows)

    assert same("MothersMaiden") < 0.1 and same("GivenName") < 0.1
    assert all(r["CVV2"] is None for r in got)
    assert same("STATE") == 1.0 and same("Nationality") == 1.0 and same("Occupation") == 1.0
    assert {r["Age"] for r in got} <= {f"{b}-{b + 9}" for b in range(10, 100, 10)}
    assert sorted(r["Birthday"] for r in got) == sorted(a["Birthday"].rsplit("/", 1)[1] for a in rows)
    assert all(len(r["CCExpires"]) == 4 and r["CCExpires"].startswith("20") for r in got)


def test_uppercase_healthcare_names_are_classified():
    rng = random.Random(5)
    n = 300
    table = pa.table(
        {
            "Id": [f"{rng.getrandbits(128):032x}" for _ in range(n)],
            "FIRST": [
                rng.choice(GIVEN) + str(rng.randint(1, 999)) for _ in range(n)
            ],  # digits in names, as Synthea has
            "LAST": [rng.choice(SURNAMES) + str(rng.randint(1, 999)) for _ in range(n)],
            "MAIDEN": [rng.choice(SURNAMES + [None]) for _ in range(n)],
            "DRIVERS": [f"S999{rng.randint(10000, 99999)}" for _ in range(n)],
            "BIRTHDATE": [dt.date(1950, 1, 1) + dt.timedelta(days=rng.randint(0, 20000)) for _ in range(n)],
            "DEATHDATE": [None] * (n - 10) + [dt.date(2020, 5, 1)] * 10,
            "LAT": [42 + rng.random() for _ in range(n)],
            "LON": [-71 - rng.random() for _ in range(n)],
            "ZIP": [f"{rng.randint(1000, 2999):05d}" for _ in range(n)],
            "STATE": ["Massachusetts"] * n,
        }
    )
    c = classify_table("patients", table, use_presidio=False).columns
    assert (c["FIRST"].action, c["FIRST"].entity) == ("fake", "FIRST_NAME")
    assert (c["LAST"].action, c["MAIDEN"].action, c["DRIVERS"].action) == ("fake", "fake", "fake")
    assert c["DEATHDATE"].action == "generalize" and c["BIRTHDATE"].params == {"to": "year"}
    assert c["LAT"].params == {"to": "round", "digits": 1} and c["LON"].action == "generalize"
    assert c["ZIP"].params == {"to": "zip3"} and c["STATE"].action == "keep"


def _luhn_complete(body: int) -> int:
    for check in range(10):
        digits = [int(d) for d in f"{body}{check}"][::-1]
        if sum(d if i % 2 == 0 else (d * 2 - 9 if d > 4 else d * 2) for i, d in enumerate(digits)) % 10 == 0:
            return body * 10 + check
    raise AssertionError


def test_values_decide_under_uninformative_names_for_every_type():
    """Today every integer column is kept because of its type and never scanned."""
    rng = random.Random(9)
    n = 300
    table = pa.table(
        {
            "col_7": [f"user{i}@mail.example.org" for i in range(n)],
            "attr1": pa.array([int(f"312555{i:04d}") for i in range(n)], pa.int64()),  # phone as int64
            "attr2": pa.array(
                [
                    int(f"{rng.randint(100, 665)}{rng.randint(10, 99)}{rng.randint(1000, 9999)}")
                    for _ in range(n)
                ],
                pa.int64(),
            ),  # SSN digits as int64
            "attr3": pa.array(
                [float(f"312555{i:04d}") for i in range(n)], pa.float64()
            ),  # phone as float (CSV NaN)
            "attr4": pa.array(
                [_luhn_complete(411111111111000 + 7 * i) for i in range(n)], pa.int64()
            ),  # cards
            "c5": [f"{rng.choice(GIVEN)} {rng.choice(SURNAMES)}" for _ in range(n)],
            "c6": [rng.choice(STATES) for _ in range(n)],
            "c7": [rng.choice(OCCUPATIONS) for _ in range(n)],
            "c8": [f"AB{rng.randint(10**6, 10**7)}X" for _ in range(n)],
            "amount": pa.array([rng.random() * 100 for _ in range(n)]),
            "qty": pa.array([rng.randint(1, 5) for _ in range(n)], pa.int32()),
        }
    )
    c = classify_table("things", table, use_presidio=False).columns
    assert (c["col_7"].action, c["col_7"].entity) == ("fake", "EMAIL_ADDRESS")
    assert (c["attr1"].action, c["attr1"].entity) == ("fake", "PHONE_NUMBER")
    assert (c["attr2"].action, c["attr2"].entity) == ("fake", "US_SSN")
    assert (c["attr3"].action, c["attr3"].entity) == ("null", "PHONE_NUMBER")  # fake cannot apply to float
    assert (c["attr4"].action, c["attr4"].entity) == ("fake", "CREDIT_CARD")
    assert (c["c5"].action, c["c5"].entity) == ("fake", "PERSON")
    assert c["c6"].action == "keep" and c["c7"].action == "keep"
    assert c["c7"].evidence.detector == "categorical" and "dictionary words" in c["c7"].evidence.detail
    assert c["c8"].action == "hmac" and c["c8"].evidence.detector == "values:identifier"
    assert c["amount"].action == "keep" and c["qty"].action == "keep"


def test_evidence_never_holds_a_value():
    rows = _people(200)
    c = classify_table("customers", pa.Table.from_pylist(rows), use_presidio=False).columns
    text = " ".join(p.model_dump_json() for p in c.values())
    for r in rows[:50]:
        for v in r.values():
            if len(v) > 4:
                assert v not in text


def test_names_with_digits_and_odd_casing_still_count_as_names():
    rng = random.Random(2)
    values = [rng.choice(GIVEN).upper() if i % 2 else rng.choice(GIVEN).lower() + str(i) for i in range(200)]
    p = classify_values("c1", pa.string(), values, use_presidio=False)
    assert (p.action, p.entity) == ("fake", "FIRST_NAME")
    assert p.evidence.detector == "gazetteer:FIRST_NAME"


def test_a_small_repeated_domain_is_a_category_not_names():
    p = classify_values("tier", pa.string(), ["gold", "silver", "Jordan", "Georgia"] * 50, use_presidio=False)
    assert p.action == "keep"


def test_sample_reads_across_files_and_batches_so_a_late_filling_column_is_classified(tmp_path):
    """Today a column empty in the first 20,000 rows is planned keep (evidence 'empty')."""
    folder = tmp_path / "src" / "contacts"
    folder.mkdir(parents=True)
    for part in range(3):  # 3 files x 15,000 rows; e-mails only in the last file
        rows = 15_000
        email = [None] * rows if part < 2 else [f"p{part}-{i}@example.org" for i in range(rows)]
        pq.write_table(
            pa.table(
                {
                    "id": pa.array(range(part * rows, (part + 1) * rows), pa.int64()),
                    "contact": pa.array(email, pa.string()),
                }
            ),
            folder / f"part-{part}.parquet",
            row_group_size=5_000,
        )
    src = discover_local(tmp_path / "src")["contacts"]
    sample = src.sample(rows=2_000)
    assert sample.num_rows == 2_000
    ids = sample.column("id").to_pylist()
    assert min(ids) < 15_000 and max(ids) >= 30_000  # first and last file both represented
    assert 0.2 < sample.column("contact").null_count / 2_000 < 0.9
    p = classify_table("contacts", sample, use_presidio=False).columns["contact"]
    assert (p.action, p.entity) == ("fake", "EMAIL_ADDRESS")


def test_an_empty_column_is_not_kept():
    p = classify_values("col_3", pa.string(), [None, "", "  "] * 100, use_presidio=False)
    assert (
        p.action == "scrub_text" and p.evidence.detector == "empty"
    )  # blanks stay blank, values are scrubbed
    p = classify_values("col_4", pa.int64(), [None] * 100, use_presidio=False)
    assert p.action == "null" and p.evidence.detector == "empty"


def test_expiry_and_security_code_next_to_a_card_column():
    n = 100
    table = pa.table(
        {
            "card": ["4111 1111 1111 1111"] * n,
            "exp": ["03/28"] * n,
            "code": [str(100 + i) for i in range(n)],
            "other_code": [str(100 + i) for i in range(n)],
        }
    )
    c = classify_table("payments", table, use_presidio=False).columns
    assert c["card"].entity == "CREDIT_CARD"
    assert (c["exp"].action, c["exp"].entity) == ("generalize", "CARD_EXPIRY")
    assert (c["code"].action, c["code"].entity) == ("null", "CARD_SECURITY_CODE")
    alone = classify_table("coupons", table.drop_columns(["card"]), use_presidio=False).columns
    assert alone["code"].entity != "CARD_SECURITY_CODE" and alone["exp"].entity != "CARD_EXPIRY"


@pytest.mark.parametrize(
    "values,entity",
    [
        (
            ["AB 12 34 56 C", "QQ123456A", "JG 10 20 30 D"] * 20,
            "NATIONAL_ID",
        ),  # UK National Insurance numbers
        (["12345678Z", "X1234567L", "87654321X"] * 20, "NATIONAL_ID"),  # Spanish DNI / NIE
        (["SW1A 1AA", "EC1A 1BB", "M1 1AE", "B33 8TH"] * 20, "ZIP_CODE"),  # UK postcodes
        (["123-45-6789", "321-54-9876", "555-12-3456"] * 20, "US_SSN"),
        (["3125550142", "4155550199", "2125550123"] * 20, "PHONE_NUMBER"),  # digits in text
    ],
)
def test_identifiers_of_several_countries_from_values(values, entity):
    p = classify_values("col_2", pa.string(), values, use_presidio=False)
    assert p.entity == entity and p.action != "keep"


def test_sample_of_a_large_parquet_file_reads_row_groups_spread_over_it(tmp_path):
    folder = tmp_path / "src" / "events"
    folder.mkdir(parents=True)
    rows = 40_000
    phone = [None] * 30_000 + [f"+1 312 555 {i % 10_000:04d}" for i in range(10_000)]
    pq.write_table(
        pa.table({"n": pa.array(range(rows), pa.int64()), "attr": pa.array(phone, pa.string())}),
        folder / "part-0.parquet",
        row_group_size=2_000,
    )
    sample = discover_local(tmp_path / "src")["events"].sample(rows=1_000, scan_rows=8_000)
    n = sample.column("n").to_pylist()
    assert sample.num_rows == 1_000 and min(n) < 2_000 and max(n) >= 38_000  # first and last row group
    p = classify_table("events", sample, use_presidio=False).columns["attr"]
    assert p.entity == "PHONE_NUMBER"


def test_street_addresses_under_uninformative_names_and_clean_urls_kept():
    streets = [
        "123 Main Street",
        "4 Elm Ave",
        "77 Baker St",
        "Hauptstraße 5",
        "12 rue de la Paix",
        "Calle Mayor, 3",
        "9 Sunset Blvd",
        "1600 Amphitheatre Pkwy",
        "221B Baker Street",
        "10 Downing St",
    ] * 10
    p = classify_values("col_9", pa.string(), streets, use_presidio=False)
    assert (p.action, p.entity) == ("fake", "STREET_ADDRESS")
    pages = [f"https://shop.example.com/products/{i}?ref=home" for i in range(100)]
    assert classify_values("referrer", pa.string(), pages, use_presidio=False).action == "keep"
    pages[5] = "https://shop.example.com/account?email=jane%40example.org"
    assert classify_values("referrer", pa.string(), pages, use_presidio=False).action == "fake"


def test_repeated_codes_are_not_ssns_and_a_small_lookup_of_words_is_kept():
    codes = [44054006, 195662009, 162864005, 410429000, 271737000] * 40  # SNOMED-like, repeating
    assert classify_values("CODE", pa.int64(), codes, use_presidio=False).action == "keep"
    depts = ["Sales", "Engineering", "Marketing", "Finance", "Operations", "Support", "Legal", "Purchasing"]
    assert classify_values("DeptName", pa.string(), depts, use_presidio=False).action == "keep"
    people = [
        "Olusegun Okafor",
        "Siobhan Kowalski",
        "Haruto Tanaka",
        "Ngozi Haddad",
        "Dmitri Novak",
        "Chloé Moreau",
    ]
    assert classify_values("c2", pa.string(), people, use_presidio=False).action == "fake"


def test_numbers_with_many_distinct_values_are_still_scanned():
    rng = random.Random(4)
    phones = [
        int(f"{rng.randint(201, 989)}{rng.randint(200, 999)}{rng.randint(0, 9999):04d}") for _ in range(5000)
    ]
    p = classify_values("attr1", pa.int64(), phones, use_presidio=False)
    assert (p.action, p.entity) == ("fake", "PHONE_NUMBER")
    streets = [
        "0487 Hull Village Suite 759",
        "12 Elm Crossing",
        "930 Oak Mission Apt. 2",
        "5 North Ridge Ports",
    ] * 30
    assert classify_values("col_9", pa.string(), streets, use_presidio=False).entity == "STREET_ADDRESS"
