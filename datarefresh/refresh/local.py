"""The local-folder path (`datarefresh sanitize`, `plan`): tables of a folder on this machine,
sanitized into another folder, every table or none. Each table goes through `refresh.table`
(the same per-table step the S3 run's units use)."""

from __future__ import annotations

import json
import shutil
import time
import uuid
from pathlib import Path

from datarefresh.anonymize.keyed import Keyring
from datarefresh.config import Config, TableConfig
from datarefresh.errors import InputError, PolicyError
from datarefresh.graph import processing_order
from datarefresh.io.tables import list_local_table
from datarefresh.refresh.table import (
    Output,
    Progress,
    TableSource,
    env_sampling,
    make_outputs,
    plan_tables,
    sanitize_table,
    unconfigured_tables,
)
from datarefresh.validate.leaks import cross_table_findings


def discover_local(
    source: str | Path,
    config: Config | None = None,
    *,
    unknown_tables: str | None = None,
    progress: Progress | None = None,
) -> dict[str, TableSource]:
    """Tables of a local folder: one sub-folder per table (or the config's table paths).

    With a config, a sub-folder no configured table reads follows `unknown_tables` (or the
    config's): fail, skip (named in a message), or classify (`plan`: include it)."""
    root = Path(source)
    if not root.is_dir():
        raise InputError("source is not a folder", file=str(root))
    folders = [root / name for name in _table_folders(root)]
    if config and config.tables:
        found = {
            name: TableSource(
                name, list_local_table(root / (t.path or name), t.format), t.encoding, csv=t.csv
            )
            for name, t in config.tables.items()
        }
        unknown = unconfigured_tables([p.name for p in folders], config, str(root), unknown_tables, progress)
        if (unknown_tables or config.unknown_tables) == "classify":
            found |= {name: TableSource(name, list_local_table(root / name)) for name in unknown}
        return found
    found = {}
    for sub in folders:
        found[sub.name] = TableSource(sub.name, list_local_table(sub))
    if not found:
        raise InputError("no table folders found (expected one sub-folder per table)", file=str(root))
    return found


def _table_folders(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))


def run_tables(
    sources: dict[str, TableSource],
    tables: dict[str, TableConfig],
    keyring: Keyring,
    outputs: list[Output],
    config: Config | None,
    progress: Progress | None = None,
) -> dict[str, dict]:
    """Read each table once, anonymize once, write every output; parents before children,
    so a child's dev sample can follow its parents' sampled keys."""
    report = {}
    for name in processing_order(tables):
        report[name] = sanitize_table(name, sources[name], tables[name], keyring, outputs, config, progress)
    cross_table_findings(
        [(n, r["leaks"]) for n, r in report.items()]
    )  # one table's originals in another's output
    return report


def sanitize_folder(
    source: str | Path,
    dest: str | Path,
    *,
    keyring: Keyring,
    config: Config | None = None,
    envs: tuple[str, ...] = ("staging",),
    use_presidio: bool = True,
    progress: Progress | None = None,
) -> dict:
    """Sanitize every table of SOURCE into DEST/<table>/ (one env) or DEST/<env>/<table>/ (several).

    All tables are written under a hidden temporary folder in DEST first and moved
    into place only when every table succeeded, so a failure leaves DEST as it was.
    """
    started = time.perf_counter()
    sources = discover_local(source, config, progress=progress)
    tables = plan_tables(sources, config, use_presidio=use_presidio, progress=progress)
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    staging_dir = dest / f".datarefresh-tmp-{uuid.uuid4().hex[:12]}"
    outputs = make_outputs(staging_dir, env_sampling(config, envs), keyring, tables)
    report: dict = {"source": str(source), "environments": list(envs)}
    if config and config.tables:  # named in the report too (discover_local refused them under fail)
        report["skipped_tables"] = unconfigured_tables(_table_folders(Path(source)), config, str(source))
    try:
        report["tables"] = run_tables(sources, tables, keyring, outputs, config, progress)
        leaks = [f for t in report["tables"].values() for f in ((t.get("leaks") or {}).get("findings") or [])]
        if leaks:  # the leak scan is a gate here too: nothing reaches DEST
            f = leaks[0]
            raise PolicyError(
                f"{f['kind']} of {f['source_column']} ({f['entity']}) found in the output "
                f"({len(leaks)} finding(s)); nothing was written",
                table=f["table"],
                column=f["column"],
            )
        for tname, t in report["tables"].items():  # so are the text re-scan and k-anonymity
            for r in (t.get("leaks") or {}).get("text_rescan") or []:
                if not r["passed"]:
                    raise PolicyError(
                        f"free-text re-scan still finds {', '.join(r['entities'])} in "
                        f"{r['hit_rate']:.1%} of sampled texts (look at rows "
                        f"{', '.join(str(x['row']) for x in r['rows'][:10])}); nothing was "
                        "written",
                        table=tname,
                        column=r["column"],
                    )
            for env, k in (t.get("k_anonymity_by_env") or {}).items():
                if k and not k.get("passed", True):
                    raise PolicyError(
                        f"k-anonymity of the {env} sample is not reached (see the report); "
                        "nothing was written",
                        table=tname,
                    )
        for o in outputs:
            _move_into_place(o.folder, dest if len(envs) == 1 else dest / o.env, list(report["tables"]))
    finally:
        shutil.rmtree(staging_dir, ignore_errors=True)
    report["seconds"] = round(time.perf_counter() - started, 3)
    return report


def _move_into_place(src_root: Path, dst_root: Path, tables: list[str]) -> None:
    dst_root.mkdir(parents=True, exist_ok=True)
    for table in tables:
        target = dst_root / table
        old = dst_root / f".old-{table}-{uuid.uuid4().hex[:8]}"
        if target.exists():
            target.rename(old)
        (src_root / table).rename(target)
        shutil.rmtree(old, ignore_errors=True)


def write_report(report: dict, path: str | Path) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
