"""Nested columns are never keys, and what a config names must be in the data: a list or struct
column named `id`, a nested configured key, a quasi-identifier that is not a column."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from datarefresh.config import ColumnPolicy, Config, TableConfig
from datarefresh.errors import ConfigError, PolicyError
from datarefresh.refresh.local import discover_local, sanitize_folder
from datarefresh.refresh.table import plan_tables

N = 60
NESTED = {
    "list": pa.array([[i, i + 1] for i in range(N)]),
    "struct": pa.array([{"a": i, "b": f"x{i}"} for i in range(N)]),
    "map": pa.array([[(i, "v")] for i in range(N)], pa.map_(pa.int64(), pa.string())),
}


def _folder(tmp_path, nested: pa.Array):
    src = tmp_path / "src"
    for name, cols in {
        "things": {"id": nested, "title": [f"widget {i % 5}" for i in range(N)]},
        "other": {"id": list(range(N)), "thing_id": list(range(N))},
    }.items():
        (src / name).mkdir(parents=True)
        pq.write_table(pa.table(cols), src / name / "part-0.parquet")
    return src


@pytest.mark.parametrize("kind", sorted(NESTED))
def test_a_nested_id_column_is_never_a_key_candidate_and_does_not_crash_plan(tmp_path, kind):
    """Today: ArrowNotImplementedError in keys.ColumnProfile.add when the configured key of one table is a
    list/struct column and another table is classified (its key profiled for foreign keys)."""
    src = _folder(tmp_path, NESTED[kind])
    config = Config(
        tables={
            "things": TableConfig(
                primary_key="id",
                columns={"id": ColumnPolicy(action="keep"), "title": ColumnPolicy(action="keep")},
            ),
            "other": TableConfig(unknown_columns="classify"),
        }
    )
    planned = plan_tables(discover_local(src, config), config, use_presidio=False)
    assert planned["other"].primary_key == "id"
    assert all(fk.parent_table != "things" for fk in planned["other"].foreign_keys)
    zero = plan_tables(discover_local(src), None, use_presidio=False)  # zero-config: never the key
    assert zero["things"].primary_key is None
    with pytest.raises(PolicyError, match="table things, column id: .* cannot be the primary key"):
        sanitize_folder(
            src, tmp_path / "out", keyring=_key(), config=config, envs=("dev",), use_presidio=False
        )


def _key():
    from datarefresh.anonymize.keyed import Keyring

    return Keyring(b"nested-key-test-0123456789abcdef0123")


def test_a_quasi_identifier_missing_from_the_data_is_a_config_error_naming_table_and_column(tmp_path):
    """Today `_dev_generalizer` drops it silently and the dev sample is published unprotected on it."""
    src = tmp_path / "src" / "people"
    src.mkdir(parents=True)
    pq.write_table(
        pa.table({"id": list(range(N)), "zip": [f"{10000 + i % 7}" for i in range(N)]}),
        src / "part-0.parquet",
    )
    config = Config(
        tables={"people": TableConfig(unknown_columns="classify", quasi_identifiers=["zip", "zipcode"])}
    )
    with pytest.raises(ConfigError, match="table people, column zipcode: quasi-identifier is not a column"):
        sanitize_folder(
            tmp_path / "src",
            tmp_path / "out",
            keyring=_key(),
            config=config,
            envs=("dev",),
            use_presidio=False,
        )
