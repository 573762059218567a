"""Write the compose stack's datarefresh config: the bundled demo config, with the pseudonym key read
from the compose secret instead of an environment variable (a file is not in `docker inspect`, in
the process environment or in any image layer).

    python docker/make_config.py OUT.yaml        # run by docker/Dockerfile at build time
"""

from __future__ import annotations

import sys
from pathlib import Path

KEY_FILE = "/run/secrets/datarefresh_key"
DEMO_CONFIG = Path(__file__).resolve().parents[1] / "datarefresh" / "data" / "demo_config.yaml"
# the one line changed; the rest (and its comments) stays the demo config's, so the two cannot drift
FROM_LINE, TO_LINE = "  env: DATAREFRESH_SECRET\n", f"  file: {KEY_FILE}\n"


def compose_config_text(demo: str) -> str:
    if demo.count(FROM_LINE) != 1:
        raise SystemExit(f"{DEMO_CONFIG}: expected exactly one line {FROM_LINE.strip()!r} under secret:")
    return demo.replace(FROM_LINE, TO_LINE)


def main(out: str) -> None:
    from datarefresh.config import load_config

    Path(out).write_text(compose_config_text(DEMO_CONFIG.read_text(encoding="utf-8")), encoding="utf-8")
    secret = load_config(out).secret
    if secret.file != KEY_FILE or secret.env:
        raise SystemExit(f"{out}: the key would not come from {KEY_FILE}")


if __name__ == "__main__":
    main(sys.argv[1])
