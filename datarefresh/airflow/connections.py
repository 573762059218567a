"""Roles reach the pipeline as Airflow AWS connections, one per role, same names as the CLI.

The connection for role `datarefresh-prod-reader` is `datarefresh_prod_reader`: its
login/password (or the worker's own credentials) are the base identity and its extra
holds `role_arn` (plus `endpoint_url` and `service_config.sts.endpoint_url` for a
local server). The Amazon provider assumes the role; no secret lives in DAG code.
"""

from __future__ import annotations

import json

from datarefresh.aws import RETRIES


def conn_id(role: str) -> str:
    return role.rsplit("/", 1)[-1].replace("-", "_")


class AirflowAws:
    """The `s3(role)` interface of datarefresh.aws.Aws, backed by Airflow connections."""

    def __init__(self):
        self._clients: dict[str, object] = {}

    def s3(self, role: str):
        if role not in self._clients:
            from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

            self._clients[role] = AwsBaseHook(
                aws_conn_id=conn_id(role), client_type="s3", config=RETRIES
            ).get_conn()
        return self._clients[role]


def connection_env(local) -> dict[str, str]:
    """AIRFLOW_CONN_* variables for every role of a running local AWS server (demo and tests)."""
    from datarefresh.devtools.localaws import BASE_USER

    keys = local.state["users"][BASE_USER]
    env = {}
    for name, role in local.state["roles"].items():
        env[f"AIRFLOW_CONN_{conn_id(name).upper()}"] = json.dumps(
            {
                "conn_type": "aws",
                "login": keys["access_key_id"],
                "password": keys["secret_access_key"],
                "extra": {
                    "role_arn": role["arn"],
                    "region_name": "us-east-1",
                    "endpoint_url": local.endpoint,
                    # without this the provider assumes the role at the real STS endpoint
                    "service_config": {"sts": {"endpoint_url": local.endpoint}},
                },
            }
        )
    return env
