"""A realistic synthetic production data set, full of PII, deterministic for a seed.

Vectorized: Faker fills small pools once (a few thousand calls), then numpy picks
from the pools and pyarrow assembles strings, so a million customers and their
children take a couple of minutes on two cores. Written in mixed formats on purpose:
customers/order_items as parquet, orders as CSV, support_tickets as gzip'd JSON
lines, events as gzip'd CSV with a JSON-string column.
"""

from __future__ import annotations

import gzip
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

CHUNK = 100_000
BASE_DATE = np.datetime64("2026-01-01")
TABLES = ("customers", "orders", "order_items", "support_tickets", "events")


@dataclass
class Pools:
    first: pa.Array
    last: pa.Array
    street: pa.Array
    city: pa.Array
    state: pa.Array
    domain: pa.Array
    sku: pa.Array
    company: pa.Array


def _pools(seed: int) -> Pools:
    from faker import Faker

    fake = Faker(["en_US", "en_GB", "de_DE", "fr_FR", "es_ES"])
    fake.seed_instance(seed)
    uniq = lambda f, n: pa.array(sorted({f() for _ in range(n)}))  # noqa: E731
    return Pools(
        first=uniq(fake.first_name, 3000),
        last=uniq(fake.last_name, 5000),
        street=uniq(lambda: fake["en_US"].street_name(), 3000),
        city=uniq(lambda: fake["en_US"].city(), 1500),
        state=pa.array(["CA", "NY", "TX", "FL", "WA", "IL", "MA", "CO", "GA", "OR"]),
        domain=pa.array(
            [
                "gmail.com",
                "yahoo.com",
                "outlook.com",
                "hotmail.com",
                "icloud.com",
                "proton.me",
                "example.org",
                "acme-mail.com",
            ]
        ),
        sku=pa.array([f"SKU-{i:05d}" for i in range(2000)]),
        company=uniq(fake.company, 500),
    )


def _pick(rng: np.random.Generator, pool: pa.Array, n: int) -> pa.Array:
    return pool.take(pa.array(rng.integers(0, len(pool), n)))


def _digits(rng: np.random.Generator, n: int, width: int) -> pa.Array:
    """n random zero-padded decimal strings of `width` digits."""
    return pc.utf8_lpad(pc.cast(pa.array(rng.integers(0, 10**width, n)), pa.string()), width, "0")


def _join(*parts, sep: str = "") -> pa.Array:
    return pc.binary_join_element_wise(*parts, sep)


def luhn_cards(rng: np.random.Generator, n: int) -> np.ndarray:
    """16-digit card numbers (as int64 digit matrix rows) with a valid Luhn check digit."""
    digits = rng.integers(0, 10, (n, 16))
    digits[:, 0] = rng.choice([4, 5], n)
    body = digits[:, :15]
    # Luhn: from the right of the full number, double every second digit (i.e. body positions
    # 14, 12, ... counting from the left of the 15-digit body).
    dbl = body.copy()
    dbl[:, 14::-2] *= 2
    dbl[dbl > 9] -= 9
    digits[:, 15] = (10 - dbl.sum(axis=1) % 10) % 10
    return digits


def _card_strings(rng, n) -> pa.Array:
    d = luhn_cards(rng, n).astype(np.uint8) + ord("0")
    plain = pa.array(np.frombuffer(d.tobytes(), dtype="S16").astype(str))
    groups = [pc.utf8_slice_codeunits(plain, i, i + 4) for i in range(0, 16, 4)]
    spaced = _join(*groups, sep=" ")
    return pc.if_else(pa.array(rng.random(n) < 0.5), spaced, plain)


def _phones(rng, n) -> pa.Array:
    area, mid, end = _digits(rng, n, 3), _digits(rng, n, 3), _digits(rng, n, 4)
    layouts = [
        _join("(", area, ") ", mid, "-", end),
        _join(area, "-", mid, "-", end),
        _join("+1 ", area, " ", mid, " ", end),
        _join(area, ".", mid, ".", end),
    ]
    which = rng.integers(0, len(layouts), n)
    out = layouts[0]
    for i in range(1, len(layouts)):
        out = pc.if_else(pa.array(which == i), layouts[i], out)
    return out


def _street_addresses(rng, p: Pools, n) -> pa.Array:
    return _join(pc.cast(pa.array(rng.integers(1, 9999, n)), pa.string()), " ", _pick(rng, p.street, n))


