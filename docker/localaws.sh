#!/usr/bin/env bash
# The compose stack's local S3/IAM/STS server (demo only): `datarefresh localaws up` on this
# container's address on the stack network, the demo prod data seeded, then in the foreground while
# the server runs (the container stops, and restarts, when it stops). A restart bootstraps a fresh
# server with new throwaway keys: restart the Airflow services after it.
set -euo pipefail
workdir=/opt/airflow/localaws
rm -f "$workdir/seeded" "$workdir/localaws.json"
python -m datarefresh.cli localaws up --workdir "$workdir" --host "${LOCALAWS_HOST:?}" --port 4566 >/dev/null
python - <<'PY'
import os
from pathlib import Path

from datarefresh.devtools import localaws
from datarefresh.config import bundled_demo_config
from datarefresh.devtools.demo import seed_prod

local = localaws.load(Path("/opt/airflow/localaws"))
seed_prod(local, bundled_demo_config(), rows=int(os.environ.get("DEMO_ROWS", "5000")), say=print)
PY
touch "$workdir/seeded"
pid=$(python -c "import json; print(json.load(open('$workdir/localaws.json'))['pid'])")
while kill -0 "$pid" 2>/dev/null; do sleep 5; done
echo "the local AWS server stopped" >&2
exit 1
