"""Run parameters are strict: a typo in a DAG run's conf or an unknown table name fails the
run before any work, with the list of valid names."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from datarefresh.config import bundled_demo_config
from datarefresh.errors import ConfigError


def test_an_unknown_dag_run_conf_key_fails_before_any_work(monkeypatch):
    from airflow.sdk.exceptions import AirflowFailException

    from datarefresh.airflow import tasks

    def no_work():
        raise AssertionError("the run did work despite a bad conf")

    monkeypatch.setattr(tasks, "_setup", no_work)
    # Airflow merges every conf key into params, so the typo is there too
    context = {
        "params": {
            "tables": [],
            "envs": ["dev", "staging"],
            "dev_fraction": None,
            "as_of": None,
            "allow_backwards": False,
            "table": ["orders"],
        },
        "dag_run": SimpleNamespace(conf={"table": ["orders"]}),
    }
    with pytest.raises(
        AirflowFailException,
        match=r"unknown run conf key\(s\) 'table'; valid keys: "
        r"allow_backwards, as_of, dev_fraction, envs, tables",
    ):
        tasks.plan(**context)


def test_valid_conf_keys_pass_the_check():
    from datarefresh.airflow.tasks import check_run_conf

    check_run_conf({"tables": ["orders"], "as_of": None}, ["tables", "as_of"])
    check_run_conf(None, ["tables"])


def test_an_unknown_table_fails_before_any_work_naming_the_valid_ones():
    from datarefresh.refresh.plan import parse_as_of, plan_run

    config = bundled_demo_config()
    with pytest.raises(
        ConfigError,
        match=r"unknown table\(s\): ordrs; valid tables: customers, events, "
        r"order_items, orders, support_tickets \(or all\)",
    ):
        plan_run(config, None, tables=("customers", "ordrs"), as_of=parse_as_of(None))  # aws=None: no S3 call


def test_the_cli_refuses_an_unknown_table(cli, secret_env):
    result = cli("refresh", "--tables", "custmers")
    assert result.exit_code == 1
    assert "unknown table(s): custmers; valid tables: customers" in result.output


def test_an_unknown_environment_fails_before_any_work_naming_the_valid_ones():
    from datarefresh.refresh.plan import parse_as_of, plan_run

    config = bundled_demo_config()
    with pytest.raises(
        ConfigError, match=r"environment 'qa' is not configured; valid environments: dev, staging"
    ):
        plan_run(config, None, envs=("dev", "qa"), as_of=parse_as_of(None))  # aws=None: no S3 call
