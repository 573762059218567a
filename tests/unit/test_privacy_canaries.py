"""No raw value leaves prod through output, reports or errors (local `sanitize` path).

Canary values are planted in prod (an e-mail, first and last names, an e-mail inside free
text, and a string in the int column of a table's second CSV file); every byte the runs write
or print is searched for them: outputs, the report, stdout/stderr and log records, for a run
that fails to read, a run whose leak gate fails, and a good run. The refresh path (Data Docs,
failed-run reports in the buckets) is covered by tests/integration/test_privacy_canaries.py.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from datarefresh.errors import InputError

CANARIES = {
    "email": "zqx.mail.canary@corp-canary.test",
    "first_name": "Zqxwellinda",
    "last_name": "Qvarnstrombek",
    "notes": "zqx.text.canary@corp-canary.test",
    "csv": "zqx.csv.canary@corp-canary.test",
}


def plant(root: Path, *, bad_csv: bool) -> None:
    n = 60
    people = root / "people"
    people.mkdir(parents=True)
    pq.write_table(
        pa.table(
            {
                "person_id": list(range(1, n + 1)),
                "email": [CANARIES["email"]] + [f"user{i}@corp.test" for i in range(1, n)],
                "first_name": [CANARIES["first_name"]] + ["Anna"] * (n - 1),
                "last_name": [CANARIES["last_name"]] + ["Smith"] * (n - 1),
                "notes": [f"Please write to {CANARIES['notes']} about my order."]
                + ["Thanks, all good."] * (n - 1),
            }
        ),
        people / "part-0.parquet",
    )
    orders = root / "orders"
    orders.mkdir()
    (orders / "part-0.csv").write_text(
        "order_id,person_id,amount\n" + "".join(f"{i},{i % n + 1},{i * 3}\n" for i in range(1, 41))
    )
    if bad_csv:  # a second file whose int column holds a string
        (orders / "part-1.csv").write_text(f"order_id,person_id,amount\n41,1,5\n42,2,{CANARIES['csv']}\n")


def config(tmp_path: Path, email_action: str = "fake") -> Path:
    email = {"action": "fake", "entity": "EMAIL_ADDRESS"} if email_action == "fake" else {"action": "keep"}
    cfg = {
        "tables": {
            "people": {
                "primary_key": "person_id",
                "columns": {
                    "person_id": {"action": "hmac", "entity": "ID:person_id"},
                    "email": email,
                    "first_name": {"action": "fake", "entity": "FIRST_NAME"},
                    "last_name": {"action": "fake", "entity": "LAST_NAME"},
                    "notes": {"action": "scrub_text", "entity": "FREE_TEXT"},
                },
            },
            "orders": {
                "primary_key": "order_id",
                "foreign_keys": [{"column": "person_id", "references": "people.person_id"}],
                "columns": {
                    "order_id": {"action": "hmac", "entity": "ID:order_id"},
                    "person_id": {"action": "hmac", "entity": "ID:person_id"},
                    "amount": {"action": "keep"},
                },
            },
        }
    }
    path = tmp_path / f"config-{email_action}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def assert_no_canary(blobs: dict[str, bytes]) -> None:
    assert blobs, "nothing was collected: the search would be vacuous"
    for where, data in blobs.items():
        for name, canary in CANARIES.items():
            assert canary.encode() not in data and canary.lower().encode() not in data.lower(), (
                f"canary {name} found in {where}"
            )


def written(*roots: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for r in roots if r.exists() for p in r.rglob("*") if p.is_file()}


@pytest.fixture
def logs(caplog):
    caplog.set_level(logging.DEBUG, logger="datarefresh")
    caplog.set_level(logging.INFO)
    return caplog


def test_read_error_names_file_line_table_and_column_never_the_cell(tmp_path, cli, secret_env, logs):
    plant(tmp_path / "prod", bad_csv=True)
    result = cli(
        "sanitize",
        tmp_path / "prod",
        tmp_path / "out",
        "--config",
        config(tmp_path),
        "--report",
        tmp_path / "report.json",
    )
    assert result.exit_code == 1
    message = result.output
    assert "part-1.csv, line 3" in message and "table orders" in message and "'amount'" in message, message
    assert "int64" in message
    with pytest.raises(InputError) as err:  # --debug shows the traceback: the same words, no cell either
        cli("--debug", "sanitize", tmp_path / "prod", tmp_path / "out", "--config", config(tmp_path))
    assert_no_canary(
        {
            "output": message.encode(),
            "debug": str(err.value).encode(),
            "logs": logs.text.encode(),
            **written(tmp_path / "out", tmp_path / "report.json"),
        }
    )


def test_failed_leak_gate_and_good_run_write_and_print_no_canary(tmp_path, cli, secret_env, logs):
    plant(tmp_path / "prod", bad_csv=False)
    failed = cli(
        "sanitize",
        tmp_path / "prod",
        tmp_path / "out",
        "--config",
        config(tmp_path, "keep"),
        "--report",
        tmp_path / "failed.json",
    )
    assert (
        failed.exit_code == 1
        and "original value of email" in failed.output
        and "column email" in failed.output
    )
    good = cli(
        "sanitize",
        tmp_path / "prod",
        tmp_path / "out",
        "--config",
        config(tmp_path),
        "--report",
        tmp_path / "report.json",
    )
    assert good.exit_code == 0, good.output
    assert pq.read_table(tmp_path / "out" / "people").num_rows == 60
    assert_no_canary(
        {
            "failed": failed.output.encode(),
            "good": good.output.encode(),
            "logs": logs.text.encode(),
            **written(tmp_path / "out", tmp_path / "report.json", tmp_path / "failed.json"),
        }
    )


@pytest.mark.parametrize(
    "message",
    [
        "JSON parse error: couldn't parse:555-12-3456 x",  # pyarrow appends the cell, unquoted
        "CSV conversion error to int64: invalid value 'O'Brien 12'",  # a value holding a quote
        "invalid value 'john's@x.com'",
        "Expected 3 columns, got 2: 555-12-3456,x",
        "Not a gzipped file (b'55')",
    ],
)
def test_library_messages_lose_every_byte_of_the_value(message):
    from datarefresh.io.tables import _without_values

    cleaned = _without_values(message)
    for fragment in ("555", "Brien", "john", "x.com"):
        assert fragment not in cleaned
    assert cleaned.endswith("(rest withheld: it may quote a value)")
