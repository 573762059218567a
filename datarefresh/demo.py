"""`datarefresh demo`: the whole job end to end on the embedded local default."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Callable

from datarefresh.config import bundled_demo_config
from datarefresh.demo_data import generate
from datarefresh.pipeline import sanitize_folder, write_report
from datarefresh.secret import resolve_keyring


def run_demo(workdir: Path, *, rows: int = 5_000, progress: Callable[[str], None] | None = None) -> dict:
    config = bundled_demo_config()
    workdir.mkdir(parents=True, exist_ok=True)
    prod = workdir / "prod"
    say = progress or (lambda _m: None)
    say(f"generating demo prod data ({rows:,} customers) in {prod}")
    generate(prod, rows=rows, seed=0)
    # A real key when the user set one; the published demo key otherwise (demo data only).
    keyring = resolve_keyring(config.secret, allow_demo_key=not os.environ.get(config.secret.env or ""))
    out = workdir / "out"
    report = sanitize_folder(prod, out, keyring=keyring, config=config, envs=("staging", "dev"), progress=say)
    write_report(report, workdir / "report.json")
    summary = {"workdir": str(workdir), "environments": {}}
    for env in ("staging", "dev"):
        summary["environments"][env] = {
            "path": str(out / env),
            "tables": {t: r["rows_out"][env] for t, r in report["tables"].items()},
        }
    (workdir / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return summary
