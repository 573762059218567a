import json

import pyarrow.compute as pc
import pytest

from datarefresh.devtools.demo_data import TABLES, generate
from datarefresh.io.tables import list_local_table
from datarefresh.refresh.local import discover_local


def _tables(root):
    return {name: src.sample(10**9) for name, src in discover_local(root).items()}


def _luhn(s):
    d = [int(c) for c in s if c.isdigit()][::-1]
    return sum(x if i % 2 == 0 else (x * 2 - 9 if x > 4 else x * 2) for i, x in enumerate(d)) % 10 == 0


def test_cli_writes_every_table_in_mixed_formats(tmp_path, cli):
    result = cli("demo-data", tmp_path, "--rows", 2000)
    assert result.exit_code == 0, result.output
    formats = {t: {(f.format, f.gzip) for f in list_local_table(tmp_path / t)} for t in TABLES}
    assert formats == {
        "customers": {("parquet", False)},
        "orders": {("csv", False)},
        "order_items": {("parquet", False)},
        "support_tickets": {("jsonl", True)},
        "events": {("csv", True)},
    }
    assert "customers" in result.output and "2,000" in result.output


def test_realistic_pii_and_referential_integrity(demo_source):
    t = _tables(demo_source)
    customers = t["customers"]
    assert customers.num_rows == 400
    for col in (
        "first_name",
        "last_name",
        "email",
        "phone",
        "street_address",
        "birth_date",
        "national_id",
        "card_number",
        "signup_at",
    ):
        assert customers.column(col).null_count == 0
    assert all(_luhn(c) for c in customers.column("card_number").to_pylist())
    assert all("@" in e for e in customers.column("email").to_pylist())
    ids = set(customers.column("customer_id").to_pylist())
    for child in ("orders", "support_tickets", "events"):
        assert set(t[child].column("customer_id").to_pylist()) <= ids
    assert set(t["order_items"].column("order_id").to_pylist()) <= set(
        t["orders"].column("order_id").to_pylist()
    )
    bodies = " ".join(t["support_tickets"].column("body").to_pylist())
    assert any(e in bodies for e in customers.column("email").to_pylist())
    payload = json.loads(t["events"].column("payload")[0].as_py())
    assert set(payload["user"]) == {"email", "name", "phone"}


def test_deterministic_for_a_seed(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    generate(a, rows=150, seed=3)
    generate(b, rows=150, seed=3)
    generate(c, rows=150, seed=4)
    ta, tb, tc = _tables(a), _tables(b), _tables(c)
    for name in TABLES:
        assert ta[name].equals(tb[name]), name
    assert not ta["customers"].equals(tc["customers"])


def test_regenerating_smaller_leaves_no_stale_rows(tmp_path):
    generate(tmp_path, rows=300, seed=1)
    generate(tmp_path, rows=100, seed=1)
    assert _tables(tmp_path)["customers"].num_rows == 100


@pytest.mark.parametrize("rows", [1, 100])
def test_small_row_counts(tmp_path, rows):
    counts = generate(tmp_path, rows=rows, seed=0)
    assert counts["customers"] == rows
    assert pc.min(_tables(tmp_path)["customers"].column("customer_id")).as_py() == 1
