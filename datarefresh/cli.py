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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
