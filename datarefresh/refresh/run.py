"""A refresh as three plain steps, run in one process by `datarefresh refresh` (here) or as
Airflow tasks by the DAG (one `process_unit` per table partition, mapped):

1. `plan.plan_run`: snapshot prod as of a timestamp (object versions, no data), settle
   the policies, derive a deterministic snapshot id and cut the work into units.
2. `unit.process_unit`: read one unit of one table through the prod-reader role, anonymize
   it once, write every row to staging and the sampled rows to dev, under the run's
   snapshot prefix, through each environment's writer role. Children run after their
   parents and test their foreign keys against the parents' dev key sets.
3. `publish.publish_run`: validate, write the manifest, move each environment's pointer.

Everything passed between steps is metadata (object versions, file keys, counts,
policies): never a raw value. The snapshot id is a function of the prod versions,
the policies, the sampling and a fingerprint of the key, so a rerun of the same
date writes the same bytes to the same keys and leaves the pointer where it is.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

from datarefresh.aws import Aws
from datarefresh.config import Config
from datarefresh.refresh.plan import RunPlan, UnitResult, WorkUnit, parse_as_of, plan_run
from datarefresh.refresh.publish import publish_run
from datarefresh.refresh.table import Progress
from datarefresh.refresh.unit import process_unit
from datarefresh.storage.publish import discard_everywhere


def run_levels(plan: RunPlan) -> list[list[WorkUnit]]:
    """Units grouped by level, lowest first (RunPlan.units_at)."""
    return [plan.units_at(lv) for lv in range(plan.depth)]


def refresh(
    config: Config,
    aws: Aws,
    *,
    envs: tuple[str, ...] = ("dev", "staging"),
    tables: tuple[str, ...] | None = None,
    as_of: dt.datetime | None = None,
    allow_backwards: bool = False,
    allow_demo_key: bool = False,
    dev_fraction: float | None = None,
    progress: Progress | None = None,
    docs_dir: Path | None = None,
) -> dict:
    """The whole pipeline in this process: the same steps the Airflow DAG runs as tasks."""
    started = time.perf_counter()
    as_of = as_of or parse_as_of(None)
    plan = plan_run(
        config,
        aws,
        envs=envs,
        tables=tables,
        as_of=as_of,
        allow_backwards=allow_backwards,
        dev_fraction=dev_fraction,
        allow_demo_key=allow_demo_key,
        progress=progress,
    )
    results = _process_units(config, aws, plan, progress)
    report = publish_run(config, aws, plan, results, progress, docs_dir)
    report["seconds"] = round(time.perf_counter() - started, 3)
    return report


def _process_units(config: Config, aws: Aws, plan: RunPlan, progress: Progress | None) -> list[UnitResult]:
    """Every unit, parents' level first. A unit that fails stops the run before publish, and what the
    units before it wrote is removed, as the Airflow publish task does: in one process nothing retries
    the unit, whatever the error (terminal, S3 still failing after botocore's retries, a bug)."""
    try:
        return [
            process_unit(config, aws, plan, u.table, u.index, progress)
            for level in run_levels(plan)
            for u in level
        ]
    except Exception:
        discard_everywhere(config, aws, plan)
        raise
