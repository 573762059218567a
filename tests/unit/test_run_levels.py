"""The run is typed (refresh.plan.RunPlan, WorkUnit, UnitResult) and crosses Airflow's XCom as JSON; units
are grouped by level in one place (RunPlan.units_at), for `refresh` and the DAG alike."""

import json

import pytest
from pydantic import ValidationError

from datarefresh.airflow.tasks import units_of_level
from datarefresh.config import SamplingConfig, TableConfig
from datarefresh.refresh.plan import RunPlan, UnitResult
from datarefresh.refresh.run import run_levels
from datarefresh.validate.table_report import EnvOutput

LEVELS = {"customers": 0, "orders": 1, "order_items": 2, "products": 0}


def make_plan(**over) -> RunPlan:
    obj = {
        "key": "p/customers/part-0.parquet",
        "version_id": "v1",
        "etag": "e",
        "size": 10,
        "last_modified": "2026-11-30T00:00:00+00:00",
    }
    fields = dict(
        snapshot_id="20261130T000000Z-abc",
        as_of="2026-11-30T00:00:00+00:00",
        envs=["dev", "staging"],
        versioned_source=True,
        allow_backwards=False,
        allow_demo_key=False,
        sampling={"dev": SamplingConfig(mode="sample", fraction=0.1), "staging": SamplingConfig()},
        key_fingerprint="00ff00ff",
        policies={t: TableConfig() for t in LEVELS},
        source_columns={t: ["id"] for t in LEVELS},
        prefixes={t: f"p/{t}/" for t in LEVELS},
        partitions={t: [] for t in LEVELS},
        levels=LEVELS,
        units=[
            {"table": t, "index": i, "objects": [obj]}
            for t, n in (("customers", 2), ("products", 1), ("orders", 2), ("order_items", 1))
            for i in range(n)
        ],
    )
    return RunPlan(**(fields | over))


def test_refresh_and_the_dag_run_the_same_units_per_level():
    plan = make_plan()
    levels = run_levels(plan)
    assert [[(u.table, u.index) for u in lv] for lv in levels] == [
        [("customers", 0), ("customers", 1), ("products", 0)],
        [("orders", 0), ("orders", 1)],
        [("order_items", 0)],
    ]
    xcom = json.loads(json.dumps(plan.model_dump(mode="json")))  # what the plan task returns
    for lv, units in enumerate(levels):
        mapped = units_of_level(xcom, lv)
        assert [{"table": m["table"], "index": m["index"]} for m in mapped] == [
            {"table": u.table, "index": u.index} for u in units
        ]
        assert all(m["label"].startswith(m["table"]) for m in mapped)  # the name shown for a mapped task


def test_plan_and_results_survive_the_xcom_round_trip():
    plan = make_plan(partitions={t: [("dt", "string")] for t in LEVELS})
    assert RunPlan.model_validate(json.loads(json.dumps(plan.model_dump(mode="json")))) == plan
    result = UnitResult(
        table="orders",
        index=1,
        rows_in=5,
        seconds={"read": 0.1},
        text_entities={},
        prod_nulls={"id": 0},
        blanks={},
        leaks=None,
        k_anonymity=None,
        envs={"dev": EnvOutput(rows=1, files=[{"key": "k"}], columns=["id"], pk_nulls=0)},
    )
    assert UnitResult.model_validate(json.loads(json.dumps(result.model_dump(mode="json")))) == result


def test_a_malformed_plan_is_refused_at_the_boundary():
    bad = make_plan().model_dump(mode="json")
    bad["units"][0].pop("objects")
    with pytest.raises(ValidationError, match="units.0.objects"):
        RunPlan.model_validate(bad)
