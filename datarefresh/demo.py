"""`datarefresh demo`: the whole job end to end on the embedded local default.

Starts (or reuses) the local AWS server for WORKDIR, seeds the prod bucket with demo
data (as the local admin user, standing in for the production application), runs
`refresh` for dev and staging through the environment roles, and writes
WORKDIR/summary.json. The server is left running for `pull` and browsing.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable

from datarefresh import localaws
from datarefresh.aws import Aws
from datarefresh.config import Config, bundled_demo_config
from datarefresh.demo_data import generate
from datarefresh.pipeline import write_report
from datarefresh.runs import refresh
from datarefresh.storage.uri import S3Uri


def seed_prod(local: localaws.LocalAws, config: Config, rows: int, say: Callable[[str], None]) -> None:
    src = S3Uri.parse(config.source.uri)  # type: ignore[union-attr]
    s3 = local.session(localaws.ADMIN_USER).client("s3", endpoint_url=local.endpoint)
    with tempfile.TemporaryDirectory() as tmp:
        say(f"generating demo prod data ({rows:,} customers)")
        generate(tmp, rows=rows, seed=0)
        for path in sorted(Path(tmp).rglob("*")):
            if path.is_file():
                rel = path.relative_to(tmp).as_posix()
                s3.upload_file(str(path), src.bucket, src.key(rel))
    say(f"seeded {src}")


def run_demo(workdir: Path, *, rows: int = 5_000, config: Config | None = None,
             progress: Callable[[str], None] | None = None) -> dict:
    config = config or bundled_demo_config()
    say = progress or (lambda _m: None)
    local, started = localaws.up(config, workdir)
    say(("started" if started else "reusing") + f" local AWS at {local.endpoint} (IAM enforced)")
    seed_prod(local, config, rows, say)
    aws = Aws(config, base_session=local.session(localaws.BASE_USER), endpoint_url=local.endpoint)
    # A real key when the user set one; the published demo key otherwise (demo data only).
    has_key = bool(os.environ.get(config.secret.env or ""))
    report = refresh(config, aws, envs=("dev", "staging"), allow_demo_key=not has_key, progress=say)
    write_report(report, workdir / "report.json")
    summary = {"endpoint": local.endpoint, "as_of": report["as_of"], "environments": {}}
    for env, r in report["environments"].items():
        summary["environments"][env] = {
            "bucket": config.environments[env].bucket,
            "snapshot_id": r.get("snapshot_id"),
            "as_of": report["as_of"],
            "published": r["published"],
            "validation": "passed" if r["validation"]["passed"] else "failed",
            "tables": {t: rep["rows_out"][env] for t, rep in report["tables"].items()},
        }
    write_report(summary, workdir / "summary.json")
    return summary
