#!/usr/bin/env bash
# HEALTHCHECK of the image and of every Airflow service in docker-compose.yaml: healthy when the
# component named by $1 (default: $AIRFLOW_COMPONENT) answers. The checks are the ones of
# Airflow's own reference compose file.
set -euo pipefail
component=${1:-${AIRFLOW_COMPONENT:-}}
case "$component" in
  api-server) exec curl --fail --silent --show-error --max-time 20 http://localhost:8080/api/v2/version ;;
  scheduler) exec curl --fail --silent --show-error --max-time 20 http://localhost:8974/health ;;
  dag-processor) exec airflow jobs check --job-type DagProcessorJob --hostname "${HOSTNAME}" ;;
  triggerer) exec airflow jobs check --job-type TriggererJob --hostname "${HOSTNAME}" ;;
  celery-worker)
    exec celery --app airflow.providers.celery.executors.celery_executor.app inspect ping -d "celery@${HOSTNAME}" ;;
  localaws)
    test -f /opt/airflow/localaws/seeded
    exec python -c "import json, urllib.request; s = json.load(open('/opt/airflow/localaws/localaws.json')); urllib.request.urlopen(s['endpoint'] + '/moto-api/data.json', timeout=10)" ;;
  *) exec python -c "import datarefresh.airflow.dags" ;;  # a one-off command: the project imports
esac
