"""Columns under names that say nothing are decided from their values for every type, not kept
because of their type: dates of birth vs event dates, latitude/longitude pairs, binary, booleans.
Every decision carries its evidence."""

from __future__ import annotations

import datetime as dt
import random

import pyarrow as pa
import pyarrow.parquet as pq

from datarefresh.detect.classify import classify_table
from datarefresh.refresh.local import discover_local, sanitize_folder
from datarefresh.refresh.table import plan_tables

N = 400


def _opaque_table(seed: int = 5) -> pa.Table:
    rng = random.Random(seed)
    dob = [dt.date(1920, 1, 1) + dt.timedelta(days=rng.randint(0, 90 * 365)) for _ in range(N)]
    return pa.table(
        {
            "col_1": list(range(1, N + 1)),
            "col_7": pa.array(dob, pa.date32()),  # dates of birth
            "col_8": pa.array(
                [dt.datetime(d.year, d.month, d.day) for d in dob], pa.timestamp("us", tz="UTC")
            ),
            "col_9": pa.array(
                [dt.datetime(2024, 1, 1) + dt.timedelta(minutes=rng.randint(0, 500_000)) for _ in range(N)],
                pa.timestamp("us"),
            ),  # logins: timed, one year
            "col_10": pa.array(
                [dt.date(2023, 1, 1) + dt.timedelta(days=rng.randint(0, 700)) for _ in range(N)], pa.date32()
            ),  # order dates: narrow, recent
            "col_11": [round(rng.uniform(25, 49), 6) for _ in range(N)],  # latitude
            "col_12": [round(rng.uniform(-124, -67), 6) for _ in range(N)],  # longitude
            "col_13": [round(rng.uniform(0, 500), 2) for _ in range(N)],  # an amount
            "col_14": [rng.random() < 0.5 for _ in range(N)],
            "col_15": [rng.randbytes(8) for _ in range(N)],
        }
    )


def test_opaque_dates_floats_booleans_and_binary_are_decided_from_values_with_evidence():
    """Today every one of these is kept with evidence 'type', dates of birth and coordinates to 1 m too."""
    cols = classify_table("people", _opaque_table(), use_presidio=False).columns
    for c in ("col_7", "col_8"):
        assert (cols[c].action, cols[c].entity, cols[c].params) == (
            "generalize",
            "DATE_OF_BIRTH",
            {"to": "year"},
        ), c
        assert "dates of birth" in cols[c].evidence.detail
    for c in ("col_9", "col_10"):
        assert cols[c].action == "keep" and cols[c].evidence.detector == "values:event_dates", c
        assert "event dates" in cols[c].evidence.detail
    for c in ("col_11", "col_12"):
        assert (cols[c].action, cols[c].entity) == ("generalize", "GEO_COORDINATE"), c
        assert cols[c].params == {"to": "round", "digits": 1}
    assert cols["col_13"].action == "keep" and cols["col_13"].evidence.detail  # 2 decimals, up to 500
    assert cols["col_14"].action == "keep" and cols["col_14"].evidence.detector == "type:boolean"
    assert cols["col_15"].action == "redact" and "cannot be scanned" in cols["col_15"].evidence.detail
    for c, p in cols.items():
        assert p.evidence is not None and p.evidence.detector != "type", c


def test_one_float_column_in_coordinate_range_alone_is_not_a_coordinate():
    rng = random.Random(1)
    t = pa.table(
        {
            "col_1": [round(rng.uniform(10, 80), 5) for _ in range(N)],
            "col_2": [round(rng.uniform(0, 1), 6) for _ in range(N)],  # a probability: not a longitude
            "col_3": [rng.randint(0, 99) for _ in range(N)],
        }
    )
    cols = classify_table("scores", t, use_presidio=False).columns
    assert [cols[c].action for c in ("col_1", "col_2", "col_3")] == ["keep", "keep", "keep"]


def test_dates_of_few_values_or_with_times_of_day_are_kept_and_say_why():
    rng = random.Random(2)
    births_at_noon = [
        dt.datetime(1930, 1, 1, 12, rng.randint(0, 59)) + dt.timedelta(days=rng.randint(0, 80 * 365))
        for _ in range(N)
    ]
    few = [dt.date(1950 + i % 5 * 10, 1, 1) for i in range(N)]
    t = pa.table({"col_1": pa.array(births_at_noon, pa.timestamp("s")), "col_2": pa.array(few, pa.date32())})
    cols = classify_table("t", t, use_presidio=False).columns
    assert cols["col_1"].action == "keep" and "100% with a time of day" in cols["col_1"].evidence.detail
    assert cols["col_2"].action == "keep" and "too few" in cols["col_2"].evidence.detail


def test_plan_then_sanitize_generalizes_opaque_birth_dates_and_rounds_coordinates(tmp_path, keyring):
    src = tmp_path / "src" / "people"
    src.mkdir(parents=True)
    table = _opaque_table()
    pq.write_table(table, src / "part-0.parquet")
    plan = plan_tables(discover_local(tmp_path / "src"), None, use_presidio=False)["people"]
    assert plan.columns["col_7"].action == "generalize"
    sanitize_folder(tmp_path / "src", tmp_path / "out", keyring=keyring, use_presidio=False)
    out = pq.read_table(tmp_path / "out" / "people")
    assert {d.month for d in out.column("col_7").to_pylist()} == {1}  # the year only
    assert {(d.month, d.day) for d in out.column("col_8").to_pylist()} == {(1, 1)}
    assert all(round(v, 1) == v for v in out.column("col_11").to_pylist())
    assert set(out.column("col_15").to_pylist()) == {None}
    assert sorted(out.column("col_10").to_pylist()) == sorted(table.column("col_10").to_pylist())  # kept


def test_rounding_a_coordinate_column_holding_a_huge_float_does_not_overflow(keyring):
    """Found by the plan property test: Arrow's round overflows scaling 1.8e307 by 10."""
    from datarefresh.anonymize.engine import TableTransformer

    t = pa.table({"LAT": pa.array([1.797693134862316e307, 42.36789, None])})
    cfg = classify_table("t", t, use_presidio=False)
    assert cfg.columns["LAT"].params == {"to": "round", "digits": 1}
    out = TableTransformer("t", cfg, t.schema, keyring).transform(t.to_batches()[0])
    assert out.column("LAT").to_pylist() == [1.797693134862316e307, 42.4, None]
