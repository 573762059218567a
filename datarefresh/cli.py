"""The command line. Thin: parse options, call the library, print results.

One error handler: a DataRefreshError prints `Error: ...` and exits 1 with no
traceback unless --debug is given. Any other exception is a bug or a library error whose
message may quote a cell (pyarrow, pandas and GX do): without --debug only its type and
where it was raised are printed, and it exits 2.
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import click

from datarefresh.errors import DataRefreshError, raised_at


class _Group(click.Group):
    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except DataRefreshError as exc:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(1)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except Exception as exc:  # noqa: BLE001 - the last line of defence for raw values
            if ctx.obj and ctx.obj.get("debug"):
                raise
            click.echo(
                f"Error: unexpected {type(exc).__name__} in {raised_at(exc)} (message withheld: it may "
                "quote a data value); rerun with --debug for the traceback",
                err=True,
            )
            ctx.exit(2)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.version_option(package_name="datarefresh")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """datarefresh: sanitized copies of production tables for dev and staging."""
    ctx.obj = {"debug": debug}


DEFAULT_WORKDIR = ".datarefresh/demo"


def config_option(help: str = "Config file (default: $DATAREFRESH_CONFIG, else the bundled demo config)."):
    """`--config` (as `config_path`), the same option on every command; `help` says what it is for there."""
    return click.option("--config", "config_path", type=click.Path(dir_okay=False), help=help)


workdir_option = click.option(
    "--workdir",
    default=DEFAULT_WORKDIR,
    show_default=True,
    type=click.Path(file_okay=False),
    help="Folder of the local AWS server and demo data.",
)
demo_key_option = click.option(
    "--demo-key", is_flag=True, help="Use the published demo key (demo data only; not secret)."
)


def comma_list(
    _ctx: click.Context | None, _param: click.Parameter | None, value: str | None
) -> tuple[str, ...]:
    """`a,b, c` -> ("a", "b", "c"): the one parser of comma-separated option values (a click callback)."""
    return tuple(v.strip() for v in (value or "").split(",") if v.strip())


def list_option(*decls: str, **kwargs):
    """An option whose value is a comma-separated list, given to the command as a tuple."""
    return click.option(*decls, callback=comma_list, **kwargs)


@main.command("demo-data")
@click.argument("dest", type=click.Path(file_okay=False))
@click.option(
    "--rows", default=10_000, show_default=True, type=click.IntRange(min=1), help="Number of customers."
)
@click.option("--seed", default=0, show_default=True, type=int)
def demo_data(dest: str, rows: int, seed: int) -> None:
    """Write a synthetic production data set full of PII to DEST (one folder per table)."""
    from datarefresh.devtools.demo_data import generate
    from datarefresh.progress import ProgressBar

    with ProgressBar("customers") as bar:
        counts = generate(dest, rows=rows, seed=seed, progress=bar.update)
    for table, n in counts.items():
        click.echo(f"{table:16} {n:>12,} rows  -> {Path(dest) / table}")


def _load_config(path: str | None):
    from datarefresh.config import load_config

    return load_config(path) if path else None


def _echo_err(msg: str) -> None:
    click.echo(msg, err=True)


@main.command()
@click.argument("source", type=click.Path(file_okay=False))
@config_option(help="Config whose policies to start from.")
@click.option("--out", type=click.Path(dir_okay=False), help="Write the policy YAML here instead of stdout.")
def plan(source: str, config_path: str | None, out: str | None) -> None:
    """Classify every column of every table under SOURCE and print a reviewable policy."""
    from datarefresh.config import policy_to_yaml
    from datarefresh.refresh.local import discover_local
    from datarefresh.refresh.table import plan_tables

    config = _load_config(config_path)
    tables = plan_tables(
        discover_local(source, config, unknown_tables="classify", progress=_echo_err),
        config,
        progress=_echo_err,
        classify_missing=True,
    )
    text = policy_to_yaml(tables)
    if out:
        Path(out).write_text(text, encoding="utf-8")
        _echo_err(f"wrote policy for {len(tables)} tables to {out}")
    else:
        click.echo(text, nl=False)


@main.command()
@click.argument("source", type=click.Path(file_okay=False))
@click.argument("dest", type=click.Path(file_okay=False))
@config_option(help="Policy config (default: classify).")
@click.option(
    "--env",
    "env",
    default="staging",
    show_default=True,
    help="An environment of the config: its sampling.mode decides (full keeps every row, sample "
    "writes a keyed, FK-consistent sample). Not in the config: dev is a 10% sample, any other "
    "a full copy.",
)
@click.option("--report", type=click.Path(dir_okay=False), help="Write a JSON run report here.")
@demo_key_option
def sanitize(
    source: str, dest: str, config_path: str | None, env: str, report: str | None, demo_key: bool
) -> None:
    """Write a sanitized copy of the tables under SOURCE to DEST/<table>/ (parquet)."""
    from datarefresh.refresh.local import sanitize_folder, write_report
    from datarefresh.secret import resolve_keyring

    config = _load_config(config_path)
    if config and config.environments and env not in config.environments:  # a typo would mean a full copy
        raise click.BadParameter(
            f"{env!r} is not an environment of {config_path} ({', '.join(sorted(config.environments))})",
            param_hint="--env",
        )
    keyring = resolve_keyring(config.secret if config else None, allow_demo_key=demo_key, config=config)
    result = sanitize_folder(source, dest, keyring=keyring, config=config, envs=(env,), progress=_echo_err)
    if report:
        write_report(result, report)
    for table, r in result["tables"].items():
        click.echo(
            f"{table:16} {r['rows_in']:>12,} rows in  {r['rows_out'][env]:>12,} rows out  "
            f"-> {Path(dest) / table}"
        )
    click.echo(f"done in {result['seconds']:.1f}s")


def _config_or_default(path: str | None):
    from datarefresh.config import resolve_config

    return resolve_config(path)  # --config, else DATAREFRESH_CONFIG, else the bundled demo config


@main.command()
@workdir_option
@click.option("--rows", default=5_000, show_default=True, type=click.IntRange(min=10), help="Demo customers.")
@click.option(
    "--airflow", "use_airflow", is_flag=True, help="Run the DAG through `airflow dags test` instead."
)
def demo(workdir: str, rows: int, use_airflow: bool) -> None:
    """The whole job on the embedded local default: local AWS, demo prod data, refresh dev and staging."""
    from datarefresh.devtools.demo import run_demo
    from datarefresh.devtools.localaws import load

    summary = run_demo(Path(workdir), rows=rows, airflow=use_airflow, progress=_echo_err)
    for env, s in summary["environments"].items():
        if not s["published"]:
            click.echo(f"{env:8} nothing published in {s['bucket']}")
            continue
        click.echo(
            f"{env:8} {s['snapshot_id']} in {s['bucket']} (validation {s['validation']}): "
            + ", ".join(f"{t} {n:,}" for t, n in s["tables"].items())
        )
    labels = {
        "report_html": "report",
        "datadocs": "Data Docs",
        "report_json": "report (JSON)",
        "summary": "summary",
    }
    click.echo("")
    for key, label in labels.items():
        if key in summary["outputs"]:
            click.echo(f"{label + ':':15}{summary['outputs'][key]}")
    local = load(Path(workdir).resolve())  # absolute paths in the exports, like `localaws up`
    if local:
        click.echo(
            "\nThe local AWS server is still running. To use it from a shell (the same exports as "
            "`datarefresh localaws up`):"
        )
        click.echo(local.exports())
        click.echo(f"Stop it with: datarefresh localaws down --workdir {Path(workdir).resolve()}")


@main.group()
def localaws() -> None:
    """An embedded S3/IAM/STS server on loopback with IAM enforcement on."""


@localaws.command("up")
@config_option()
@workdir_option
@click.option("--port", type=int, help="Port on 127.0.0.1 (default 4566, or any free port).")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on, also the endpoint's host (a container's own address in docker/).",
)
def localaws_up(config_path: str | None, workdir: str, port: int | None, host: str) -> None:
    """Start the server, create buckets, roles and policies, write AWS profiles."""
    from datarefresh.devtools import localaws as la

    local, started = la.up(_config_or_default(config_path), Path(workdir), port, host)
    click.echo(("started" if started else "already running") + f" at {local.endpoint}", err=True)
    click.echo(f"profiles: {', '.join(sorted(local.state['roles']))} (and {la.BASE_USER})", err=True)
    click.echo(local.exports())


@localaws.command("down")
@workdir_option
def localaws_down(workdir: str) -> None:
    """Stop the server started for WORKDIR."""
    from datarefresh.devtools import localaws as la

    click.echo("stopped" if la.down(Path(workdir)) else "not running")


@localaws.command("airflow-env")
@workdir_option
def localaws_airflow_env(workdir: str) -> None:
    """Print the exports that point a local Airflow at this server (one AWS connection per role)."""
    from datarefresh.devtools import localaws as la
    from datarefresh.airflow.connections import connection_env
    from datarefresh.airflow.dags import dags_folder
    from datarefresh.errors import TerminalError

    local = la.load(Path(workdir))
    if local is None:
        raise TerminalError(f"no local AWS is running for {workdir}; start it with: datarefresh localaws up")
    env = connection_env(local) | {
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder()),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    }
    for k, v in env.items():
        click.echo(f"export {k}={shlex.quote(v)}")


@main.group()
def iam() -> None:
    """IAM roles and policies rendered from the config."""


@iam.command("render")
@config_option()
def iam_render(config_path: str | None) -> None:
    """Print {"roles": [{name, environment, purpose, trust_policy, policy}]} as JSON."""
    from datarefresh.iam import render

    click.echo(json.dumps(render(_config_or_default(config_path)), indent=2))


@main.command("refresh")
@config_option()
@list_option("--env", "envs", default="dev,staging", show_default=True, help="Comma-separated environments.")
@list_option("--tables", default="", help="Comma-separated tables (default: all in the config).")
@click.option("--as-of", "as_of", help="Snapshot prod as of this ISO timestamp (default: now).")
@click.option("--allow-backwards", is_flag=True, help="Let an older as-of move the environment pointer back.")
@click.option("--report", type=click.Path(dir_okay=False), help="Write the JSON run report here.")
@demo_key_option
def refresh_cmd(config_path, envs, tables, as_of, allow_backwards, report, demo_key) -> None:
    """Snapshot prod, sanitize, sample dev, validate and publish, through the configured roles."""
    from datarefresh.aws import Aws
    from datarefresh.refresh.local import write_report
    from datarefresh.refresh.plan import parse_as_of
    from datarefresh.refresh.run import refresh

    config = _config_or_default(config_path)
    result = refresh(
        config,
        Aws(config),
        envs=envs,
        tables=tables or None,
        as_of=parse_as_of(as_of),
        allow_backwards=allow_backwards,
        allow_demo_key=demo_key,
        progress=_echo_err,
    )
    if report:
        write_report(result, report)
    failed = []
    for env, r in result["environments"].items():
        click.echo(
            f"{env:8} "
            + (f"published {r['snapshot_id']}" if r["published"] else f"NOT published: {r['reason']}")
        )
        if r["published"] and r.get("held_back"):
            click.echo(f"{'':8} {r['reason']}")
        if not r["validation"]["passed"]:
            failed.append(env)  # a partial publish (tables held back) is a failed run too
    if failed:
        raise click.exceptions.Exit(1)


@main.command("pull")
@config_option()
@click.option("--env", default="dev", show_default=True)
@list_option("--tables", default="", help="Comma-separated tables (default: all in the snapshot).")
@click.option("--dest", default="./data", show_default=True, type=click.Path(file_okay=False))
@click.option("--snapshot", help="A snapshot id (default: the environment's current one).")
@click.option("--as-of", "as_of", help="The newest snapshot as of this date.")
@click.option(
    "--verify",
    is_flag=True,
    help="Hash every local file against the manifest (default: sizes, and "
    "hashes of files changed since they were verified).",
)
def pull_cmd(config_path, env, tables, dest, snapshot, as_of, verify) -> None:
    """Download an environment's published snapshot with your own credentials (AWS_PROFILE, SSO...)."""
    from datarefresh.pull import pull

    if snapshot and as_of:
        raise click.UsageError("give --snapshot or --as-of, not both")
    r = pull(
        _config_or_default(config_path),
        env=env,
        dest=dest,
        tables=tables or None,
        snapshot=snapshot,
        as_of=as_of,
        verify=verify,
    )
    click.echo(
        f"{env} snapshot {r['snapshot_id']} (prod as of {r['as_of']}) in {r['dest']}: "
        f"{r['downloaded_files']} files downloaded ({r['downloaded_bytes'] / 1e6:,.1f} MB), "
        f"{r['reused_files']} unchanged"
        + (f", {r['repaired_files']} damaged files repaired" if r.get("repaired_files") else "")
    )
    for t, n in r["tables"].items():
        click.echo(f"  {t:16} {n:>10,} rows  from snapshot {r['tables_from'][t]}")
    first = next(iter(r["tables"]), "customers")
    click.echo(
        f"load it: pandas.read_parquet('{r['dest']}/{first}')  or  "
        f"duckdb -c \"SELECT * FROM '{r['dest']}/{first}/*.parquet'\""
    )


