"""Airflow Variables for datarefresh.secret: the pseudonym key may live in one (secret.airflow_variable)."""

from __future__ import annotations


def get_variable(name: str) -> str:
    """The Variable's value, masked in every task log from now on (even if something prints it)."""
    from airflow.sdk import Variable
    from airflow.sdk.log import mask_secret

    text = Variable.get(name)
    mask_secret(text)
    return text


def install() -> None:
    """Let resolve_keyring read `secret.airflow_variable` (called by every task before it runs;
    not at DAG parse time, which stays free of the key and of heavy imports)."""
    from datarefresh.secret import register_variable_getter

    register_variable_getter(get_variable)
