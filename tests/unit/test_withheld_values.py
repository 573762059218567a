"""No value from the data survives in a Great Expectations result, whatever the expectation's
domain: only counts, and the observed row/column count or column names of table expectations."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from datarefresh.validate.expectations import WITHHELD, _withhold_values

PLANTED = "qzx-planted-4711@example.org"


def _result(kind: str, kwargs: dict, result: dict):
    return SimpleNamespace(expectation_config=SimpleNamespace(type=kind, kwargs=kwargs), result=result)


@pytest.mark.parametrize(
    "kind, kwargs, result",
    [
        # table-level (no `column`): a query's rows, a column pair's or a column list's observations
        (
            "unexpected_rows_expectation",
            {"unexpected_rows_query": "SELECT * FROM {batch}"},
            {"observed_value": 1, "details": {"unexpected_rows": [{"email": PLANTED}]}},
        ),
        ("expect_query_results_to_match_comparison", {}, {"observed_value": [[PLANTED, 1]]}),
        (
            "expect_column_pair_values_to_be_equal",
            {"column_A": "a", "column_B": "b"},
            {
                "observed_value": PLANTED,
                "element_count": 3,
                "unexpected_count": 1,
                "unexpected_percent": 33.3,
                "unexpected_list": [[PLANTED, "x"]],
                "partial_unexpected_list": [[PLANTED, "x"]],
            },
        ),
        (
            "expect_select_column_values_to_be_unique_within_record",
            {"column_list": ["a", "b"]},
            {
                "partial_unexpected_counts": [{"value": PLANTED, "count": 1}],
                "unexpected_index_list": [{"a": PLANTED}],
            },
        ),
        (
            "expect_table_row_count_to_be_between",
            {"min_value": 1},
            {"observed_value": PLANTED},
        ),  # not a count
        (
            "expect_table_columns_to_match_set",
            {"column_set": ["a"]},
            {"observed_value": ["a", "b"], "details": {"mismatched": {"unexpected": [PLANTED]}}},
        ),
        # column-level
        (
            "expect_column_most_common_value_to_be_in_set",
            {"column": "a", "value_set": ["x"]},
            {"observed_value": [PLANTED]},
        ),
        (
            "expect_column_values_to_be_in_set",
            {"column": "a", "value_set": ["x"]},
            {
                "element_count": 3,
                "unexpected_count": 1,
                "unexpected_percent": 33.3,
                "partial_unexpected_list": [PLANTED],
                "partial_unexpected_counts": [{"value": PLANTED, "count": 1}],
            },
        ),
    ],
)
def test_no_value_survives(kind, kwargs, result):
    r = _result(kind, kwargs, result)
    _withhold_values(r)
    assert PLANTED not in json.dumps(r.result)
    assert {k: v for k, v in r.result.items() if k in ("element_count", "unexpected_count")} == {
        k: v for k, v in result.items() if k in ("element_count", "unexpected_count")
    }


def test_counts_and_column_names_stay():
    count = _result("expect_table_row_count_to_equal", {"value": 5}, {"observed_value": 3})
    columns = _result(
        "expect_table_columns_to_match_ordered_list",
        {"column_list": ["a", "b"]},
        {"observed_value": ["a", "b"], "details": {"mismatched": []}},
    )
    pair = _result(
        "expect_column_pair_values_to_be_equal", {"column_A": "a", "column_B": "b"}, {"observed_value": 3}
    )
    for r in (count, columns, pair):
        _withhold_values(r)
    assert count.result == {"observed_value": 3}
    assert columns.result == {"observed_value": ["a", "b"]}
    assert pair.result == {"observed_value": WITHHELD}  # a column pair's observation is never kept
