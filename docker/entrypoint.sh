#!/usr/bin/env bash
# Entrypoint of every datarefresh Airflow container: when the local AWS server's state is mounted
# (the compose demo), the per-role AWS connections (AIRFLOW_CONN_*) are built from it; then the
# official image's entrypoint runs the command. Against real AWS nothing is mounted there and the
# connections come from the deployment (secrets backend, AIRFLOW_CONN_* or the workers' role).
set -euo pipefail
state=${DATAREFRESH_LOCALAWS_STATE:-/opt/airflow/localaws/localaws.json}
if [ -f "$state" ]; then
  eval "$(python /opt/datarefresh/docker/localaws_env.py "$state")"
fi
exec /entrypoint "$@"
