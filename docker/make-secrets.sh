#!/usr/bin/env bash
# Creates the compose stack's secrets in docker/secrets/ (git-ignored), once: the pseudonym key,
# the JWT secret shared by the Airflow components, and the UI/API admin password. Existing files
# are kept: a new pseudonym key changes every pseudonym (see README "Same key, or every table").
set -euo pipefail
cd "$(dirname "$0")"
umask 077
mkdir -p secrets
make() { [ -s "secrets/$1" ] || python3 -c "import secrets; print(secrets.token_hex(32))" > "secrets/$1"; }
make datarefresh_key
make airflow_jwt_secret
if [ ! -s secrets/airflow_passwords.json ]; then
  python3 -c "import json, secrets; print(json.dumps({'admin': secrets.token_urlsafe(16)}))" > secrets/airflow_passwords.json
fi
echo "secrets in $(pwd)/secrets; the admin password is in secrets/airflow_passwords.json" >&2