@main.command("status")
@config_option()
@list_option("--env", "envs", default="dev,staging", show_default=True, help="Comma-separated environments.")
def status_cmd(config_path, envs) -> None:
    """Each environment's current snapshot, its age, tables and rows, and the last run's result.

    Each environment is read with its reader role (assumed from your credentials) or, if you may
    not assume it, your own credentials; one you may not read is marked, the others still shown."""
    from datarefresh.pull import status

    result = status(_config_or_default(config_path), envs)
    for env, s in result.items():
        if not s["readable"]:
            click.echo(f"{env}: NOT READABLE {s['read_as']}: {s['reason']}")
            continue
        if not s["snapshot_id"]:
            click.echo(f"{env}: nothing published yet in {s['bucket']} (read {s['read_as']})")
        else:
            click.echo(
                f"{env}: {s['snapshot_id']} (prod as of {s['as_of']}, {s['age_hours']} h old) "
                f"in {s['bucket']} (read {s['read_as']})"
            )
            click.echo("  " + ", ".join(f"{t} {n:,}" for t, n in s["tables"].items()))
        last = s.get("last_run")
        if last:
            state = (
                ("published" + (f"; {last['reason']}" if last.get("reason") else ""))
                if last["published"]
                else f"NOT published: {last['reason']}"
            )
            click.echo(f"  last run {last['snapshot_id']}: {state}; report {last['report']}")
    if not any(s["readable"] for s in result.values()):
        raise click.exceptions.Exit(1)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
