"""Which tables an environment holds back after the gates (validation.on_failure), on the
demo config's foreign keys: customers <- orders <- order_items, customers <- support_tickets,
customers <- events."""

from __future__ import annotations

import pyarrow as pa
import pytest

from datarefresh.config import bundled_demo_config
from datarefresh.validate.checks import Check, count_orphans
from datarefresh.validate.gates import hold_back

TABLES = bundled_demo_config().tables
ALL = set(TABLES)


def _loader(fresh: dict, published: dict):
    """Key columns by (table, column); a table missing from `published` has no published version."""
    calls = []

    def load(table, column, is_fresh):
        calls.append((table, column, is_fresh))
        source = fresh if is_fresh else published
        return pa.array(source[table][column], pa.int64()) if table in source else None

    load.calls = calls
    return load


def _fail(env, table):
    return Check(
        env, table, "leak_scan", False, "original value of email (EMAIL_ADDRESS) in column email: 1 cells"
    )


FRESH = {
    "customers": {"customer_id": [1, 2, 3]},
    "orders": {"order_id": [10, 11], "customer_id": [1, 2]},
    "order_items": {"order_id": [10, 11]},
    "support_tickets": {"customer_id": [3]},
    "events": {"customer_id": [None, 1]},
}


def test_table_mode_holds_the_failing_table_and_the_dev_tables_that_would_break():
    published = {
        "customers": {"customer_id": [1, 2]},  # customer 3 is new in this run
        "orders": {"order_id": [10, 11], "customer_id": [1, 2]},
    }
    checks = [Check("dev", "customers", "columns", True), _fail("dev", "customers")]
    extra, held = hold_back("dev", "table", checks, ALL, TABLES, _loader(FRESH, published), sampled=True)
    # support_tickets references customer 3, which the published customers lack; orders and
    # events resolve against them and are published
    assert set(held) == {"customers", "support_tickets"}
    assert "leak_scan failed" in held["customers"]
    assert "foreign_key_resolves_published:customer_id failed (1 rows" in held["support_tickets"]
    by_table = {(c.table, c.check): c.ok for c in extra}
    assert by_table[("orders", "foreign_key_resolves_published:customer_id")] is True
    assert by_table[("events", "foreign_key_resolves_published:customer_id")] is True


def test_holding_cascades_both_ways_until_nothing_changes():
    # orders fails; its published version names order 12 and customer 9, which this run lacks
    published = {
        "customers": {"customer_id": [1, 2, 3, 9]},
        "orders": {"order_id": [10, 12], "customer_id": [1, 9]},
    }
    extra, held = hold_back(
        "dev", "table", [_fail("dev", "orders")], ALL, TABLES, _loader(FRESH, published), sampled=True
    )
    # order_items (order 11) no longer resolves; customers would orphan the published orders,
    # which holds customers, which is then fine for support_tickets and events (published has 1, 3)
    assert set(held) == {"orders", "order_items", "customers"}
    assert "published_children_resolve:orders.customer_id failed (1 rows" in held["customers"]
    assert not any(c.table in ("support_tickets", "events") and not c.ok for c in extra)


def test_a_held_table_never_published_before_holds_its_fresh_children():
    extra, held = hold_back(
        "dev", "table", [_fail("dev", "customers")], ALL, TABLES, _loader(FRESH, {}), sampled=True
    )
    # events has a non-null customer_id too: every child with a non-null key is held
    assert set(held) == {"customers", "orders", "order_items", "support_tickets", "events"}


def test_staging_checks_fresh_against_carried_over_tables_on_every_row():
    # only customers runs in staging (full copy). The published orders reference customer 9,
    # which this run lacks. Before: staging checked nothing and published the mix.
    published = {"customers": {"customer_id": [1, 2, 9]}, "orders": {"order_id": [10], "customer_id": [1, 9]}}
    extra, held = hold_back(
        "staging",
        "table",
        [],
        {"customers"},
        TABLES,
        _loader({"customers": {"customer_id": [1, 2, 3]}}, published),
        sampled=False,
    )
    assert "published_children_resolve:orders.customer_id failed (1 rows" in held["customers"]


def test_staging_tolerates_the_dangling_keys_its_published_copy_already_had():
    # prod itself has an order of a customer that does not exist: the full copy keeps it
    published = {"customers": {"customer_id": [1, 2]}, "orders": {"order_id": [10], "customer_id": [1, 7]}}
    extra, held = hold_back(
        "staging",
        "table",
        [],
        {"customers"},
        TABLES,
        _loader({"customers": {"customer_id": [1, 2, 3]}}, published),
        sampled=False,
    )
    assert held == {}
    check = next(c for c in extra if c.check == "published_children_resolve:orders.customer_id")
    assert check.ok and "(the published copy had 1)" in check.detail
    # in a sample the same mix fails: no key may dangle
    _extra, held = hold_back(
        "dev",
        "table",
        [],
        {"customers"},
        TABLES,
        _loader({"customers": {"customer_id": [1, 2, 3]}}, published),
        sampled=True,
    )
    assert set(held) == {"customers"}


def test_the_sampling_mode_decides_not_the_environment_name():
    published = {"customers": {"customer_id": [1, 2]}, "orders": {"order_id": [10], "customer_id": [1, 7]}}
    load = _loader({"customers": {"customer_id": [1, 2, 3]}}, published)
    _extra, held = hold_back("staging", "table", [], {"customers"}, TABLES, load, sampled=True)
    assert set(held) == {"customers"}
    _extra, held = hold_back("dev", "table", [], {"customers"}, TABLES, load, sampled=False)
    assert held == {}


def test_staging_holds_the_fresh_children_of_a_held_table_never_published():
    extra, held = hold_back(
        "staging", "table", [_fail("staging", "orders")], ALL, TABLES, _loader(FRESH, {}), sampled=False
    )
    assert set(held) == {"orders", "order_items"}


@pytest.mark.parametrize("env", ["dev", "staging"])
def test_environment_mode_holds_nothing_per_table(env):
    extra, held = hold_back(
        env, "environment", [_fail(env, "customers")], ALL, TABLES, _loader(FRESH, {}), sampled=env == "dev"
    )
    assert held == {}


def test_a_single_table_run_checks_the_published_children_of_its_tables():
    # only customers runs; the published orders reference customer 9, gone from prod now
    published = {"orders": {"order_id": [10], "customer_id": [1, 9]}, "support_tickets": {"customer_id": [2]}}
    load = _loader({"customers": FRESH["customers"]}, published)
    extra, held = hold_back("dev", "environment", [], {"customers"}, TABLES, load, sampled=True)
    assert held == {}
    result = {c.check: c.ok for c in extra}
    assert result == {
        "published_children_resolve:orders.customer_id": False,
        "published_children_resolve:support_tickets.customer_id": True,
    }
    assert all(c.table == "customers" for c in extra)
    # order_items and its parent orders are both the published version: nothing to read
    assert not any(t == "order_items" for t, _c, _f in load.calls)


def test_null_references_are_not_orphans():
    # on_missing_parent: null leaves null foreign keys in dev; they reference nothing
    assert count_orphans(pa.array([None, 1, 4, None], pa.int64()), pa.array([1, 2], pa.int64())) == 1
    assert count_orphans(pa.array([None, 7], pa.int64()), None) == 1  # no parent rows at all
    assert count_orphans(pa.array(["a", None]), pa.array(["a"])) == 0
