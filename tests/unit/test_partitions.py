"""Hive-style partitions: `events/dt=2026-11-29/part-0.parquet` is read with a typed `dt`
column (as pyarrow's partitioning discovery types it), listed in `plan` with a policy like any
column, and written back in the same `dt=.../` layout."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
import yaml

from datarefresh.config import parse_config, policy_to_yaml
from datarefresh.errors import InputError
from datarefresh.io.tables import list_local_table
from datarefresh.refresh.local import discover_local, sanitize_folder
from datarefresh.refresh.table import plan_tables


def _events(root: Path, fmt: str = "parquet") -> Path:
    for day, hour, ids in (("2026-11-29", 1, [1, 2]), ("2026-11-29", 23, [3]), ("2026-11-30", 1, [4, 5, 6])):
        folder = root / "events" / f"dt={day}" / f"hour={hour}"
        folder.mkdir(parents=True)
        t = pa.table(
            {"event_id": ids, "email": [f"user{i}@corp.com" for i in ids], "kind": ["click"] * len(ids)}
        )
        if fmt == "parquet":
            pq.write_table(t, folder / "part-0.parquet")
        else:
            (folder / "part-0.csv").write_text(
                "event_id;email;kind\n"
                + "".join(f"{r['event_id']};{r['email']};{r['kind']}\n" for r in t.to_pylist())
            )
    return root


def test_partition_folders_are_typed_columns_like_pyarrow_discovers_them(tmp_path):
    root = _events(tmp_path)
    src = discover_local(root)["events"]
    schema = src.first_schema()
    expected = ds.dataset(root / "events", partitioning="hive").schema
    assert schema == expected  # event_id, email, kind, dt: string, hour: int32
    t = src.sample()
    assert t.column("dt").to_pylist() == ["2026-11-29"] * 3 + ["2026-11-30"] * 3  # before: dt disappeared
    assert t.column("hour").to_pylist() == [1, 1, 23, 1, 1, 1]


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_plan_lists_partition_columns_and_the_output_keeps_the_layout(tmp_path, keyring, fmt):
    root = _events(tmp_path / "src", fmt)
    planned = plan_tables(discover_local(root), use_presidio=False)
    assert {"dt", "hour"} <= set(planned["events"].columns)  # with a policy, like any column
    doc = yaml.safe_load(policy_to_yaml(planned))
    assert doc["tables"]["events"]["columns"]["dt"]["action"]
    policy = parse_config(doc)
    sanitize_folder(root, tmp_path / "out", keyring=keyring, config=policy, use_presidio=False)
    out = tmp_path / "out" / "events"
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.parquet"))
    assert [f.rsplit("/", 1)[0] for f in files] == [
        "dt=2026-11-29/hour=1",
        "dt=2026-11-29/hour=23",
        "dt=2026-11-30/hour=1",
    ]  # before: flattened part-00000
    assert "dt" not in pq.read_schema(out / files[0]).names  # in the path only, as hive readers expect
    back = ds.dataset(out, partitioning="hive").to_table()
    assert back.num_rows == 6 and sorted(back.column("dt").to_pylist()).count("2026-11-30") == 3
    assert not any("corp.com" in e for e in back.column("email").to_pylist())


def test_a_partition_column_policy_applies_to_the_folder_values(tmp_path, keyring):
    root = _events(tmp_path / "src")
    cfg = parse_config(
        {
            "tables": {
                "events": {
                    "columns": {
                        "event_id": {"action": "keep"},
                        "email": {"action": "fake", "entity": "EMAIL_ADDRESS"},
                        "kind": {"action": "keep"},
                        "dt": {"action": "keep", "type": "string"},
                        "hour": {"action": "null", "type": "int32"},
                    }
                }
            }
        }
    )
    sanitize_folder(root, tmp_path / "out", keyring=keyring, config=cfg, use_presidio=False)
    out = tmp_path / "out" / "events"
    assert sorted(p.parent.relative_to(out).as_posix() for p in out.rglob("*.parquet")) == [
        "dt=2026-11-29/hour=__HIVE_DEFAULT_PARTITION__",
        "dt=2026-11-30/hour=__HIVE_DEFAULT_PARTITION__",
    ]


def test_a_configured_table_must_name_its_partition_columns(tmp_path, keyring):
    from datarefresh.errors import PolicyError

    root = _events(tmp_path / "src")
    cfg = parse_config(
        {
            "tables": {
                "events": {
                    "columns": {
                        "event_id": {"action": "keep"},
                        "email": {"action": "fake", "entity": "EMAIL_ADDRESS"},
                        "kind": {"action": "keep"},
                    }
                }
            }
        }
    )
    with pytest.raises(PolicyError, match="column dt"):
        sanitize_folder(root, tmp_path / "out", keyring=keyring, config=cfg, use_presidio=False)


def test_files_under_different_partition_levels_are_an_error_naming_the_table(tmp_path):
    root = _events(tmp_path)
    (root / "events" / "dt=2026-12-01").mkdir()
    pq.write_table(pa.table({"event_id": [9]}), root / "events" / "dt=2026-12-01" / "stray.parquet")
    with pytest.raises(InputError, match=r"events.*different partition folders \(dt vs dt/hour\)"):
        list_local_table(root / "events")


def test_a_column_both_in_the_file_and_in_its_folder_is_an_error(tmp_path):
    folder = tmp_path / "t" / "dt=2026-11-29"
    folder.mkdir(parents=True)
    pq.write_table(pa.table({"dt": ["2026-11-28"], "a": [1]}), folder / "p.parquet")
    with pytest.raises(
        InputError, match=r"p\.parquet.*column dt is both in the file and in its partition folder"
    ):
        discover_local(tmp_path)["t"].first_schema()


def test_null_and_encoded_partition_values(tmp_path):
    for seg in ("city=__HIVE_DEFAULT_PARTITION__", "city=S%C3%A3o%20Paulo"):
        (tmp_path / "t" / seg).mkdir(parents=True)
        pq.write_table(pa.table({"a": [1]}), tmp_path / "t" / seg / "p.parquet")
    t = discover_local(tmp_path)["t"].sample()
    assert sorted(t.column("city").to_pylist(), key=str) == [None, "São Paulo"]
