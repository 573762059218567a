"""Dev samples: referential integrity, size, stability, strata, caps, closure, cycles."""

from __future__ import annotations

import math
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from datarefresh.config import load_config, parse_config
from datarefresh.refresh.local import sanitize_folder
from tests.conftest import REPO


def _write(root: Path, table: str, rows: list[dict]) -> None:
    (root / table).mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), root / table / "part-00000.parquet")


def _dev(src: Path, dest: Path, keyring, config_dict: dict) -> dict[str, pa.Table]:
    cfg = parse_config(config_dict)
    sanitize_folder(src, dest, keyring=keyring, config=cfg, envs=("dev",))
    return {t: pq.read_table(dest / t) for t in cfg.tables}


ID = {"action": "hmac", "entity": "ID:customer_id"}


def _shop_config(fraction=0.1, customers_sample=None, items_fk_sampling="follow", extra_tables=None) -> dict:
    tables = {
        "customers": {
            "primary_key": "customer_id",
            "sample": customers_sample or {},
            "columns": {"customer_id": ID, "country": {"action": "keep"}},
        },
        "orders": {
            "primary_key": "order_id",
            "foreign_keys": [{"column": "customer_id", "references": "customers.customer_id"}],
            "columns": {"order_id": {"action": "hmac", "entity": "ID:order_id"}, "customer_id": ID},
        },
        "products": {
            "primary_key": "product_id",
            "columns": {"product_id": {"action": "hmac", "entity": "ID:product_id"}},
        },
        "order_items": {
            "primary_key": "item_id",
            "foreign_keys": [
                {"column": "order_id", "references": "orders.order_id"},
                {"column": "product_id", "references": "products.product_id", "sampling": items_fk_sampling},
            ],
            "columns": {
                "item_id": {"action": "hmac", "entity": "ID:item_id"},
                "order_id": {"action": "hmac", "entity": "ID:order_id"},
                "product_id": {"action": "hmac", "entity": "ID:product_id"},
            },
        },
    }
    tables.update(extra_tables or {})
    return {
        "environments": {"dev": {"bucket": "s3://dev", "sampling": {"mode": "sample", "fraction": fraction}}},
        "tables": tables,
    }


def _shop(root: Path, customers: range, countries=("US", "DE", "FR")) -> None:
    _write(
        root, "customers", [{"customer_id": i, "country": countries[i % len(countries)]} for i in customers]
    )
    _write(root, "orders", [{"order_id": i * 10 + k, "customer_id": i} for i in customers for k in range(3)])
    _write(root, "products", [{"product_id": p} for p in range(500)])
    _write(
        root,
        "order_items",
        [
            {"item_id": (i * 10 + k) * 10 + j, "order_id": i * 10 + k, "product_id": (i + j) % 500}
            for i in customers
            for k in range(3)
            for j in range(2)
        ],
    )


def _resolves(child: pa.Table, column: str, parent: pa.Table, key: str) -> bool:
    values = child.column(column).drop_null()
    return pc.all(pc.is_in(values, value_set=parent.column(key).combine_chunks())).as_py() is not False


def test_demo_dev_sample_keeps_every_join(demo_source, tmp_path, keyring):
    cfg = load_config(REPO / "examples" / "config.yaml")
    sanitize_folder(demo_source, tmp_path, keyring=keyring, config=cfg, envs=("dev", "staging"))
    dev = {t: pq.read_table(tmp_path / "dev" / t) for t in cfg.tables}
    for name, t in cfg.tables.items():
        for fk in t.foreign_keys:
            assert _resolves(dev[name], fk.column, dev[fk.parent_table], fk.parent_column), (name, fk.column)
    assert 0 < dev["customers"].num_rows < 400 and dev["order_items"].num_rows > 0
    # the demo config stratifies customers by plan: even the rare enterprise plan has 5
    plans = dev["customers"].column("plan").to_pylist()
    assert {p: plans.count(p) >= 5 for p in ("free", "pro", "enterprise")} == dict.fromkeys(
        ("free", "pro", "enterprise"), True
    )
    staging = pq.read_table(tmp_path / "staging" / "customers")
    assert staging.num_rows == 400  # one read fed both outputs; staging keeps every row


def test_fraction_within_tolerance(tmp_path, keyring):
    n, p = 3000, 0.1
    _shop(tmp_path / "src", range(n))
    dev = _dev(tmp_path / "src", tmp_path / "out", keyring, _shop_config(fraction=p))
    share = dev["customers"].num_rows / n
    tolerance = 4 * math.sqrt(p * (1 - p) / n)  # four standard deviations of a binomial share
    assert abs(share - p) <= tolerance, share
    # three levels deep, each child follows its parents exactly
    assert dev["orders"].num_rows == 3 * dev["customers"].num_rows
    assert _resolves(dev["orders"], "customer_id", dev["customers"], "customer_id")
    assert _resolves(dev["order_items"], "order_id", dev["orders"], "order_id")


def test_stable_across_nights_when_prod_gains_and_loses_rows(tmp_path, keyring):
    _shop(tmp_path / "night1", range(0, 2000))
    _shop(tmp_path / "night2", range(300, 2300))  # 300 customers deleted, 300 new ones
    a = _dev(tmp_path / "night1", tmp_path / "out1", keyring, _shop_config())["customers"]
    b = _dev(tmp_path / "night2", tmp_path / "out2", keyring, _shop_config())["customers"]
    # anonymized ids of the customers present on both nights
    from datarefresh.anonymize.engine import apply_column
    from datarefresh.anonymize.operators import OpContext
    from datarefresh.config import ColumnPolicy

    both = apply_column(pa.array(range(300, 2000)), ColumnPolicy(**ID), OpContext(keyring))
    in_a = set(
        pc.filter(both, pc.is_in(both, value_set=a.column("customer_id").combine_chunks())).to_pylist()
    )
    in_b = set(
        pc.filter(both, pc.is_in(both, value_set=b.column("customer_id").combine_chunks())).to_pylist()
    )
    assert in_a == in_b and len(in_a) > 100


