"""Print `export AIRFLOW_CONN_...=...` lines for the roles of a local AWS server from its state file.

`datarefresh localaws airflow-env` does the same for a server this machine runs; in the compose
stack the server runs in another container (its pid is not ours to check), so the state file is read
as it is. The values are the local server's throwaway keys, never real credentials.
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

from datarefresh.airflow.connections import connection_env
from datarefresh.devtools.localaws import LocalAws


def main(state_file: str) -> None:
    path = Path(state_file)
    local = LocalAws(path.parent, json.loads(path.read_text()))
    for name, value in connection_env(local).items():
        print(f"export {name}={shlex.quote(value)}")


if __name__ == "__main__":
    main(sys.argv[1])
