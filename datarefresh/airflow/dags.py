"""The DAG factory. DAG files only call `build_nightly_dag()`.

Parse time reads the local config file only (no network, no S3, no heavy imports);
every task calls a plain function of datarefresh.runs.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from datarefresh.airflow import tasks
from datarefresh.airflow.tasks import RUN_PARAMS
from datarefresh.config import Config, resolve_config
from datarefresh.graph import levels

DOC_MD = """
### datarefresh_nightly

Refreshes **dev** (a keyed, FK-consistent sample) and **staging** (every row) from
production, without personal data.

1. `plan`: snapshot of prod *as of the run's data interval end* (object versions, so a
   backfill of an old date reproduces that day), policies, work units.
2. `process_level_N`: one mapped task per table partition, parents' level before
   children's. Reads prod through `datarefresh_prod_reader`, anonymizes once, writes
   staging and dev through `datarefresh_staging_writer` / `datarefresh_dev_writer`.
3. `publish`: validation gates, manifest, then the environment's pointer moves with a
   conditional write. An older date never moves the pointer back unless the
   *allow_backwards* param is set.

**Manual run**: Trigger DAG w/ config: pick tables, environments, dev fraction, an
as-of override. **Backfill**: `airflow backfill create --dag-id datarefresh_nightly
--from-date 2026-11-01 --to-date 2026-11-07` (or Backfill in the UI); reruns of a date
are idempotent. Failures of fail-closed gates, bad input and access denied do not retry;
throttling and S3 5xx do, with backoff.
"""


def build_nightly_dag(config: Config | None = None, dag_id: str = "datarefresh_nightly"):
    from airflow.sdk import DAG, Param, task

    config = config or resolve_config()
    table_levels = levels(config.tables)
    depth = max(table_levels.values(), default=0) + 1
    a = config.airflow
    params = {
        "tables": Param([], type="array", items={"type": "string", "enum": sorted(config.tables)},
                        description="Tables to refresh; empty means all."),
        "envs": Param(sorted(config.environments), type="array",
                      items={"type": "string", "enum": sorted(config.environments)}, minItems=1,
                      description="Environments to publish."),
        "dev_fraction": Param(None, type=["null", "number"], exclusiveMinimum=0, maximum=1,
                              description="Override the dev sample fraction."),
        "as_of": Param(None, type=["null", "string"], format="date-time",
                       description="Snapshot prod as of this timestamp instead of the data interval end."),
        "allow_backwards": Param(False, type="boolean",
                                 description="Let an older as-of move the environment pointer back."),
    }
    assert set(params) == set(RUN_PARAMS), "RUN_PARAMS lists the DAG's params"
    default_args = {"owner": a.owner, "retries": a.retries, "retry_delay": dt.timedelta(minutes=1),
                    "retry_exponential_backoff": True, "max_retry_delay": dt.timedelta(minutes=20)}
    with DAG(dag_id=dag_id, schedule=a.schedule, start_date=dt.datetime.fromisoformat(a.start_date)
             .replace(tzinfo=dt.timezone.utc), catchup=False, max_active_runs=1, params=params,
             default_args=default_args, tags=["datarefresh", "anonymization", "dev", "staging"],
             doc_md=DOC_MD, render_template_as_native_obj=True) as dag:
        plan = task(task_id="plan")(tasks.plan)()
        previous = plan
        results = []
        for lv in range(depth):
            units = task(task_id=f"units_level_{lv}", trigger_rule="none_failed")(tasks.units_of_level)(plan, lv)
            processed = task(task_id=f"process_level_{lv}", pool=a.pool, pool_slots=1,
                             max_active_tis_per_dag=a.pool_slots)(tasks.process).partial(plan=plan).expand(unit=units)
            previous >> units
            previous = processed
            results.append(processed)
        task(task_id="publish", trigger_rule="none_failed")(tasks.publish)(plan, results)
    return dag


def dags_folder() -> Path:
    return Path(__file__).resolve().parents[2] / "dags"