def test_stratification_floor_cap_and_always_include(tmp_path, keyring):
    countries = ("US",) * 40 + ("DE", "FR") * 5 + ("LU",)
    _shop(tmp_path / "src", range(2000), countries=countries)
    sample = {
        "fraction": 0.05,
        "max_rows": 60,
        "stratify_by": "country",
        "min_per_stratum": 8,
        "always_include": [7, 1999],
    }
    dev = _dev(tmp_path / "src", tmp_path / "out", keyring, _shop_config(customers_sample=sample))
    cust = dev["customers"]
    counts = dict(
        zip(
            *[
                c.to_pylist()
                for c in cust.group_by("country")
                .aggregate([("country", "count")])
                .select(["country", "country_count"])
                .columns
            ]
        )
    )
    assert set(counts) == {"US", "DE", "FR", "LU"} and min(counts.values()) >= 8
    # the cap limits the fraction-drawn rows; the floor and always-include may add to it
    assert cust.num_rows <= 60 + 3 * 8 + 2
    from datarefresh.anonymize.engine import apply_column
    from datarefresh.anonymize.operators import OpContext
    from datarefresh.config import ColumnPolicy

    forced = apply_column(pa.array([7, 1999]), ColumnPolicy(**ID), OpContext(keyring)).to_pylist()
    assert set(forced) <= set(cust.column("customer_id").to_pylist())
    assert _resolves(dev["orders"], "customer_id", cust, "customer_id")
    again = _dev(tmp_path / "src", tmp_path / "out2", keyring, _shop_config(customers_sample=sample))[
        "customers"
    ]
    assert sorted(again.column("customer_id").to_pylist()) == sorted(cust.column("customer_id").to_pylist())


def test_upward_closure_pulls_in_referenced_parents(tmp_path, keyring):
    _shop(tmp_path / "src", range(1000))
    follow = _dev(tmp_path / "src", tmp_path / "f", keyring, _shop_config(fraction=0.05))
    # following: items whose product was not drawn are dropped
    assert _resolves(follow["order_items"], "product_id", follow["products"], "product_id")
    pull = _dev(
        tmp_path / "src", tmp_path / "p", keyring, _shop_config(fraction=0.05, items_fk_sampling="pull")
    )
    # pulling: every item of a sampled order stays, and its product is pulled into products
    assert pull["order_items"].num_rows == 2 * pull["orders"].num_rows
    assert _resolves(pull["order_items"], "product_id", pull["products"], "product_id")
    assert pull["products"].num_rows > follow["products"].num_rows


def test_null_dangling_keys_when_configured(tmp_path, keyring):
    _shop(tmp_path / "src", range(500))
    cfg = _shop_config(fraction=0.05)
    cfg["tables"]["order_items"]["foreign_keys"][1]["on_missing_parent"] = "null"
    dev = _dev(tmp_path / "src", tmp_path / "out", keyring, cfg)
    items = dev["order_items"]
    assert items.num_rows == 2 * dev["orders"].num_rows  # nothing dropped for a missing product...
    assert 0 < items.column("product_id").null_count < items.num_rows  # ...its key is nulled instead
    assert _resolves(items, "product_id", dev["products"], "product_id")


@pytest.mark.timeout(60)
def test_cycles_and_self_references_terminate(tmp_path, keyring):
    _write(tmp_path / "src", "a", [{"a_id": i, "b_id": i % 50} for i in range(400)])
    _write(tmp_path / "src", "b", [{"b_id": i, "a_id": i * 3} for i in range(50)])
    _write(
        tmp_path / "src",
        "employees",
        [{"emp_id": i, "manager_id": i // 5 if i else None} for i in range(300)],
    )
    ids = {"a_id": {"action": "hmac", "entity": "ID:a_id"}, "b_id": {"action": "hmac", "entity": "ID:b_id"}}
    cfg = {
        "environments": {"dev": {"bucket": "s3://dev", "sampling": {"mode": "sample", "fraction": 0.3}}},
        "tables": {
            "a": {
                "primary_key": "a_id",
                "foreign_keys": [{"column": "b_id", "references": "b.b_id"}],
                "columns": ids,
            },
            "b": {
                "primary_key": "b_id",
                "foreign_keys": [{"column": "a_id", "references": "a.a_id"}],
                "columns": ids,
            },
            "employees": {
                "primary_key": "emp_id",
                "foreign_keys": [
                    {"column": "manager_id", "references": "employees.emp_id", "on_missing_parent": "null"}
                ],
                "columns": {
                    "emp_id": {"action": "hmac", "entity": "ID:emp"},
                    "manager_id": {"action": "hmac", "entity": "ID:emp"},
                },
            },
        },
    }
    dev = _dev(tmp_path / "src", tmp_path / "out", keyring, cfg)
    assert dev["a"].num_rows > 0 and dev["b"].num_rows > 0 and dev["employees"].num_rows > 0
    # the cycle is broken at one edge; the other direction still resolves
    assert _resolves(dev["a"], "b_id", dev["b"], "b_id") or _resolves(dev["b"], "a_id", dev["a"], "a_id")
    # a self-reference pointing outside the sample is nulled (configured), so managers resolve
    emp = dev["employees"]
    assert _resolves(emp, "manager_id", emp, "emp_id")
    assert emp.column("manager_id").null_count > 1  # the CEO, plus the nulled dangling managers
