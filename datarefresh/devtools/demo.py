"""`datarefresh demo`: the whole job end to end on the embedded local default.

Starts (or reuses) the local AWS server for WORKDIR, seeds the prod bucket with demo
data (as the local admin user, standing in for the production application), runs
`refresh` for dev and staging through the environment roles, and writes
WORKDIR/summary.json. The server is left running for `pull` and browsing.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Callable

from datarefresh.devtools import localaws
from datarefresh.aws import Aws
from datarefresh.config import Config, bundled_demo_config
from datarefresh.devtools.demo_data import TABLES, generate
from datarefresh.refresh.local import write_report
from datarefresh.report import render_html
from datarefresh.refresh.plan import parse_as_of
from datarefresh.refresh.run import refresh
from datarefresh.secret import resolve_keyring
from datarefresh.storage.publish import Publisher
from datarefresh.storage.uri import S3Uri


# Prod as it was 3, 2 and 1 day(s) ago, then today: a backfill of the last days reads each day's
# object versions (Airflow's backfill runs of the two days before today read different data).
HISTORY_DAYS = 3


def seed_prod(
    local: localaws.LocalAws,
    config: Config,
    rows: int,
    say: Callable[[str], None],
    history_days: int = HISTORY_DAYS,
    now: dt.datetime | None = None,
) -> dict[str, int]:
    """Upload the demo tables once per day of history (prod grows a little every day), the older
    ones backdated on the local server; returns the row count of customers per upload date."""
    src = S3Uri.parse(config.source.uri)  # type: ignore[union-attr]
    s3 = local.session(localaws.ADMIN_USER).client("s3", endpoint_url=local.endpoint)
    now = now or dt.datetime.now(dt.timezone.utc)
    grown: dict[str, int] = {}
    say(f"generating demo prod data ({rows:,} customers today, {history_days} earlier days of history)")
    for days_back in range(history_days, -1, -1):
        n = max(1, rows - days_back * max(1, rows // 50))
        versions = []
        with tempfile.TemporaryDirectory() as tmp:
            generate(tmp, rows=n, seed=0, tables=tuple(t for t in TABLES if t in config.tables))
            for path in sorted(Path(tmp).rglob("*")):
                if path.is_file():
                    key = src.key(path.relative_to(tmp).as_posix())
                    with open(path, "rb") as body:
                        versions.append(
                            {
                                "key": key,
                                "version_id": s3.put_object(Bucket=src.bucket, Key=key, Body=body)[
                                    "VersionId"
                                ],
                            }
                        )
        when = now - dt.timedelta(days=days_back)
        if days_back:
            local.backdate(src.bucket, versions, when)
        grown[when.isoformat()] = n
    say(f"seeded {src} (versions of {', '.join(d[:10] for d in grown)})")
    return grown


def run_demo(
    workdir: Path,
    *,
    rows: int = 5_000,
    config: Config | None = None,
    airflow: bool = False,
    progress: Callable[[str], None] | None = None,
) -> dict:
    config = config or bundled_demo_config()
    say = progress or (lambda _m: None)
    workdir = workdir.resolve()
    if airflow:  # before the local AWS server starts and prod is seeded
        from datarefresh.extras import require

        require("airflow", "running the DAG (datarefresh demo --airflow)")
    local, started = localaws.up(config, workdir)
    say(("started" if started else "reusing") + f" local AWS at {local.endpoint} (IAM enforced)")
    seed_prod(local, config, rows, say)
    aws = Aws(config, base_session=local.session(localaws.BASE_USER), endpoint_url=local.endpoint)
    # The key as the config says (its variable, file or Airflow Variable) when there is one; the
    # published demo key otherwise (demo data only): resolve_keyring decides, and warns.
    as_of = parse_as_of(None)
    if airflow:
        from datarefresh.airflow.localrun import dags_test

        if not config.secret.airflow_variable:  # fail before Airflow starts (a Variable only tasks can read)
            resolve_keyring(config.secret, allow_demo_key=True)
        say("running the DAG with `airflow dags test` (Airflow's scheduler code path, SQLite metadata)")
        log = dags_test(local, workdir / "airflow", config, as_of.isoformat(), allow_demo_key=True)
        say(f"airflow log: {log}")
    else:
        report = refresh(
            config,
            aws,
            envs=("dev", "staging"),
            as_of=as_of,
            allow_demo_key=True,
            progress=say,
            docs_dir=workdir / "datadocs",
        )
        write_report(report, workdir / "report.json")
        (workdir / "report.html").write_text(render_html(report), encoding="utf-8")
    outputs = {"summary": workdir / "summary.json"}
    if not airflow:
        outputs |= {
            "report_html": workdir / "report.html",
            "report_json": workdir / "report.json",
            "datadocs": workdir / "datadocs" / "index.html",
        }
    summary = {
        "endpoint": local.endpoint,
        "as_of": as_of.isoformat(),
        "runner": "airflow" if airflow else "cli",
        "environments": published_state(config, aws),
        "outputs": {k: str(v) for k, v in outputs.items() if k == "summary" or v.exists()},
    }
    write_report(summary, workdir / "summary.json")
    return summary


def published_state(config: Config, aws: Aws) -> dict:
    """What each environment's pointer says, read through the environment's reader role."""
    out = {}
    for env, e in sorted(config.environments.items()):
        pub = Publisher(aws.s3(e.reader_role or e.writer_role), e.reader_role or e.writer_role, e.bucket)
        pointer = pub.read_pointer().data
        if pointer is None:
            out[env] = {"bucket": e.bucket, "published": False}
            continue
        manifest = pub.read_json(pointer["manifest"])
        out[env] = {
            "bucket": e.bucket,
            "published": True,
            "snapshot_id": pointer["snapshot_id"],
            "as_of": pointer["as_of"],
            "tables": pointer["tables"],
            "validation": "passed" if manifest["validation"]["passed"] else "failed",
        }
    return out