def _customers(rng, p: Pools, start: int, n: int) -> pa.Table:
    first, last = _pick(rng, p.first, n), _pick(rng, p.last, n)
    ids = np.arange(start, start + n, dtype=np.int64) + 1
    # Mailbox names are ASCII: strip accents (NFKD, then drop the combining marks) and spaces.
    local = pc.replace_substring_regex(
        pc.utf8_normalize(pc.utf8_lower(_join(first, ".", last)), "NFKD"), r"[^a-z0-9.]", ""
    )
    email = _join(local, pc.cast(pa.array(ids % 1000), pa.string()), "@", _pick(rng, p.domain, n))
    birth = BASE_DATE - rng.integers(18 * 365, 85 * 365, n).astype("timedelta64[D]")
    signup = np.datetime64("2018-01-01T00:00:00") + rng.integers(0, 8 * 365 * 86400, n).astype(
        "timedelta64[s]"
    )
    return pa.table(
        {
            "customer_id": pa.array(ids),
            "first_name": first,
            "last_name": last,
            "email": email,
            "phone": _phones(rng, n),
            "street_address": _street_addresses(rng, p, n),
            "city": _pick(rng, p.city, n),
            "state": _pick(rng, p.state, n),
            "zip": _digits(rng, n, 5),
            "country": pa.array(rng.choice(["US", "GB", "DE", "FR", "ES"], n, p=[0.6, 0.1, 0.1, 0.1, 0.1])),
            "gender": pa.array(rng.choice(["F", "M", "X"], n, p=[0.49, 0.49, 0.02])),
            "birth_date": pa.array(birth.astype("datetime64[D]")),
            "national_id": _join(_digits(rng, n, 3), "-", _digits(rng, n, 2), "-", _digits(rng, n, 4)),
            "card_number": _card_strings(rng, n),
            "plan": pa.array(rng.choice(["free", "pro", "enterprise"], n, p=[0.7, 0.25, 0.05])),
            "signup_at": pa.array(signup.astype("datetime64[us]")),
        }
    )


def _orders(rng, p: Pools, customers: pa.Table, first_order_id: int) -> pa.Table:
    per = rng.poisson(3, customers.num_rows)
    idx = np.repeat(np.arange(customers.num_rows), per)
    n = len(idx)
    cust = customers.column("customer_id").to_numpy()[idx]
    same_address = rng.random(n) < 0.8
    ship = pc.if_else(
        pa.array(same_address),
        customers.column("street_address").take(pa.array(idx)),
        _street_addresses(rng, p, n),
    )
    ip = _join(*[pc.cast(pa.array(rng.integers(1, 255, n)), pa.string()) for _ in range(4)], sep=".")
    return pa.table(
        {
            "order_id": pa.array(np.arange(first_order_id, first_order_id + n, dtype=np.int64)),
            "customer_id": pa.array(cust),
            "ordered_at": pa.array(
                (
                    np.datetime64("2024-01-01T00:00:00")
                    + rng.integers(0, 2 * 365 * 86400, n).astype("timedelta64[s]")
                )
            ),
            "status": pa.array(rng.choice(["placed", "shipped", "delivered", "returned"], n)),
            "total_amount": pa.array(np.round(rng.gamma(2.0, 40.0, n), 2)),
            "shipping_address": ship,
            "ip_address": ip,
        }
    )


def _order_items(rng, p: Pools, orders: pa.Table, first_item_id: int) -> pa.Table:
    per = rng.integers(1, 5, orders.num_rows)
    idx = np.repeat(np.arange(orders.num_rows), per)
    n = len(idx)
    return pa.table(
        {
            "item_id": pa.array(np.arange(first_item_id, first_item_id + n, dtype=np.int64)),
            "order_id": pa.array(orders.column("order_id").to_numpy()[idx]),
            "sku": _pick(rng, p.sku, n),
            "quantity": pa.array(rng.integers(1, 6, n).astype(np.int32)),
            "unit_price": pa.array(np.round(rng.gamma(2.0, 15.0, n), 2)),
        }
    )


_TICKET_TEMPLATES = [
    "Hi, this is {name}. I was charged twice on my card {card}. Please call me back at {phone} or email {email}.",
    "Hello support,\n\nMy order never arrived at {address}. Can you check?\n\nThanks,\n{name}",
    "Dear team, please update my email to {email} and my phone to {phone}. Regards, {name}",
    "Customer {name} (SSN {ssn}) called about a refund; wants it on card ending {card}.",
    "I moved! New address: {address}, {city}. Contact me at {email}.\n-- {name}",
    "The app crashes when I open my profile. Nothing else to add.",
    "Name: {name}\nPhone: {phone}\nIssue: password reset link does not work.",
]


def _tickets(rng, customers: pa.Table, first_ticket_id: int) -> pa.Table:
    n = max(1, int(customers.num_rows * 0.3))
    idx = rng.integers(0, customers.num_rows, n)
    take = lambda c: customers.column(c).take(pa.array(idx)).to_pylist()  # noqa: E731
    names = [f"{a} {b}" for a, b in zip(take("first_name"), take("last_name"))]
    emails, phones, addrs, cards, ssns, cities = (
        take("email"),
        take("phone"),
        take("street_address"),
        take("card_number"),
        take("national_id"),
        take("city"),
    )
    which = rng.integers(0, len(_TICKET_TEMPLATES), n)
    body = [
        _TICKET_TEMPLATES[w].format(
            name=names[i],
            email=emails[i],
            phone=phones[i],
            address=addrs[i],
            card=cards[i],
            ssn=ssns[i],
            city=cities[i],
        )
        for i, w in enumerate(which)
    ]
    return pa.table(
        {
            "ticket_id": pa.array(np.arange(first_ticket_id, first_ticket_id + n, dtype=np.int64)),
            "customer_id": pa.array(customers.column("customer_id").to_numpy()[idx]),
            "created_at": pa.array(
                (
                    np.datetime64("2025-01-01T00:00:00")
                    + rng.integers(0, 365 * 86400, n).astype("timedelta64[s]")
                ).astype(str)
            ),
            "priority": pa.array(rng.choice(["low", "normal", "high"], n)),
            "body": pa.array(body),
        }
    )


