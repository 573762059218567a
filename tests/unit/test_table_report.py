"""A table's units sum up into one typed TableReport (refresh.publish._aggregate): the gates read it,
and its summary is the table's entry in report.json (the HTML page is rendered from that)."""

import json

from datarefresh.config import ColumnPolicy, TableConfig
from datarefresh.report import render_html
from datarefresh.refresh.plan import UnitResult
from datarefresh.refresh.publish import _aggregate
from datarefresh.validate.checks import check_env
from datarefresh.validate.table_report import EnvOutput, TableReport
from tests.unit.test_run_levels import make_plan

K = {
    "quasi_identifiers": ["zip"],
    "k": 2,
    "rows": 4,
    "smallest_group": 2,
    "smallest_group_after": 2,
    "passed": True,
}


def _unit(index, rows_in, dev, staging, leaks):
    return UnitResult(
        table="orders",
        index=index,
        rows_in=rows_in,
        seconds={"read": 0.25, "anonymize": 1.0},
        text_entities={"PERSON": index + 1},
        prod_nulls={"id": 0, "note": index},
        blanks={"note": [1, 1]},
        leaks=leaks,
        k_anonymity=dict(K, rows=rows_in),
        envs={
            "dev": EnvOutput(
                rows=dev,
                files=[{"key": f"d{index}"}],
                columns=["id"],
                pk_nulls=0,
                k_anonymity=dict(K, rows=dev),
            ),
            "staging": EnvOutput(rows=staging, files=[{"key": f"s{index}"}], columns=["id"], pk_nulls=index),
        },
    )


def test_units_sum_into_one_table_report_that_the_gates_and_the_report_read():
    policies = {
        "orders": TableConfig(primary_key="id", columns={"id": ColumnPolicy(action="keep", type="int64")})
    }
    plan = make_plan(
        policies=policies,
        source_columns={"orders": ["id"]},
        levels={"orders": 0},
        partitions={"orders": []},
        prefixes={"orders": "p/orders/"},
        units=[],
    )
    leaks = {"findings": [{"column": "id"}], "scanned": 2, "originals": 10, "text_rescan": []}
    results = [_unit(1, 6, 2, 6, None), _unit(0, 4, 1, 4, leaks)]  # in any order
    tables = _aggregate(results, plan)
    t = tables["orders"]
    assert isinstance(t, TableReport) and t.rows_in == 10 and t.rows_out == {"dev": 3, "staging": 10}
    assert t.envs["staging"].files == [{"key": "s0"}, {"key": "s1"}] and t.envs["staging"].pk_nulls == 1
    assert t.blanks == {"note": [2, 2]} and t.prod_nulls == {"id": 0, "note": 1}
    assert t.leaks["originals"] == 10 and t.k_anonymity["rows"] == 10
    assert t.envs["dev"].k_anonymity["rows"] == 3  # the sample's own figures
    assert t.expected_columns == ["id"]
    checks = {c.check: c for c in check_env("staging", tables, policies, lambda *_: None, sampled=False)}
    assert checks["row_count_equals_prod"].ok and not checks["primary_key_not_null"].ok
    entry = json.loads(json.dumps(t.summary().model_dump()))  # what report.json holds
    assert entry == {
        "rows_in": 10,
        "rows_out": {"dev": 3, "staging": 10},
        "seconds": {"read": 0.5, "anonymize": 2.0},
        "text_entities": {"PERSON": 3},
        "leaks": t.leaks,
        "k_anonymity": t.k_anonymity,
        "columns": {"id": {"action": "keep", "entity": None}},
    }
    page = render_html({"snapshot_id": "s", "as_of": "a", "environments": {}, "tables": {"orders": entry}})
    assert "<td>orders</td><td>10</td>" in page and "1 finding" in page
