"""A corpus of real-looking data sets, generated at test time, with their ground truth.

Each family is shaped like a public format that nobody on the project wrote the data of:
a CRM contacts export (fakenamegenerator-style PascalCase, every column a string), a
Shopify-like shop, a Synthea-like EHR (UUID keys, UPPERCASE names), a Zendesk-like help
desk, web server logs, an HR/payroll database, Stripe-like payments (prefixed string ids),
marketing events with a nested JSON column, and a customers table whose PII hides under
uninformative names (col_7, attr1) and int64.

Ground truth per family: the PII columns (and PII paths inside JSON), the quasi-identifier
or free-text columns that either treatment may handle (left out of both cell metrics), the
primary keys, and every foreign key between different tables.

Split (the rule, written down): seeds 0-99 are the dev part (tests and tuning use them);
seeds >= 1000 are held out: bench/corpus_bench.py reports them and no change to detection
may be tuned on their figures.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

DEV_SEEDS = range(100)
HELDOUT_SEED_START = 1000


@dataclass
class Family:
    name: str
    tables: dict[str, pa.Table]
    formats: dict[str, str]  # table -> csv | parquet | jsonl
    pii: dict[str, set[str]]
    keys: dict[str, str]  # table -> primary key
    fks: set[tuple[str, str, str, str]]  # (child table, column, parent table, parent column)
    quasi: dict[str, set[str]] = field(default_factory=dict)  # either treatment is acceptable
    json_pii: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # (table, column) -> leaf paths

    def write(self, root: Path) -> Path:
        for name, t in self.tables.items():
            folder = root / name
            folder.mkdir(parents=True, exist_ok=True)
            fmt = self.formats.get(name, "parquet")
            if fmt == "csv":
                pacsv.write_csv(t, folder / "part-00000.csv")
            elif fmt == "jsonl":
                rows = t.to_pylist()
                (folder / "part-00000.jsonl").write_text(
                    "".join(json.dumps(r, default=str) + "\n" for r in rows), encoding="utf-8"
                )
            else:
                pq.write_table(t, folder / "part-00000.parquet", row_group_size=max(1, t.num_rows // 3))
        return root


def _faker(seed: int, locales=("en_US",)):
    from faker import Faker

    f = Faker(list(locales))
    f.seed_instance(seed)
    return f


def _uuids(rng: np.random.Generator, n: int) -> list[str]:
    return [str(uuid.UUID(bytes=rng.bytes(16), version=4)) for _ in range(n)]


def _big_ids(rng: np.random.Generator, n: int, lo: int = 10**11, hi: int = 10**13) -> np.ndarray:
    return np.unique(rng.integers(lo, hi, n * 2))[:n] if n else np.empty(0, np.int64)


def _dates(rng, n, start="1940-01-01", days=30000) -> np.ndarray:
    return np.datetime64(start) + rng.integers(0, days, n).astype("timedelta64[D]")


def crm_contacts(seed: int, rows: int = 400) -> Family:
    """fakenamegenerator.com-style bulk export: PascalCase headers, every value a string (CSV)."""
    f, rng = _faker(seed, ("en_US",)), np.random.default_rng(seed)
    birth = _dates(rng, rows, "1945-01-01", 20000)
    cols: dict[str, list] = {
        k: []
        for k in (
            "Number",
            "Gender",
            "NameSet",
            "Title",
            "GivenName",
            "MiddleInitial",
            "Surname",
            "StreetAddress",
            "City",
            "State",
            "ZipCode",
            "CountryFull",
            "EmailAddress",
            "Username",
            "Password",
            "TelephoneNumber",
            "TelephoneCountryCode",
            "MothersMaiden",
            "Birthday",
            "Age",
            "CCType",
            "CCNumber",
            "CVV2",
            "CCExpires",
            "NationalID",
            "Occupation",
            "Company",
            "BloodType",
            "Kilograms",
            "Centimeters",
            "Latitude",
            "Longitude",
        )
    }
    for i in range(rows):
        g = "male" if rng.random() < 0.5 else "female"
        first = f.first_name_male() if g == "male" else f.first_name_female()
        last = f.last_name()
        b = birth[i].astype(object)
        cols["Number"].append(str(i + 1))
        cols["Gender"].append(g)
        cols["NameSet"].append("American")
        cols["Title"].append("Mr." if g == "male" else rng.choice(["Ms.", "Mrs."]))
        cols["GivenName"].append(first)
        cols["MiddleInitial"].append(chr(65 + int(rng.integers(0, 26))))
        cols["Surname"].append(last)
        cols["StreetAddress"].append(f.street_address())
        cols["City"].append(f.city())
        cols["State"].append(f.state_abbr())
        cols["ZipCode"].append(f.zipcode())
        cols["CountryFull"].append("United States")
        cols["EmailAddress"].append(f"{first}{last[0]}{int(rng.integers(10, 99))}@{f.free_email_domain()}")
        cols["Username"].append(f"{f.user_name()}{int(rng.integers(1, 999))}")
        cols["Password"].append(f.password(length=10))
        cols["TelephoneNumber"].append(
            f"{int(rng.integers(201, 989))}-{int(rng.integers(200, 999))}-{int(rng.integers(0, 9999)):04d}"
        )
        cols["TelephoneCountryCode"].append("1")
        cols["MothersMaiden"].append(f.last_name())
        cols["Birthday"].append(f"{b.month}/{b.day}/{b.year}")
        cols["Age"].append(str(2025 - b.year))
        cols["CCType"].append(rng.choice(["Visa", "MasterCard", "American Express"]))
        cols["CCNumber"].append(f.credit_card_number(card_type="visa16"))
        cols["CVV2"].append(f"{int(rng.integers(100, 999))}")
        cols["CCExpires"].append(f"{int(rng.integers(1, 12))}/{int(rng.integers(2026, 2031))}")
        cols["NationalID"].append(f.ssn())
        cols["Occupation"].append(
            rng.choice(
                [
                    "Nurse",
                    "Teacher",
                    "Electrician",
                    "Accountant",
                    "Cashier",
                    "Software developer",
                    "Truck driver",
                    "Chef",
                ]
            )
        )
        cols["Company"].append(
            rng.choice(
                [
                    "Acme Markets",
                    "Bettendorf's",
                    "Monk House Sales",
                    "Ultimate Mart",
                    "Realty Zone",
                    "Rite Solution",
                ]
            )
        )
        cols["BloodType"].append(rng.choice(["O+", "A+", "B+", "AB+", "O-", "A-"]))
        cols["Kilograms"].append(f"{rng.normal(78, 15):.1f}")
        cols["Centimeters"].append(str(int(rng.normal(172, 10))))
        cols["Latitude"].append(f"{rng.uniform(25, 48):.6f}")
        cols["Longitude"].append(f"{rng.uniform(-123, -70):.6f}")
    t = pa.table({k: pa.array(v, pa.string()) for k, v in cols.items()})
    pii = {
        "GivenName",
        "Surname",
        "StreetAddress",
        "EmailAddress",
        "Username",
        "Password",
        "TelephoneNumber",
        "MothersMaiden",
        "Birthday",
        "CCNumber",
        "CVV2",
        "CCExpires",
        "NationalID",
        "Latitude",
        "Longitude",
    }
    quasi = {"MiddleInitial", "City", "ZipCode", "Age", "Title", "Gender", "Kilograms", "Centimeters"}
    return Family(
        "crm_contacts",
        {"contacts": t},
        {"contacts": "csv"},
        {"contacts": pii},
        {"contacts": "Number"},
        set(),
        {"contacts": quasi},
    )


def ecommerce(seed: int, rows: int = 300) -> Family:
    """Shopify-like export: large integer ids, customers, orders, line items, products (parquet)."""
    f, rng = _faker(seed), np.random.default_rng(seed)
    n_prod, n_orders = 40, rows * 2
    prod_ids, cust_ids, order_ids = _big_ids(rng, n_prod), _big_ids(rng, rows), _big_ids(rng, n_orders)
    products = pa.table(
        {
            "id": pa.array(prod_ids),
            "title": pa.array(
                [f"{f.color_name()} {rng.choice(['Mug', 'Shirt', 'Cap'])}" for _ in range(n_prod)]
            ),
            "vendor": pa.array(rng.choice(["Northwind", "Contoso", "Fabrikam"], n_prod)),
            "product_type": pa.array(rng.choice(["Apparel", "Kitchen", "Accessories"], n_prod)),
            "price": pa.array(np.round(rng.uniform(5, 80, n_prod), 2)),
        }
    )
    first = [f.first_name() for _ in range(rows)]
    last = [f.last_name() for _ in range(rows)]
    emails = [
        f"{a.lower()}.{b.lower()}{i}@{f.free_email_domain()}" for i, (a, b) in enumerate(zip(first, last))
    ]
    customers = pa.table(
        {
            "id": pa.array(cust_ids),
            "first_name": first,
            "last_name": last,
            "email": emails,
            "phone": [f.phone_number() for _ in range(rows)],
            "accepts_marketing": pa.array(rng.random(rows) < 0.4),
            "orders_count": pa.array(rng.integers(0, 12, rows)),
            "total_spent": pa.array(np.round(rng.gamma(2, 60, rows), 2)),
            "created_at": pa.array(_dates(rng, rows, "2019-01-01", 2000).astype("datetime64[s]")),
            "province_code": pa.array([f.state_abbr() for _ in range(rows)]),
            "country_code": pa.array(["US"] * rows),
            "tags": pa.array(rng.choice(["", "vip", "wholesale"], rows)),
        }
    )
    who = rng.integers(0, rows, n_orders)
    orders = pa.table(
        {
            "id": pa.array(order_ids),
            "customer_id": pa.array(cust_ids[who]),
            "order_number": pa.array(np.arange(1001, 1001 + n_orders)),
            "email": pa.array([emails[i] for i in who]),
            "created_at": pa.array(_dates(rng, n_orders, "2023-01-01", 700).astype("datetime64[s]")),
            "financial_status": pa.array(rng.choice(["paid", "pending", "refunded"], n_orders)),
            "fulfillment_status": pa.array(rng.choice(["fulfilled", "partial", "unfulfilled"], n_orders)),
            "total_price": pa.array(np.round(rng.gamma(2, 40, n_orders), 2)),
            "currency": pa.array(["USD"] * n_orders),
            "billing_address1": [f.street_address() for _ in range(n_orders)],
            "billing_zip": [f.zipcode() for _ in range(n_orders)],
            "shipping_name": pa.array([f"{first[i]} {last[i]}" for i in who]),
            "browser_ip": [f.ipv4_public() for _ in range(n_orders)],
        }
    )
    n_items = n_orders * 2
    items = pa.table(
        {
            "id": pa.array(_big_ids(rng, n_items, 10**13, 10**14)),
            "order_id": pa.array(order_ids[rng.integers(0, n_orders, n_items)]),
            "product_id": pa.array(prod_ids[rng.integers(0, n_prod, n_items)]),
            "quantity": pa.array(rng.integers(1, 5, n_items)),
            "price": pa.array(np.round(rng.uniform(5, 80, n_items), 2)),
        }
    )
    return Family(
        "ecommerce",
        {"customers": customers, "orders": orders, "order_items": items, "products": products},
        {},
        {
            "customers": {"first_name", "last_name", "email", "phone"},
            "orders": {"email", "billing_address1", "shipping_name", "browser_ip"},
        },
        {"customers": "id", "orders": "id", "order_items": "id", "products": "id"},
        {
            ("orders", "customer_id", "customers", "id"),
            ("order_items", "order_id", "orders", "id"),
            ("order_items", "product_id", "products", "id"),
        },
        {"customers": {"province_code", "tags"}, "orders": {"billing_zip"}, "products": {"title"}},
    )


def ehr(seed: int, rows: int = 200) -> Family:
    """Synthea-like CSV: UUID keys, UPPERCASE names, foreign keys named PATIENT / PATIENTID."""
    f, rng = _faker(seed), np.random.default_rng(seed)
    n_org, n_prov, n_enc = 12, 30, rows * 3
    org_ids, prov_ids, pat_ids, enc_ids = (
        _uuids(rng, n_org),
        _uuids(rng, n_prov),
        _uuids(rng, rows),
        _uuids(rng, n_enc),
    )

    def date_str(a):
        return [str(x) for x in a]

    birth = _dates(rng, rows, "1930-01-01", 30000)
    death = [str(d) if rng.random() < 0.15 else None for d in _dates(rng, rows, "2015-01-01", 3000)]
    organizations = pa.table(
        {
            "Id": org_ids,
            "NAME": [f"{f.city()} Medical Center" for _ in range(n_org)],
            "CITY": [f.city() for _ in range(n_org)],
            "STATE": ["Massachusetts"] * n_org,
            "REVENUE": pa.array(np.round(rng.uniform(1e5, 1e7, n_org), 2)),
            "UTILIZATION": pa.array(rng.integers(10, 5000, n_org)),
        }
    )
    providers = pa.table(
        {
            "Id": prov_ids,
            "ORGANIZATION": pa.array([org_ids[i] for i in rng.integers(0, n_org, n_prov)]),
            "NAME": [f"{f.first_name()} {f.last_name()}" for _ in range(n_prov)],
            "GENDER": pa.array(rng.choice(["M", "F"], n_prov)),
            "SPECIALITY": pa.array(rng.choice(["GENERAL PRACTICE", "CARDIOLOGY", "ONCOLOGY"], n_prov)),
            "ENCOUNTERS": pa.array(rng.integers(0, 3000, n_prov)),
        }
    )
    patients = pa.table(
        {
            "Id": pat_ids,
            "BIRTHDATE": date_str(birth),
            "DEATHDATE": pa.array(death, pa.string()),
            "SSN": [f"999-{int(rng.integers(10, 99))}-{int(rng.integers(1000, 9999))}" for _ in range(rows)],
            "DRIVERS": [
                f"S999{int(rng.integers(10000, 99999))}" if rng.random() < 0.8 else None for _ in range(rows)
            ],
            "PASSPORT": [
                f"X{int(rng.integers(10**7, 10**8))}X" if rng.random() < 0.7 else None for _ in range(rows)
            ],
            "PREFIX": pa.array(rng.choice(["Mr.", "Mrs.", "Ms."], rows)),
            "FIRST": [f"{f.first_name()}{int(rng.integers(100, 999))}" for _ in range(rows)],
            "LAST": [f"{f.last_name()}{int(rng.integers(100, 999))}" for _ in range(rows)],
            "MAIDEN": [
                f"{f.last_name()}{int(rng.integers(100, 999))}" if rng.random() < 0.3 else None
                for _ in range(rows)
            ],
            "MARITAL": pa.array(rng.choice(["M", "S", "D", "W"], rows)),
            "RACE": pa.array(rng.choice(["white", "black", "asian", "native", "other"], rows)),
            "ETHNICITY": pa.array(rng.choice(["nonhispanic", "hispanic"], rows)),
            "GENDER": pa.array(rng.choice(["M", "F"], rows)),
            "ADDRESS": [f.street_address() for _ in range(rows)],
            "CITY": [f.city() for _ in range(rows)],
            "STATE": ["Massachusetts"] * rows,
            "COUNTY": pa.array(rng.choice(["Suffolk County", "Middlesex County", "Worcester County"], rows)),
            "ZIP": [f"0{int(rng.integers(1000, 2799))}" for _ in range(rows)],
            "LAT": pa.array(rng.uniform(41.2, 42.9, rows)),
            "LON": pa.array(rng.uniform(-73.5, -69.9, rows)),
            "HEALTHCARE_EXPENSES": pa.array(np.round(rng.gamma(2, 2e4, rows), 2)),
            "INCOME": pa.array(rng.integers(10_000, 250_000, rows)),
        }
    )
    start = _dates(rng, n_enc, "2010-01-01", 5000)
    pat_of_enc = rng.integers(0, rows, n_enc)
    encounters = pa.table(
        {
            "Id": enc_ids,
            "START": date_str(start),
            "PATIENT": [pat_ids[i] for i in pat_of_enc],
            "ORGANIZATION": [org_ids[i] for i in rng.integers(0, n_org, n_enc)],
            "PROVIDER": [prov_ids[i] for i in rng.integers(0, n_prov, n_enc)],
            "ENCOUNTERCLASS": pa.array(
                rng.choice(["wellness", "ambulatory", "emergency", "inpatient"], n_enc)
            ),
            "CODE": pa.array(rng.choice([185349003, 162673000, 50849002, 410620009], n_enc)),
            "DESCRIPTION": pa.array(
                rng.choice(
                    [
                        "Encounter for check up",
                        "General examination of patient",
                        "Emergency room admission",
                        "Well child visit",
                    ],
                    n_enc,
                )
            ),
            "BASE_ENCOUNTER_COST": pa.array(np.round(rng.uniform(50, 200, n_enc), 2)),
            "TOTAL_CLAIM_COST": pa.array(np.round(rng.uniform(50, 2000, n_enc), 2)),
        }
    )
    n_claims = n_enc
    claims = pa.table(
        {
            "Id": _uuids(rng, n_claims),
            "PATIENTID": [pat_ids[i] for i in pat_of_enc],
            "PROVIDERID": [prov_ids[i] for i in rng.integers(0, n_prov, n_claims)],
            "APPOINTMENTID": enc_ids,
            "DEPARTMENTID": pa.array(rng.integers(1, 20, n_claims)),
            "DIAGNOSIS1": pa.array(rng.choice([444814009, 195662009, 10509002, 72892002], n_claims)),
            "SERVICEDATE": date_str(start),
            "STATUS1": pa.array(rng.choice(["CLOSED", "BILLED"], n_claims)),
            "OUTSTANDING1": pa.array(np.round(rng.uniform(0, 500, n_claims), 2)),
        }
    )
    n_cond = rows * 2
    enc_of_cond = rng.integers(0, n_enc, n_cond)
    conditions = pa.table(
        {
            "START": date_str(start[enc_of_cond]),
            "PATIENT": [pat_ids[pat_of_enc[i]] for i in enc_of_cond],
            "ENCOUNTER": [enc_ids[i] for i in enc_of_cond],
            "CODE": pa.array(rng.choice([444814009, 195662009, 10509002, 72892002, 40055000], n_cond)),
            "DESCRIPTION": pa.array(
                rng.choice(
                    [
                        "Viral sinusitis (disorder)",
                        "Acute viral pharyngitis (disorder)",
                        "Acute bronchitis (disorder)",
                        "Otitis media",
                        "Chronic sinusitis",
                    ],
                    n_cond,
                )
            ),
        }
    )
    tables = {
        "organizations": organizations,
        "providers": providers,
        "patients": patients,
        "encounters": encounters,
        "claims": claims,
        "conditions": conditions,
    }
    return Family(
        "ehr",
        tables,
        {t: "csv" for t in tables},
        {
            "patients": {
                "BIRTHDATE",
                "DEATHDATE",
                "SSN",
                "DRIVERS",
                "PASSPORT",
                "FIRST",
                "LAST",
                "MAIDEN",
                "ADDRESS",
                "LAT",
                "LON",
            },
            "providers": {"NAME"},
        },
        {"organizations": "Id", "providers": "Id", "patients": "Id", "encounters": "Id", "claims": "Id"},
        {
            ("providers", "ORGANIZATION", "organizations", "Id"),
            ("encounters", "PATIENT", "patients", "Id"),
            ("encounters", "ORGANIZATION", "organizations", "Id"),
            ("encounters", "PROVIDER", "providers", "Id"),
            ("claims", "PATIENTID", "patients", "Id"),
            ("claims", "PROVIDERID", "providers", "Id"),
            ("claims", "APPOINTMENTID", "encounters", "Id"),
            ("conditions", "PATIENT", "patients", "Id"),
            ("conditions", "ENCOUNTER", "encounters", "Id"),
        },
        {"patients": {"CITY", "ZIP", "PREFIX", "COUNTY", "INCOME"}, "organizations": {"NAME", "CITY"}},
    )


def helpdesk(seed: int, rows: int = 200) -> Family:
    """Zendesk-like: users (requesters and agents), organizations, tickets with free text (jsonl)."""
    f, rng = _faker(seed), np.random.default_rng(seed)
    n_org, n_tickets = 15, rows * 2
    org_ids, user_ids = _big_ids(rng, n_org, 10**9, 10**10), _big_ids(rng, rows, 10**11, 10**12)
    organizations = pa.table(
        {
            "id": pa.array(org_ids),
            "name": [f.company() for _ in range(n_org)],
            "created_at": pa.array(_dates(rng, n_org, "2015-01-01", 2000).astype(str)),
        }
    )
    names = [f.name() for _ in range(rows)]
    users = pa.table(
        {
            "id": pa.array(user_ids),
            "name": names,
            "email": [f"{n.split()[0].lower()}{i}@{f.free_email_domain()}" for i, n in enumerate(names)],
            "phone": [f.phone_number() for _ in range(rows)],
            "role": pa.array(np.where(np.arange(rows) < 20, "agent", "end-user")),
            "organization_id": pa.array(org_ids[rng.integers(0, n_org, rows)]),
            "time_zone": pa.array(
                rng.choice(["Eastern Time (US & Canada)", "Pacific Time (US & Canada)", "London"], rows)
            ),
            "locale": pa.array(rng.choice(["en-US", "en-GB", "de"], rows)),
        }
    )
    req = rng.integers(20, rows, n_tickets)
    bodies = [
        f"Hi, this is {names[r]}. My order never arrived, please call me at {f.phone_number()}. "
        f"Thanks, {names[r].split()[0]}"
        for r in req
    ]
    tickets = pa.table(
        {
            "id": pa.array(np.arange(1, n_tickets + 1) + 5000),
            "requester_id": pa.array(user_ids[req]),
            "assignee_id": pa.array(user_ids[rng.integers(0, 20, n_tickets)]),
            "organization_id": pa.array(org_ids[rng.integers(0, n_org, n_tickets)]),
            "subject": pa.array(
                rng.choice(["Order not received", "Refund request", "Login problem", "Wrong size"], n_tickets)
            ),
            "description": bodies,
            "status": pa.array(rng.choice(["open", "pending", "solved", "closed"], n_tickets)),
            "priority": pa.array(rng.choice(["low", "normal", "high", "urgent"], n_tickets)),
            "channel": pa.array(rng.choice(["email", "web", "phone"], n_tickets)),
            "created_at": pa.array(_dates(rng, n_tickets, "2024-01-01", 365).astype(str)),
        }
    )
    return Family(
        "helpdesk",
        {"organizations": organizations, "users": users, "tickets": tickets},
        {"organizations": "jsonl", "users": "jsonl", "tickets": "jsonl"},
        {"users": {"name", "email", "phone"}},
        {"organizations": "id", "users": "id", "tickets": "id"},
        {
            ("users", "organization_id", "organizations", "id"),
            ("tickets", "requester_id", "users", "id"),
            ("tickets", "assignee_id", "users", "id"),
            ("tickets", "organization_id", "organizations", "id"),
        },
        {"tickets": {"description"}, "organizations": {"name"}, "users": {"time_zone"}},
    )


def weblogs(seed: int, rows: int = 300) -> Family:
    """Web server access logs joined to site users (parquet)."""
    f, rng = _faker(seed), np.random.default_rng(seed)
    n_req = rows * 2
    uids = [f"u{x}" for x in rng.choice(np.arange(10**6, 10**7), rows, replace=False)]
    users = pa.table(
        {
            "user_id": uids,
            "username": [f"{f.user_name()}{i}" for i in range(rows)],
            "email": [f"{f.user_name()}{i}@{f.free_email_domain()}" for i in range(rows)],
            "signup_ts": pa.array(_dates(rng, rows, "2020-01-01", 1500).astype("datetime64[s]")),
        }
    )
    logged_in = rng.random(n_req) < 0.6
    requests = pa.table(
        {
            "request_id": [uuid.UUID(bytes=rng.bytes(16)).hex for _ in range(n_req)],
            "ts": pa.array(
                np.datetime64("2025-03-01T00:00:00")
                + rng.integers(0, 86400 * 30, n_req).astype("timedelta64[s]")
            ),
            "client_ip": [f.ipv4_public() for _ in range(n_req)],
            "method": pa.array(rng.choice(["GET", "POST", "HEAD"], n_req, p=[0.8, 0.15, 0.05])),
            "path": pa.array(
                rng.choice(["/", "/products", "/cart", "/checkout", "/api/v1/items", "/login"], n_req)
            ),
            "status": pa.array(rng.choice([200, 200, 200, 301, 404, 500], n_req)),
            "bytes_sent": pa.array(rng.integers(200, 90_000, n_req)),
            "referrer": pa.array(
                rng.choice(["-", "https://www.google.com/", "https://news.ycombinator.com/"], n_req)
            ),
            "user_agent": [f.user_agent() for _ in range(n_req)],
            "user_id": pa.array(
                [uids[int(rng.integers(0, rows))] if li else None for li in logged_in], pa.string()
            ),
        }
    )
    return Family(
        "weblogs",
        {"users": users, "requests": requests},
        {},
        {"users": {"username", "email"}, "requests": {"client_ip"}},
        {"users": "user_id", "requests": "request_id"},
        {("requests", "user_id", "users", "user_id")},
        {"requests": {"user_agent"}},
    )


def hr(seed: int, rows: int = 250) -> Family:
    """HR / payroll database dump: CamelCase ids, small department lookup, IBANs (CSV)."""
    f, rng = _faker(seed, ("en_US",)), np.random.default_rng(seed)
    depts = ["Sales", "Engineering", "Finance", "Support", "Legal", "Operations", "Marketing", "IT"]
    departments = pa.table({"DeptID": pa.array(np.arange(1, len(depts) + 1)), "DeptName": depts})
    emp_ids = np.arange(10001, 10001 + rows)
    employees = pa.table(
        {
            "EmpID": pa.array(emp_ids),
            "FirstName": [f.first_name() for _ in range(rows)],
            "LastName": [f.last_name() for _ in range(rows)],
            "DOB": pa.array(_dates(rng, rows, "1960-01-01", 14000)),
            "SSN": [f.ssn() for _ in range(rows)],
            "Email": [f"emp{i}.{f.user_name()}@corp.example.net" for i in range(rows)],
            "Phone": [f.phone_number() for _ in range(rows)],
            "HireDate": pa.array(_dates(rng, rows, "2005-01-01", 7000)),
            "DeptID": pa.array(rng.integers(1, len(depts) + 1, rows)),
            "PerfScoreID": pa.array(rng.integers(1, 5, rows)),
            "EmpSatisfaction": pa.array(rng.integers(1, 6, rows)),
            "Salary": pa.array(rng.integers(40_000, 180_000, rows)),
            "Position": pa.array(
                rng.choice(["Analyst", "Engineer", "Manager", "Technician", "Director"], rows)
            ),
            "MaritalDesc": pa.array(rng.choice(["Single", "Married", "Divorced"], rows)),
            "Sex": pa.array(rng.choice(["F", "M"], rows)),
        }
    )
    n_pay = rows * 3
    payroll = pa.table(
        {
            "PayID": pa.array(np.arange(1, n_pay + 1) + 700_000),
            "EmpID": pa.array(emp_ids[rng.integers(0, rows, n_pay)]),
            "PayDate": pa.array(_dates(rng, n_pay, "2024-01-01", 365)),
            "Gross": pa.array(np.round(rng.uniform(2000, 12000, n_pay), 2)),
            "BankIBAN": [f.iban() for _ in range(n_pay)],
        }
    )
    return Family(
        "hr",
        {"departments": departments, "employees": employees, "payroll": payroll},
        {"departments": "csv", "employees": "csv", "payroll": "csv"},
        {"employees": {"FirstName", "LastName", "DOB", "SSN", "Email", "Phone"}, "payroll": {"BankIBAN"}},
        {"departments": "DeptID", "employees": "EmpID", "payroll": "PayID"},
        {("employees", "DeptID", "departments", "DeptID"), ("payroll", "EmpID", "employees", "EmpID")},
        {"employees": {"HireDate"}},
    )


def payments(seed: int, rows: int = 250) -> Family:
    """Stripe-like: string ids with a constant type prefix (cus_, ch_, re_) (parquet)."""
    f, rng = _faker(seed), np.random.default_rng(seed)

    def sid(prefix, n):
        alphabet = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"))
        return [prefix + "".join(rng.choice(alphabet, 14)) for _ in range(n)]

    cus, n_ch = sid("cus_", rows), rows * 3
    ch = sid("ch_", n_ch)
    customers = pa.table(
        {
            "id": cus,
            "email": [f"{f.user_name()}{i}@{f.free_email_domain()}" for i in range(rows)],
            "name": [f.name() for _ in range(rows)],
            "phone": [f.phone_number() for _ in range(rows)],
            "address_line1": [f.street_address() for _ in range(rows)],
            "address_postal_code": [f.zipcode() for _ in range(rows)],
            "created": pa.array(rng.integers(1_600_000_000, 1_750_000_000, rows)),
            "delinquent": pa.array(rng.random(rows) < 0.05),
        }
    )
    charges = pa.table(
        {
            "id": ch,
            "customer": [cus[i] for i in rng.integers(0, rows, n_ch)],
            "amount": pa.array(rng.integers(100, 50_000, n_ch)),
            "currency": pa.array(rng.choice(["usd", "eur"], n_ch)),
            "status": pa.array(rng.choice(["succeeded", "failed"], n_ch, p=[0.93, 0.07])),
            "card_brand": pa.array(rng.choice(["visa", "mastercard", "amex"], n_ch)),
            "card_last4": pa.array([f"{int(x):04d}" for x in rng.integers(0, 10_000, n_ch)]),
            "card_exp_year": pa.array(rng.integers(2026, 2032, n_ch)),
            "receipt_email": [f"{f.user_name()}{i}@{f.free_email_domain()}" for i in range(n_ch)],
            "created": pa.array(rng.integers(1_700_000_000, 1_750_000_000, n_ch)),
        }
    )
    n_re = rows // 2
    refunds = pa.table(
        {
            "id": sid("re_", n_re),
            "charge": [ch[i] for i in rng.choice(n_ch, n_re, replace=False)],
            "amount": pa.array(rng.integers(100, 5_000, n_re)),
            "reason": pa.array(rng.choice(["requested_by_customer", "duplicate", "fraudulent"], n_re)),
        }
    )
    return Family(
        "payments",
        {"customers": customers, "charges": charges, "refunds": refunds},
        {},
        {"customers": {"email", "name", "phone", "address_line1"}, "charges": {"receipt_email"}},
        {"customers": "id", "charges": "id", "refunds": "id"},
        {("charges", "customer", "customers", "id"), ("refunds", "charge", "charges", "id")},
        {"customers": {"address_postal_code"}, "charges": {"card_last4", "card_exp_year"}},
    )


def marketing_events(seed: int, rows: int = 250) -> Family:
    """Marketing automation export: contacts, campaigns, events with a nested JSON properties column."""
    f, rng = _faker(seed, ("en_US", "de_DE", "fr_FR")), np.random.default_rng(seed)
    cids, n_camp, n_ev = _uuids(rng, rows), 12, rows * 3
    first, last = [f.first_name() for _ in range(rows)], [f.last_name() for _ in range(rows)]
    emails = [
        f"{a[0].lower()}{b.lower()}{i}@{f.free_email_domain()}".replace(" ", "")
        for i, (a, b) in enumerate(zip(first, last))
    ]
    contacts = pa.table(
        {
            "contact_id": cids,
            "email": emails,
            "first_name": first,
            "last_name": last,
            "country": pa.array(rng.choice(["US", "DE", "FR", "GB"], rows)),
            "opted_in": pa.array(rng.random(rows) < 0.7),
        }
    )
    campaigns = pa.table(
        {
            "campaign_id": pa.array(np.arange(1, n_camp + 1)),
            "name": [f"Spring promo {i}" for i in range(n_camp)],
            "channel": pa.array(rng.choice(["email", "social", "search"], n_camp)),
            "budget": pa.array(np.round(rng.uniform(1e3, 5e4, n_camp), 2)),
        }
    )
    who = rng.integers(0, rows, n_ev)
    props = [
        json.dumps(
            {
                "email": emails[w],
                "device": {"ip": f.ipv4_public(), "os": str(rng.choice(["ios", "web"]))},
                "utm": {"source": str(rng.choice(["newsletter", "google"])), "medium": "cpc"},
                "form": {"full_name": f"{first[w]} {last[w]}", "phone": f.phone_number()},
            }
        )
        for w in who
    ]
    events = pa.table(
        {
            "event_id": _uuids(rng, n_ev),
            "contact_id": [cids[w] for w in who],
            "campaign_id": pa.array(rng.integers(1, n_camp + 1, n_ev)),
            "event_type": pa.array(rng.choice(["open", "click", "form_submit"], n_ev)),
            "occurred_at": pa.array(
                np.datetime64("2025-04-01T00:00:00")
                + rng.integers(0, 86400 * 60, n_ev).astype("timedelta64[s]")
            ),
            "properties": props,
        }
    )
    return Family(
        "marketing_events",
        {"contacts": contacts, "campaigns": campaigns, "events": events},
        {},
        {"contacts": {"email", "first_name", "last_name"}},
        {"contacts": "contact_id", "campaigns": "campaign_id", "events": "event_id"},
        {
            ("events", "contact_id", "contacts", "contact_id"),
            ("events", "campaign_id", "campaigns", "campaign_id"),
        },
        {"campaigns": {"name"}},
        {("events", "properties"): ["email", "device.ip", "form.full_name", "form.phone"]},
    )


def opaque_customers(seed: int, rows: int = 400) -> Family:
    """PII under uninformative names, phone / SSN / CVV as integers, a column empty in its first rows."""
    f, rng = _faker(seed), np.random.default_rng(seed)
    late = [None] * (rows * 6 // 10) + [
        f"{f.user_name()}{i}@{f.free_email_domain()}" for i in range(rows * 4 // 10)
    ]
    customers = pa.table(
        {
            "col_1": pa.array(np.arange(1, rows + 1)),
            "col_2": [f.first_name() for _ in range(rows)],
            "col_3": [f.last_name() for _ in range(rows)],
            "col_7": [f"{f.user_name()}{i}@{f.free_email_domain()}" for i in range(rows)],
            "attr1": [
                f"({int(rng.integers(201, 989))}) {int(rng.integers(200, 999))}-"
                f"{int(rng.integers(0, 9999)):04d}"
                for _ in range(rows)
            ],
            "col_9": [f.street_address() for _ in range(rows)],
            "attr2": pa.array(rng.integers(2_012_000_000, 9_899_999_999, rows)),
            "col_4": pa.array(rng.integers(100_000_000, 899_999_999, rows)),
            # the shape: a card security code stored as int under its usual name, no card column
            "CVV2": pa.array(rng.integers(100, 999, rows)),
            "col_6": pa.array(_dates(rng, rows, "2018-01-01", 2500)),
            "col_8": pa.array(rng.choice(["free", "pro", "team"], rows)),
            "col_10": pa.array(np.round(rng.uniform(0, 100, rows), 1)),
            "col_11": pa.array(late, pa.string()),
        }
    )
    n_orders = rows * 3
    orders = pa.table(
        {
            "col_1": pa.array(np.arange(1, n_orders + 1)),
            "col_2": pa.array(rng.integers(1, rows + 1, n_orders)),
            "col_3": pa.array(np.round(rng.gamma(2, 30, n_orders), 2)),
            "col_4": pa.array(rng.choice(["placed", "shipped"], n_orders)),
        }
    )
    return Family(
        "opaque_customers",
        {"customers": customers, "orders": orders},
        {},
        {"customers": {"col_2", "col_3", "col_7", "attr1", "col_9", "attr2", "col_4", "CVV2", "col_11"}},
        {"customers": "col_1", "orders": "col_1"},
        {("orders", "col_2", "customers", "col_1")},
    )


FAMILIES: dict[str, Callable[[int], Family]] = {
    "crm_contacts": crm_contacts,
    "ecommerce": ecommerce,
    "ehr": ehr,
    "helpdesk": helpdesk,
    "weblogs": weblogs,
    "hr": hr,
    "payments": payments,
    "marketing_events": marketing_events,
    "opaque_customers": opaque_customers,
}
