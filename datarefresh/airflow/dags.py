"""The DAG factory. DAG files only call `build_nightly_dag()`.

Parse time reads the local config file only (no network, no S3, no heavy imports);
every task calls a plain function of datarefresh.refresh (plan, unit, publish).
"""

from __future__ import annotations

import datetime as dt
from importlib import resources
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
2. `process_level_N`: one mapped task per table partition (labelled with the table and
   partition), parents' level before children's. Reads prod through
   `datarefresh_prod_reader`, anonymizes once, writes staging and dev through
   `datarefresh_staging_writer` / `datarefresh_dev_writer`.
3. `publish`: validation gates, manifest, then the environment's pointer moves with a
   conditional write. An older date never moves the pointer back unless the
   *allow_backwards* param is set. It waits for every unit, failed or not: when one failed it
   publishes nothing, removes the run's files from the buckets (never a published snapshot's)
   and fails. Repair with a new run (the same date again is idempotent) or by clearing the
   whole run, not the failed unit alone.

**Trigger DAG** (the Params form; every field may stay as it is):

| param | meaning |
|---|---|
| `tables` | tables to refresh; **empty means all**. The others are carried over from the current snapshot. |
| `envs` | environments to publish (dev, staging). |
| `dev_fraction` | override the dev sample fraction (0 < f <= 1); empty keeps the config's. |
| `as_of` | snapshot prod as of this time instead of the run's data interval end. |
| `allow_backwards` | let an older as-of move an environment's pointer back. |

A conf key that is not one of these fails `plan` before any work.

**Backfill**: Backfill in the UI, or `airflow backfill create --dag-id datarefresh_nightly
--from-date 2026-11-01 --to-date 2026-11-07`; reruns of a date are idempotent.
Failures of fail-closed gates, bad input and access denied do not retry; throttling and
S3 5xx do, with backoff.

**Key**: from the config's `secret` (an env var, a file or an Airflow Variable). On the
demo's data only, `DATAREFRESH_ALLOW_DEMO_KEY=1` in the workers' environment lets the
runs use the published demo key.
"""


def build_nightly_dag(config: Config | None = None, dag_id: str = "datarefresh_nightly"):
    from airflow.sdk import DAG, Param, task

    config = config or resolve_config()
    table_levels = levels(config.tables)
    depth = max(table_levels.values(), default=0) + 1
    a = config.airflow
    tables, envs = sorted(config.tables), sorted(config.environments)
    params = {
        # `examples` makes the form a multi-select; "null" in the type makes the field optional
        "tables": Param(
            [],
            type=["null", "array"],
            items={"type": "string", "enum": tables},
            uniqueItems=True,
            examples=tables,
            title="Tables",
            description="Tables to refresh; empty means all (the others are carried over).",
        ),
        "envs": Param(
            envs,
            type="array",
            items={"type": "string", "enum": envs},
            minItems=1,
            uniqueItems=True,
            examples=envs,
            title="Environments",
            description="Environments to publish.",
        ),
        "dev_fraction": Param(
            None,
            type=["null", "number"],
            exclusiveMinimum=0,
            maximum=1,
            title="Dev fraction",
            description="Override the dev sample fraction (0 < f <= 1); empty keeps the config's.",
        ),
        "as_of": Param(
            None,
            type=["null", "string"],
            format="date-time",
            title="Prod as of",
            description="Snapshot prod as of this time instead of the run's data interval end.",
        ),
        "allow_backwards": Param(
            False,
            type="boolean",
            title="Allow backwards",
            description="Let an older as-of move the environment pointer back.",
        ),
    }
    if set(params) != set(RUN_PARAMS):  # tasks.check_run_conf validates run confs against RUN_PARAMS
        raise RuntimeError(f"RUN_PARAMS {sorted(RUN_PARAMS)} must list the DAG's params {sorted(params)}")
    default_args = {
        "owner": a.owner,
        "retries": a.retries,
        "retry_delay": dt.timedelta(minutes=1),
        "retry_exponential_backoff": True,
        "max_retry_delay": dt.timedelta(minutes=20),
    }
    with DAG(
        dag_id=dag_id,
        schedule=a.schedule,
        start_date=dt.datetime.fromisoformat(a.start_date).replace(tzinfo=dt.timezone.utc),
        catchup=False,
        max_active_runs=1,
        params=params,
        default_args=default_args,
        tags=["datarefresh", "anonymization", "dev", "staging"],
        doc_md=DOC_MD,
        render_template_as_native_obj=True,
        is_paused_upon_creation=a.is_paused_upon_creation,
        description="Sanitized refresh of dev (FK-consistent sample) and staging (all rows) from prod",
    ) as dag:
        # return values are metadata for XCom (policies, file keys): not worth a task log line
        quiet = {"show_return_value_in_logs": False}
        plan = task(task_id="plan", **quiet)(tasks.plan)()
        previous = plan
        results = []
        for lv in range(depth):
            units = task(task_id=f"units_level_{lv}", trigger_rule="none_failed", **quiet)(
                tasks.units_of_level
            )(plan, lv)
            processed = (
                task(
                    task_id=f"process_level_{lv}",
                    pool=a.pool,
                    pool_slots=1,
                    max_active_tis_per_dag=a.pool_slots,
                    map_index_template="{{ task.op_kwargs['unit']['label'] }}",
                    **quiet,
                )(tasks.process)
                .partial(plan=plan)
                .expand(unit=units)
            )
            previous >> units
            previous = processed
            results.append(processed)
        # all_done: publish waits for every unit, retries included, even when one failed; it then publishes
        # nothing and removes the run's files (publish_run refuses a run with a unit missing). A separate
        # cleanup task would cost a task on every good run (all_done), or start while siblings still write
        # (one_failed); none_failed, as before, skipped publish and left the siblings' files behind.
        task(task_id="publish", trigger_rule="all_done", **quiet)(tasks.publish)(plan, results)
    return dag


def dags_folder() -> Path:
    """The Airflow dags folder shipped in the package (`datarefresh/airflow/dag_files/`), found through
    importlib.resources so that it is the same from a wheel as from a checkout: point
    AIRFLOW__CORE__DAGS_FOLDER here, or put a file with the two lines of its DAG file in your own."""
    return Path(str(resources.files("datarefresh.airflow.dag_files")))
