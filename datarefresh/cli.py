"""The command line. Thin: parse options, call the library, print results.

One error handler: a DataRefreshError prints `Error: ...` and exits 1 with no
traceback unless --debug is given.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

from datarefresh.errors import DataRefreshError


class _Group(click.Group):
    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except DataRefreshError as exc:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(1)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.version_option(package_name="datarefresh")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """datarefresh: sanitized copies of production tables for dev and staging."""
    ctx.obj = {"debug": debug}


def _progress(label: str):
    started = time.monotonic()

    def report(done: int, total: int) -> None:
        rate = done / max(time.monotonic() - started, 1e-9)
        eta = (total - done) / rate if rate else 0
        click.echo(f"\r{label}: {done:,}/{total:,} ({done / total:.0%}, ETA {eta:,.0f}s)", nl=done >= total, err=True)

    return report


@main.command("demo-data")
@click.argument("dest", type=click.Path(file_okay=False))
@click.option("--rows", default=10_000, show_default=True, type=click.IntRange(min=1), help="Number of customers.")
@click.option("--seed", default=0, show_default=True, type=int)
def demo_data(dest: str, rows: int, seed: int) -> None:
    """Write a synthetic production data set full of PII to DEST (one folder per table)."""
    from datarefresh.demo_data import generate

    counts = generate(dest, rows=rows, seed=seed, progress=_progress("customers"))
    for table, n in counts.items():
        click.echo(f"{table:16} {n:>12,} rows  -> {Path(dest) / table}")


def _load_config(path: str | None):
    from datarefresh.config import load_config

    return load_config(path) if path else None


def _echo_err(msg: str) -> None:
    click.echo(msg, err=True)


@main.command()
@click.argument("source", type=click.Path(file_okay=False))
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="Config whose policies to start from.")
@click.option("--out", type=click.Path(dir_okay=False), help="Write the policy YAML here instead of stdout.")
def plan(source: str, config_path: str | None, out: str | None) -> None:
    """Classify every column of every table under SOURCE and print a reviewable policy."""
    from datarefresh.config import policy_to_yaml
    from datarefresh.pipeline import discover_local, plan_tables

    config = _load_config(config_path)
    tables = plan_tables(discover_local(source, config), config, progress=_echo_err)
    text = policy_to_yaml(tables)
    if out:
        Path(out).write_text(text, encoding="utf-8")
        _echo_err(f"wrote policy for {len(tables)} tables to {out}")
    else:
        click.echo(text, nl=False)


@main.command()
@click.argument("source", type=click.Path(file_okay=False))
@click.argument("dest", type=click.Path(file_okay=False))
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="Policy config (default: classify).")
@click.option("--env", "env", type=click.Choice(["staging", "dev"]), default="staging", show_default=True,
              help="staging keeps every row; dev writes a keyed, FK-consistent sample.")
@click.option("--report", type=click.Path(dir_okay=False), help="Write a JSON run report here.")
@click.option("--demo-key", is_flag=True, help="Use the published demo key (demo data only; not secret).")
def sanitize(source: str, dest: str, config_path: str | None, env: str, report: str | None, demo_key: bool) -> None:
    """Write a sanitized copy of the tables under SOURCE to DEST/<table>/ (parquet)."""
    from datarefresh.pipeline import sanitize_folder, write_report
    from datarefresh.secret import resolve_keyring

    config = _load_config(config_path)
    keyring = resolve_keyring(config.secret if config else None, allow_demo_key=demo_key)
    result = sanitize_folder(source, dest, keyring=keyring, config=config, envs=(env,), progress=_echo_err)
    if report:
        write_report(result, report)
    for table, r in result["tables"].items():
        click.echo(f"{table:16} {r['rows_in']:>12,} rows in  {r['rows_out'][env]:>12,} rows out  "
                   f"-> {Path(dest) / table}")
    click.echo(f"done in {result['seconds']:.1f}s")


@main.command()
@click.option("--workdir", default=".datarefresh/demo", show_default=True, type=click.Path(file_okay=False))
@click.option("--rows", default=5_000, show_default=True, type=click.IntRange(min=10), help="Demo customers.")
def demo(workdir: str, rows: int) -> None:
    """Run the whole job on the embedded local default: demo prod data -> sanitized staging and dev."""
    from datarefresh.demo import run_demo

    summary = run_demo(Path(workdir), rows=rows, progress=_echo_err)
    for env, s in summary["environments"].items():
        click.echo(f"{env}: " + ", ".join(f"{t} {n:,}" for t, n in s["tables"].items()) + f"  -> {s['path']}")
    click.echo(f"summary: {Path(workdir) / 'summary.json'}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
