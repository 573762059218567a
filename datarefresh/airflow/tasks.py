"""Task bodies: thin wrappers around the steps in datarefresh.refresh (plan, unit, publish) that map
our errors onto Airflow's.

Terminal errors (a failed gate, bad input, access denied) raise AirflowFailException so
the task fails without retrying; transient ones propagate and Airflow retries them.
Only metadata crosses XCom: object versions, policies, file keys and counts, as the JSON of
refresh.plan.RunPlan and refresh.plan.UnitResult (serialized here, at the XCom boundary, and nowhere else).
"""

from __future__ import annotations

import datetime as dt
import functools

from datarefresh.errors import DataRefreshError, raised_at

# The run conf keys a manual trigger may set (the DAG's params); any other key fails the run
# (check_run_conf). Defined here, next to its check, so that dags.py imports tasks and not back.
RUN_PARAMS = ("tables", "envs", "dev_fraction", "as_of", "allow_backwards")


def _terminal_fails_fast(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        _quiet_libraries()
        try:
            return fn(*args, **kwargs)
        except DataRefreshError as exc:
            if exc.transient:
                raise
            from airflow.sdk.exceptions import AirflowFailException

            raise AirflowFailException(f"{type(exc).__name__}: {exc}") from exc
        except Exception as exc:  # noqa: BLE001 - library messages quote cells; task logs must not
            if type(exc).__module__.startswith("airflow"):  # Airflow's own control flow (skip, fail...)
                raise
            # retried like any task failure, but the message (and its chain) stays out of the log
            raise RuntimeError(
                f"unexpected {type(exc).__name__} in {raised_at(exc)} (message withheld: it may "
                "quote a data value; reproduce with `datarefresh --debug refresh ...`)"
            ) from None

    return wrapper


def _quiet_libraries() -> None:
    """Great Expectations logs hundreds of "Skipping registering function" lines at INFO on import."""
    import logging

    logging.getLogger("great_expectations").setLevel(logging.WARNING)


def _setup():
    from datarefresh.airflow import variables
    from datarefresh.airflow.connections import AirflowAws
    from datarefresh.config import resolve_config

    variables.install()  # the key may come from an Airflow Variable (secret.airflow_variable)
    return resolve_config(), AirflowAws()


def _log(msg: str) -> None:
    import logging

    logging.getLogger("datarefresh").info(msg)


def run_as_of(context) -> dt.datetime:
    """The snapshot's as-of: the as_of param, else the run's data interval end; a manual run
    without a logical date has neither, so it is the moment the run was triggered for."""
    from datarefresh.refresh.plan import parse_as_of

    if context["params"].get("as_of"):
        return parse_as_of(context["params"]["as_of"])
    when = context.get("data_interval_end") or context.get("logical_date")
    if when is None:
        when = context["dag_run"].run_after
    return dt.datetime.fromisoformat(str(when)).astimezone(dt.timezone.utc)


def check_run_conf(conf: dict | None, valid: list[str]) -> None:
    """A typo in a manual run's conf (`table` for `tables`) must not silently run a full refresh:
    unknown keys fail the run before any work, naming the valid ones."""
    unknown = sorted(set(conf or {}) - set(valid))
    if unknown:
        from datarefresh.errors import ConfigError

        raise ConfigError(
            f"unknown run conf key(s) {', '.join(map(repr, unknown))}; "
            f"valid keys: {', '.join(sorted(valid))}",
            key="dag_run.conf",
        )


@_terminal_fails_fast
def plan(**context) -> dict:
    from datarefresh.refresh.plan import plan_run

    # the DAG's declared params, not context["params"]: Airflow merges every conf key into those
    check_run_conf(getattr(context.get("dag_run"), "conf", None), list(RUN_PARAMS))
    config, aws = _setup()
    p = context["params"]
    run = plan_run(
        config,
        aws,
        envs=tuple(p["envs"]),
        tables=tuple(p["tables"] or ()) or None,
        as_of=run_as_of(context),
        allow_backwards=bool(p["allow_backwards"]),
        dev_fraction=p.get("dev_fraction"),
        progress=_log,
    )
    return run.model_dump(mode="json")


def units_of_level(plan: dict, level: int) -> list[dict]:
    from datarefresh.refresh.plan import RunPlan

    run = RunPlan.model_validate(plan)
    per_table = {t: sum(1 for u in run.units if u.table == t) for t in {u.table for u in run.units}}
    return [
        {
            "table": u.table,
            "index": u.index,
            "label": unit_label(u.table, u.index, per_table[u.table], u.objects[0].key if u.objects else ""),
        }
        for u in run.units_at(level)
    ]


def unit_label(table: str, index: int, units_of_table: int, first_key: str) -> str:
    """What the grid shows for a mapped task (map_index_template): the table, its partition folders
    (`dt=2026-11-01`) and, for a table cut into several units, which one."""
    partition = "/".join(p for p in first_key.split("/")[:-1] if "=" in p)
    label = table + (f" {partition}" if partition else "")
    return label + (
        f" (part {index + 1} of {units_of_table})" if units_of_table > 1 and not partition else ""
    )


@_terminal_fails_fast
def process(plan: dict, unit: dict) -> dict:
    from datarefresh.refresh.plan import RunPlan
    from datarefresh.refresh.unit import process_unit

    config, aws = _setup()
    result = process_unit(
        config, aws, RunPlan.model_validate(plan), unit["table"], unit["index"], progress=_log
    )
    return result.model_dump(mode="json")


@_terminal_fails_fast
def publish(plan: dict, results: list) -> dict:
    from datarefresh.errors import TerminalError
    from datarefresh.refresh.plan import RunPlan, UnitResult
    from datarefresh.refresh.publish import publish_run

    if plan is None:  # publish waits for everything (all_done), so it also runs when plan failed
        raise TerminalError("the plan task did not finish: nothing was written, nothing to publish")
    config, aws = _setup()
    flat = [UnitResult.model_validate(r) for level in results if level for r in level]
    report = publish_run(config, aws, RunPlan.model_validate(plan), flat, progress=_log)
    failed = [e for e, r in report["environments"].items() if not r["validation"]["passed"]]
    if failed:
        raise TerminalError(
            "validation failed for "
            + ", ".join(f"{e}: {report['environments'][e]['reason']}" for e in failed)
        )
    return report