def _events(rng, customers: pa.Table, first_event_id: int) -> pa.Table:
    per = rng.poisson(2, customers.num_rows)
    idx = np.repeat(np.arange(customers.num_rows), per)
    n = len(idx)
    t = lambda c: customers.column(c).take(pa.array(idx))  # noqa: E731
    ip = _join(*[pc.cast(pa.array(rng.integers(1, 255, n)), pa.string()) for _ in range(4)], sep=".")
    kind = pa.array(rng.choice(["page_view", "login", "checkout"], n))
    page = pa.array(rng.choice(["/", "/cart", "/checkout", "/account"], n))
    payload = _join(
        '{"user": {"email": "',
        t("email"),
        '", "name": "',
        _join(t("first_name"), " ", t("last_name")),
        '", "phone": "',
        t("phone"),
        '"}, "device": {"ip": "',
        ip,
        '", "os": "',
        pa.array(rng.choice(["ios", "android", "web"], n)),
        '"}, "page": "',
        page,
        '"}',
    )
    return pa.table(
        {
            "event_id": pa.array(np.arange(first_event_id, first_event_id + n, dtype=np.int64)),
            "customer_id": pa.array(customers.column("customer_id").to_numpy()[idx]),
            "event_type": kind,
            "occurred_at": pa.array(
                (
                    np.datetime64("2025-06-01T00:00:00")
                    + rng.integers(0, 180 * 86400, n).astype("timedelta64[s]")
                )
            ),
            "payload": payload,
        }
    )


class _Sinks:
    """One open writer per table, so chunks append to a single file each."""

    def __init__(self, dest: Path):
        self.dest = dest
        self._open: dict[str, object] = {}

    def write(self, table: str, data: pa.Table) -> None:
        w = self._open.get(table)
        if w is None:
            folder = self.dest / table
            folder.mkdir(parents=True, exist_ok=True)
            if table in ("customers", "order_items"):
                w = pq.ParquetWriter(folder / "part-00000.parquet", data.schema, compression="zstd")
            elif table == "orders":
                w = pacsv.CSVWriter(str(folder / "part-00000.csv"), data.schema)
            elif table == "events":
                w = pacsv.CSVWriter(
                    gzip.open(folder / "part-00000.csv.gz", "wb", compresslevel=1), data.schema
                )
            else:
                w = _JsonLinesWriter(folder / "part-00000.jsonl.gz")
            self._open[table] = w
        w.write_table(data) if not isinstance(w, _JsonLinesWriter) else w.write(data)  # type: ignore[attr-defined]

    def close(self) -> None:
        for w in self._open.values():
            w.close()  # type: ignore[attr-defined]


class _JsonLinesWriter:
    def __init__(self, path: Path):
        self._f = gzip.open(path, "wt", encoding="utf-8", compresslevel=1)

    def write(self, data: pa.Table) -> None:
        import json

        for row in data.to_pylist():
            self._f.write(json.dumps(row, ensure_ascii=False) + "\n")

    def close(self) -> None:
        self._f.close()


def generate(
    dest: str | Path,
    rows: int = 10_000,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
    tables: tuple[str, ...] = TABLES,
) -> dict[str, int]:
    """Write the demo tables (all, or only `tables`) under DEST/<table>/; return rows per table."""
    dest = Path(dest)
    for t in TABLES:  # regenerate cleanly: a smaller run must not leave a larger run's files
        shutil.rmtree(dest / t, ignore_errors=True)
    rng = np.random.default_rng(seed)
    pools = _pools(seed)
    sinks = _Sinks(dest)
    counts = dict.fromkeys(TABLES, 0)
    try:
        for start in range(0, rows, CHUNK):
            n = min(CHUNK, rows - start)
            made = {"customers": _customers(rng, pools, start, n)}
            cust = made["customers"]
            if {"orders", "order_items"} & set(tables):
                made["orders"] = _orders(rng, pools, cust, counts["orders"] + 1)
                made["order_items"] = _order_items(rng, pools, made["orders"], counts["order_items"] + 1)
            if "support_tickets" in tables:
                made["support_tickets"] = _tickets(rng, cust, counts["support_tickets"] + 1)
            if "events" in tables:
                made["events"] = _events(rng, cust, counts["events"] + 1)
            for name in TABLES:
                if name in tables:
                    sinks.write(name, made[name])
                    counts[name] += made[name].num_rows
            if progress:
                progress(start + n, rows)
    finally:
        sinks.close()
    return {t: counts[t] for t in tables}
