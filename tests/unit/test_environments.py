"""An environment's behaviour comes from its config (sampling.mode), not from its name: a third and
fourth environment (`qa` sampled like dev, `perf` a full copy like staging) are added in YAML alone."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from datarefresh.config import load_config
from datarefresh.errors import ConfigError
from datarefresh.refresh.local import sanitize_folder
from datarefresh.refresh.table import env_sampling
from datarefresh.validate.checks import check_env
from datarefresh.validate.expectations import parity_expectations
from datarefresh.validate.table_report import EnvOutput, TableReport

YAML = """
environments:
  qa:   {bucket: s3://qa, sampling: {mode: sample, fraction: 0.3}}
  perf: {bucket: s3://perf, sampling: {mode: full}}
validation: {k_anonymity: 3, leak_scan: false}
tables:
  customers:
    primary_key: customer_id
    quasi_identifiers: [birth_year]
    columns:
      customer_id: {action: hmac, entity: "ID:customer_id"}
      birth_year: {action: keep}
  orders:
    primary_key: order_id
    foreign_keys: [{column: customer_id, references: customers.customer_id}]
    columns:
      order_id: {action: hmac, entity: "ID:order_id"}
      customer_id: {action: hmac, entity: "ID:customer_id"}
"""
N = 600


@pytest.fixture(scope="module")
def qa_perf(tmp_path_factory, keyring):
    root = tmp_path_factory.mktemp("envs")
    (root / "config.yaml").write_text(YAML, encoding="utf-8")
    config = load_config(root / "config.yaml")
    for table, data in {
        "customers": {"customer_id": list(range(N)), "birth_year": [1950 + i % 50 for i in range(N)]},
        "orders": {"order_id": list(range(2 * N)), "customer_id": [i // 2 for i in range(2 * N)]},
    }.items():
        (root / "src" / table).mkdir(parents=True)
        pq.write_table(pa.table(data), root / "src" / table / "part-0.parquet")
    report = sanitize_folder(
        root / "src", root / "out", keyring=keyring, config=config, envs=("qa", "perf"), use_presidio=False
    )
    return config, report, root / "out"


def _read(out: Path, env: str, table: str) -> pa.Table:
    return pq.read_table(out / env / table)


def test_a_sampled_environment_named_qa_gets_the_dev_sample(qa_perf):
    config, report, out = qa_perf
    assert env_sampling(config, ("qa", "perf"))["qa"].fraction == 0.3
    customers, orders = _read(out, "qa", "customers"), _read(out, "qa", "orders")
    assert 0.15 * N < customers.num_rows < 0.45 * N  # a keyed sample of about 30%
    # FK-consistent: every order's customer is in the sample
    assert pc.all(pc.is_in(orders.column("customer_id"), value_set=customers.column("customer_id"))).as_py()
    assert orders.num_rows == 2 * customers.num_rows
    # k-anonymity protects the sample and only the sample
    kanon = report["tables"]["customers"]["k_anonymity_by_env"]
    assert set(kanon) == {"qa"} and kanon["qa"]["k"] == 3


def test_a_full_environment_named_perf_gets_the_staging_copy(qa_perf):
    _config, report, out = qa_perf
    assert _read(out, "perf", "customers").num_rows == N
    assert _read(out, "perf", "orders").num_rows == 2 * N
    assert report["tables"]["orders"]["rows_out"] == {
        "qa": report["tables"]["orders"]["rows_out"]["qa"],
        "perf": 2 * N,
    }


def test_the_gates_follow_the_configured_mode(qa_perf):
    config, report, out = qa_perf
    policies = config.tables
    gates = {}
    for env in ("qa", "perf"):
        names = {t: _read(out, env, t).schema.names for t in policies}
        meta = {
            t: TableReport(
                rows_in=report["tables"][t]["rows_in"],
                expected_columns=names[t],
                envs={
                    env: EnvOutput(
                        rows=report["tables"][t]["rows_out"][env], files=[], pk_nulls=0, columns=names[t]
                    )
                },
            )
            for t in policies
        }
        load = lambda t, c, env=env: _read(out, env, t).column(c).combine_chunks()  # noqa: E731
        sampled = config.environments[env].sampled
        gates[env] = {c.check: c.ok for c in check_env(env, meta, policies, load, sampled=sampled)}
        parity = parity_expectations(env, policies["orders"], meta["orders"], config, True, sampled=sampled)
        gates[env]["parity_row_count"] = any(e["type"] == "expect_table_row_count_to_equal" for e in parity)
    assert gates["qa"] == {
        "columns": True,
        "row_count_within_sample": True,
        "primary_key_not_null": True,
        "foreign_key_resolves:customer_id": True,
        "parity_row_count": False,
    }
    assert gates["perf"] == {
        "columns": True,
        "row_count_equals_prod": True,
        "primary_key_not_null": True,
        "parity_row_count": True,
    }


@pytest.mark.parametrize("name, message", [("prod", "prod is the source"), ("QA env", "lower-case letters")])
def test_environment_names_that_cannot_be_environments_are_refused(tmp_path, name, message):
    path = tmp_path / "c.yaml"
    path.write_text(f"environments:\n  {name}: {{bucket: s3://x}}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=message) as err:
        load_config(path)
    assert err.value.key == f"environments.{name}"
