"""The sanitize/plan contract on the demo data and on hand-made folders."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from datarefresh.config import load_config
from datarefresh.errors import PolicyError, SecretError
from datarefresh.refresh.local import discover_local, sanitize_folder
from tests.conftest import REPO, TEST_KEY

# High-entropy identifiers: none may appear anywhere in the output.
PII_COLUMNS = {
    "customers": ["email", "phone", "street_address", "national_id", "card_number"],
    "orders": ["shipping_address", "ip_address"],
}


def raw(root: Path, table: str) -> pa.Table:
    return discover_local(root)[table].sample(10**9)


def out(root: Path, table: str) -> pa.Table:
    return pq.read_table(root / table)


@pytest.fixture(scope="module")
def zero_config(demo_source, tmp_path_factory):
    """Zero-config sanitize of the demo data through the CLI, as a new user would run it."""
    from click.testing import CliRunner

    from datarefresh.cli import main

    dest = tmp_path_factory.mktemp("clean")
    report = dest.parent / "report.json"
    result = CliRunner().invoke(
        main,
        ["sanitize", str(demo_source), str(dest), "--report", str(report)],
        env={"DATAREFRESH_SECRET": TEST_KEY.decode()},
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    return dest, json.loads(report.read_text())


def test_same_columns_types_and_row_counts(demo_source, zero_config):
    dest, report = zero_config
    for table in ("customers", "orders", "order_items", "support_tickets", "events"):
        before, after = raw(demo_source, table), out(dest, table)
        assert after.schema.names == before.schema.names, table
        assert after.schema.types == before.schema.types, table
        assert after.num_rows == before.num_rows == report["tables"][table]["rows_in"]
        assert report["tables"][table]["rows_out"]["staging"] == before.num_rows


def test_no_original_pii_value_appears_anywhere(demo_source, zero_config):
    dest, _ = zero_config
    originals = set()
    for table, cols in PII_COLUMNS.items():
        t = raw(demo_source, table)
        for c in cols:
            originals |= {v for v in t.column(c).to_pylist() if v and len(v) > 4}
    full_names = raw(demo_source, "customers").select(["first_name", "last_name"]).to_pylist()
    originals |= {f"{r['first_name']} {r['last_name']}" for r in full_names}
    blob = "\n".join(
        json.dumps(out(dest, t).to_pylist(), default=str, ensure_ascii=False)
        for t in ("customers", "orders", "order_items", "support_tickets", "events")
    )
    leaked = sorted(v for v in originals if v in blob)
    assert not leaked, f"{len(leaked)} raw values leaked, e.g. {leaked[:3]}"
    # Single given names and surnames are common words: a fake may equal some other
    # customer's real name by chance, but never (beyond chance) the row's own.
    before, after = raw(demo_source, "customers"), out(dest, "customers")
    for col in ("first_name", "last_name"):
        same = sum(a == b for a, b in zip(before.column(col).to_pylist(), after.column(col).to_pylist()))
        assert same <= 2, col


def test_ticket_bodies_keep_their_shape(demo_source, zero_config):
    dest, report = zero_config
    before = raw(demo_source, "support_tickets").column("body").to_pylist()
    after = out(dest, "support_tickets").column("body").to_pylist()
    assert before != after
    # the template text around the replaced entities survives
    assert sum("never arrived at" in b for b in after) == sum("never arrived at" in b for b in before)
    assert report["tables"]["support_tickets"]["text_entities"]["PERSON"] > 0


def test_primary_keys_unique_and_joins_preserved(demo_source, zero_config):
    dest, report = zero_config
    customers, orders, items = out(dest, "customers"), out(dest, "orders"), out(dest, "order_items")
    ids = customers.column("customer_id").to_pylist()
    assert len(set(ids)) == len(ids)
    assert set(orders.column("customer_id").to_pylist()) <= set(ids)
    assert set(items.column("order_id").to_pylist()) <= set(orders.column("order_id").to_pylist())
    # the join has exactly the same shape as in prod: orders per customer are preserved
    raw_counts = sorted(
        pa.table(raw(demo_source, "orders"))
        .group_by("customer_id")
        .aggregate([("order_id", "count")])
        .column("order_id_count")
        .to_pylist()
    )
    new_counts = sorted(
        orders.group_by("customer_id").aggregate([("order_id", "count")]).column("order_id_count").to_pylist()
    )
    assert raw_counts == new_counts
    assert report["tables"]["orders"]["foreign_keys"][0]["references"] == "customers.customer_id"
    # the same customer has the same e-mail pseudonym in customers and in the events JSON
    email_by_id = dict(zip(ids, customers.column("email").to_pylist()))
    events = out(dest, "events").to_pylist()
    assert all(
        json.loads(e["payload"])["user"]["email"] == email_by_id[e["customer_id"]] for e in events[:50]
    )


def test_two_processes_produce_identical_output(demo_source, tmp_path):
    code = "import sys; from datarefresh.cli import main; sys.exit(main())"
    outs = []
    for i, seed in enumerate(("11", "22")):
        dest = tmp_path / f"run{i}"
        subprocess.run(
            [
                sys.executable,
                "-c",
                code,
                "sanitize",
                str(demo_source),
                str(dest),
                "--config",
                str(REPO / "examples" / "config.yaml"),
            ],
            check=True,
            cwd=REPO,
            capture_output=True,
            env={"PYTHONHASHSEED": seed, "DATAREFRESH_SECRET": TEST_KEY.decode()},
        )
        outs.append({t: out(dest, t) for t in ("customers", "orders", "support_tickets", "events")})
    for t in outs[0]:
        assert outs[0][t].equals(outs[1][t]), t


def _policy_folder(tmp_path: Path, rows: list[dict]) -> Path:
    src = tmp_path / "src"
    (src / "people").mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(rows), src / "people" / "part.parquet")
    return src


def _config(tmp_path: Path, columns: str, extra: str = "") -> Path:
    p = tmp_path / "cfg.yaml"
    p.write_text(f"{extra}tables:\n  people:\n    primary_key: id\n    columns:\n{columns}", encoding="utf-8")
    return p


GOOD_COLUMNS = (
    "      id: {action: hmac, entity: 'ID:person_id', type: int64}\n"
    "      email: {action: fake, entity: EMAIL_ADDRESS, type: string}\n"
)


@pytest.mark.parametrize(
    "rows, columns, extra, message",
    [
        (
            [{"id": 1, "email": "a@b.c", "ssn": "123-45-6789"}],
            GOOD_COLUMNS,
            "",
            "table people, column ssn: column is in the data but not in the policy",
        ),
        ([{"id": 1}], GOOD_COLUMNS, "", "table people, column email: configured column is missing"),
        (
            [{"id": "1", "email": "a@b.c"}],
            GOOD_COLUMNS,
            "",
            "table people, column id: type changed: policy says int64",
        ),
        (
            [{"id": 1, "email": "a@b.c"}],
            GOOD_COLUMNS.replace("fake, entity: EMAIL_ADDRESS", "shift_date"),
            "",
            "table people, column email: shift_date applies to date",
        ),
    ],
)
def test_fail_closed_with_a_config(tmp_path, cli, secret_env, rows, columns, extra, message):
    src = _policy_folder(tmp_path, rows)
    dest = tmp_path / "dest"
    (dest / "people").mkdir(parents=True)
    (dest / "people" / "previous.parquet").write_bytes(b"previous good copy")
    result = cli("sanitize", src, dest, "--config", _config(tmp_path, columns, extra))
    assert result.exit_code == 1
    assert message in result.output
    # nothing half-written: the previous copy is untouched and no temporary folder is left
    assert sorted(p.name for p in dest.iterdir()) == ["people"]
    assert [p.name for p in (dest / "people").iterdir()] == ["previous.parquet"]


def test_unknown_columns_drop_or_classify(tmp_path, keyring):
    src = _policy_folder(tmp_path, [{"id": 1, "email": "a@b.c", "ssn": "123-45-6789"}])
    for mode, expect in (("drop", ["id", "email"]), ("classify", ["id", "email", "ssn"])):
        cfg = load_config(_config(tmp_path, GOOD_COLUMNS, f"unknown_columns: {mode}\n"))
        dest = tmp_path / mode
        sanitize_folder(src, dest, keyring=keyring, config=cfg)
        t = out(dest, "people")
        assert t.schema.names == expect
        if mode == "classify":
            assert t.column("ssn")[0].as_py() != "123-45-6789"


def test_a_failing_table_leaves_no_table_of_the_run(demo_source, tmp_path, keyring):
    src = tmp_path / "src"
    shutil.copytree(demo_source, src)
    cfg = load_config(REPO / "examples" / "config.yaml")
    # a column renamed in prod, in the last table processed
    t = pq.read_table(src / "order_items").rename_columns(
        ["item_id", "order_id", "sku_code", "quantity", "unit_price"]
    )
    pq.write_table(t, src / "order_items" / "part-00000.parquet")
    with pytest.raises(PolicyError, match="order_items, column sku"):
        sanitize_folder(src, tmp_path / "dest", keyring=keyring, config=cfg)
    assert list((tmp_path / "dest").iterdir()) == []


def test_refuses_to_run_without_a_key_unless_demo_key(tmp_path, cli, demo_source, monkeypatch):
    monkeypatch.delenv("DATAREFRESH_SECRET", raising=False)
    result = cli("sanitize", demo_source, tmp_path / "d")
    assert result.exit_code == 1 and "no pseudonym key" in result.output
    with pytest.raises(SecretError):
        from datarefresh.secret import resolve_keyring

        resolve_keyring()


def test_the_key_never_appears_in_output_or_report(tmp_path, cli, demo_source, secret_env):
    report = tmp_path / "r.json"
    result = cli("sanitize", demo_source, tmp_path / "d", "--env", "dev", "--report", report)
    assert result.exit_code == 0, result.output
    assert secret_env not in result.output and secret_env not in report.read_text()


def test_plan_writes_a_loadable_policy_with_evidence_and_no_raw_values(tmp_path, cli, demo_source):
    dest = tmp_path / "plan.yaml"
    result = cli("plan", demo_source, "--out", dest)
    assert result.exit_code == 0, result.output
    cfg = load_config(dest)
    cust = cfg.tables["customers"]
    assert cust.primary_key == "customer_id"
    assert (cust.columns["email"].action, cust.columns["email"].entity) == ("fake", "EMAIL_ADDRESS")
    assert cust.columns["zip"].action == "generalize" and cust.columns["birth_date"].action == "generalize"
    assert cust.columns["email"].evidence.detector == "name"
    assert cfg.tables["support_tickets"].columns["body"].action == "scrub_text"
    payload = cfg.tables["events"].columns["payload"]
    assert payload.action == "json" and payload.fields["user.email"].entity == "EMAIL_ADDRESS"
    assert {fk.references for fk in cfg.tables["orders"].foreign_keys} == {"customers.customer_id"}
    text = dest.read_text()
    for v in raw(demo_source, "customers").column("email").to_pylist()[:50]:
        assert v not in text
    # a plan is a config: sanitize runs with it unchanged
    result = cli("sanitize", demo_source, tmp_path / "out", "--config", dest, "--demo-key")
    assert result.exit_code == 0, result.output


def test_value_based_classification_without_helpful_names(tmp_path, keyring):
    from datarefresh.detect.classify import classify_table

    rows = [
        {
            "c1": f"user{i}@mail.example.com",
            "c2": f"4111 1111 1111 {i:04d}",
            "c3": f"10.0.{i % 250}.{i % 200}",
            "c4": "gold" if i % 2 else "silver",
            "c5": f"Spoke with Maria Lopez about order {i}; call (312) 555-01{i % 90:02d}",
        }
        for i in range(300)
    ]
    t = classify_table("things", pa.Table.from_pylist(rows), use_presidio=False)
    c = t.columns
    assert (c["c1"].action, c["c1"].entity) == ("fake", "EMAIL_ADDRESS")
    assert c["c3"].entity == "IP_ADDRESS" and c["c4"].action == "keep" and c["c5"].action == "scrub_text"
    assert c["c1"].evidence.match_share == 1.0
