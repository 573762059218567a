"""The leak gate samples across the whole table (not the first rows of each batch) and looks for one
table's originals in the other tables' output of the same run."""

from __future__ import annotations

import base64
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from datarefresh.anonymize.keyed import Keyring
from datarefresh.config import ColumnPolicy, Config, TableConfig
from datarefresh.errors import PolicyError
from datarefresh.refresh.local import discover_local, run_tables, sanitize_folder
from datarefresh.refresh.table import env_sampling, make_outputs, plan_tables
from datarefresh.validate.leaks import LeakScanner, cross_table_findings

KEY = Keyring(b"leak-across-test-key-0123456789abcdef")


def _scan(table: pa.Table, policies: dict, batch_rows: int) -> LeakScanner:
    """The scanner alone: what it samples does not depend on what the operators wrote."""
    cfg = TableConfig(columns={c: ColumnPolicy(**p) for c, p in policies.items()})
    scanner = None
    for batch in table.to_batches(max_chunksize=batch_rows):
        scanner = scanner or LeakScanner("t", cfg, batch)
        scanner.observe(batch, batch)
    return scanner


def test_text_kept_and_json_samples_come_from_the_whole_table_not_the_first_rows_of_each_batch():
    """Today: the first 50 texts / 200 kept values / 50 JSON documents of each batch, until full."""
    n, batch = 30_000, 1000
    table = pa.table(
        {
            "note": [f"note number {i} about the order" for i in range(n)],
            "status": [f"s{i % 7}" for i in range(n)],
            "doc": [json.dumps({"email": f"user{i}@mail.example.org"}) for i in range(n)],
        }
    )
    policies = {
        "note": {"action": "scrub_text", "entity": "FREE_TEXT"},
        "status": {"action": "keep"},
        "doc": {
            "action": "json",
            "entity": "JSON",
            "fields": {"email": {"action": "fake", "entity": "EMAIL_ADDRESS"}},
        },
    }
    scanner = _scan(table, policies, batch)
    scanner.report()
    rows = [r for r, _ in scanner.text_samples["note"]]
    assert len(rows) == 200 and max(rows) > n // 2
    assert sum(r % batch >= 50 for r in rows) > 0.8 * len(rows)  # not the head of each batch
    kept = scanner.kept_rows["status"].values.values()
    assert len(kept) == 4000 and sum(r % batch >= 200 for r, _ in kept) > 0.6 * len(kept)
    late = [v for v in scanner.originals["doc"] if int(v[4:].split("@")[0]) % batch >= 50]
    assert len(late) > 0.8 * len(scanner.originals["doc"])


def _write(root, name: str, columns: dict) -> None:
    (root / name).mkdir(parents=True)
    pq.write_table(pa.table(columns), root / name / "part-0.parquet")


N = 600
PHONES = [f"+1 312 555 {i:04d}" for i in range(N)]


def _two_tables(tmp_path, notes: list[str]):
    _write(tmp_path / "src", "customers", {"id": list(range(N)), "phone": PHONES})
    _write(tmp_path / "src", "calls", {"id": list(range(N)), "note": notes})
    return Config(
        tables={
            "customers": TableConfig(
                primary_key="id",
                columns={
                    "id": ColumnPolicy(action="hmac", entity="ID:customer_id"),
                    "phone": ColumnPolicy(action="fake", entity="PHONE_NUMBER"),
                },
            ),
            "calls": TableConfig(
                primary_key="id",
                columns={
                    "id": ColumnPolicy(action="hmac", entity="ID:call_id"),
                    "note": ColumnPolicy(action="keep"),
                },
            ),
        }
    )


def _run(tmp_path, config) -> dict:
    sources = discover_local(tmp_path / "src", config)
    tables = plan_tables(sources, config, use_presidio=False)
    outputs = make_outputs(tmp_path / "out", env_sampling(config, ("staging",)), KEY, tables)
    return run_tables(sources, tables, KEY, outputs, config)


def test_an_original_of_one_table_verbatim_in_another_tables_output_is_a_finding_naming_both(tmp_path):
    """Today the per-table scan sees nothing: the calls table has no phone column of its own, and its
    note column (a third of it customers' phone numbers, the rest call outcomes) does not classify
    as phones."""
    notes = [
        PHONES[i] if i % 3 == 0 else f"call {i}: " + ["no answer", "callback", "voicemail"][i % 3]
        for i in range(N)
    ]
    report = _run(tmp_path, _two_tables(tmp_path, notes))
    findings = report["calls"]["leaks"]["findings"]
    assert [
        (f["table"], f["column"], f["source_table"], f["source_column"], f["entity"]) for f in findings
    ] == [("calls", "note", "customers", "customers.phone", "PHONE_NUMBER")]
    assert findings[0]["count"] >= 20  # of the 256 smallest hashes each side hands the run
    assert report["customers"]["leaks"]["findings"] == []
    text = json.dumps(report, default=str)
    assert "sketch" not in text and not any(p in text for p in PHONES)  # digests are gone, no value named
    with pytest.raises(PolicyError, match=r"table calls, column note: original value of customers\.phone"):
        config = _two_tables(tmp_path / "2", notes)
        sanitize_folder(
            tmp_path / "2" / "src", tmp_path / "dest", keyring=KEY, config=config, use_presidio=False
        )


def test_no_cross_table_finding_without_a_copy(tmp_path):
    notes = [["no answer", "callback", "voicemail"][i % 3] + f" {i % 40}" for i in range(N)]
    report = _run(tmp_path, _two_tables(tmp_path, notes))
    assert report["calls"]["leaks"]["findings"] == [] and report["customers"]["leaks"]["findings"] == []


def test_units_of_a_distributed_run_combine_per_table_and_a_table_is_not_its_own_other_table():
    """publish_run hands every unit's leak report (several per table) to cross_table_findings."""

    def pack(digests):
        return base64.b64encode(b"".join(d.to_bytes(8, "big") for d in digests)).decode()

    def unit(originals, outputs):
        return {
            "findings": [],
            "sketch": {
                "originals": {"email": ["EMAIL_ADDRESS", pack(originals)]},
                "outputs": {"notes": pack(outputs)},
            },
        }

    a0, a1 = (
        unit([1, 2], [1, 2, 9]),
        unit([3], [7]),
    )  # table a's own originals in its output: per-table business
    b0, b1 = unit([], [8]), unit([], [3, 5])  # table b's second unit holds a's original 3
    cross_table_findings([("a", a0), ("a", a1), ("b", b0), ("b", b1)])
    assert a0["findings"] == a1["findings"] == b1["findings"] == []
    assert b0["findings"] == [
        {
            "table": "b",
            "column": "notes",
            "source_table": "a",
            "source_column": "a.email",
            "entity": "EMAIL_ADDRESS",
            "kind": "original value",
            "count": 1,
        }
    ]
    assert not any("sketch" in u for u in (a0, a1, b0, b1))
