"""Keys discovered from values: primary keys by uniqueness, foreign keys by inclusion."""

import uuid

import numpy as np
import pyarrow as pa

from datarefresh.anonymize.engine import apply_column
from datarefresh.anonymize.keyed import Keyring
from datarefresh.anonymize.operators import OpContext
from datarefresh.detect import keys
from datarefresh.detect.classify import classify_table


def _plan(tables: dict[str, pa.Table]):
    planned = {n: classify_table(n, t, use_presidio=False, find_keys=False) for n, t in tables.items()}
    profiles = {n: keys.profile_table(t, planned[n].columns) for n, t in tables.items()}
    keys.discover_keys(planned, profiles, {n: t.schema for n, t in tables.items()}, classified=set(tables))
    return planned


def _fks(planned):
    return {(t, fk.column, fk.references) for t, c in planned.items() for fk in c.foreign_keys}


def test_uuid_and_run_together_foreign_keys_are_found_from_values_and_share_the_parent_entity():
    rng = np.random.default_rng(0)
    pats = [str(uuid.UUID(bytes=rng.bytes(16))) for _ in range(300)]
    enc = [str(uuid.UUID(bytes=rng.bytes(16))) for _ in range(900)]
    tables = {
        "patients": pa.table({"Id": pats, "GENDER": rng.choice(["M", "F"], 300)}),
        "encounters": pa.table(
            {
                "Id": enc,
                "PATIENT": [pats[i] for i in rng.integers(0, 300, 900)],
                "CODE": rng.choice([185349003, 162673000], 900),
            }
        ),
        "claims": pa.table(
            {
                "Id": [str(uuid.uuid4()) for _ in range(900)],
                "PATIENTID": [pats[i] for i in rng.integers(0, 300, 900)],
                "APPOINTMENTID": enc,
                "DEPARTMENTID": rng.integers(1, 20, 900),
            }
        ),
    }
    planned = _plan(tables)
    assert {t: c.primary_key for t, c in planned.items()} == {
        "patients": "Id",
        "encounters": "Id",
        "claims": "Id",
    }
    assert _fks(planned) == {
        ("encounters", "PATIENT", "patients.Id"),
        ("claims", "PATIENTID", "patients.Id"),
        ("claims", "APPOINTMENTID", "encounters.Id"),
    }
    fk = next(f for f in planned["claims"].foreign_keys if f.column == "APPOINTMENTID")
    assert fk.evidence.match_share == 1.0 and fk.evidence.values_sampled == 900 and fk.evidence.score == 0.0
    assert planned["claims"].foreign_keys[0].evidence.detector.startswith("values:inclusion")
    parent = planned["patients"].columns["Id"]
    for t, c in (("encounters", "PATIENT"), ("claims", "PATIENTID")):
        assert (planned[t].columns[c].action, planned[t].columns[c].entity) == ("hmac", parent.entity)


def test_small_integers_inside_a_dense_id_range_are_not_foreign_keys():
    rng = np.random.default_rng(1)
    n = 1500
    tables = {
        "customers": pa.table(
            {
                "col_1": np.arange(1, 1001),
                "col_5": rng.integers(100, 999, 1000),
                "age": rng.integers(18, 90, 1000),
                "flag": rng.integers(0, 2, 1000),
            }
        ),
        "orders": pa.table(
            {
                "col_1": np.arange(1, n + 1),
                "col_2": rng.integers(1, 1001, n),
                "quantity": rng.integers(1, 6, n),
            }
        ),
    }
    planned = _plan(tables)
    # col_2 references most of customers' range: found without any name; CVVs, ages, flags and
    # quantities fit inside 1..N by chance and are not; nor is one table's col_1 in the other's.
    assert _fks(planned) == {("orders", "col_2", "customers.col_1")}


def test_tiny_lookup_keys_need_a_name_and_get_one_from_the_column():
    rng = np.random.default_rng(2)
    tables = {
        "departments": pa.table({"DeptID": np.arange(1, 9), "DeptName": [f"d{i}" for i in range(8)]}),
        "employees": pa.table(
            {
                "EmpID": np.arange(10001, 10201),
                "DeptID": rng.integers(1, 9, 200),
                "PerfScoreID": rng.integers(1, 5, 200),
            }
        ),
    }
    assert _fks(_plan(tables)) == {("employees", "DeptID", "departments.DeptID")}


def test_text_key_keeps_only_a_prefix_constant_across_the_column():
    keyring = Keyring(b"k" * 32)
    # values shaped like given_surname: the given name is data, not a type prefix
    people = pa.table(
        {"customer_key": ["maria_lopez", "john_smith", "ana_perez", "li_wei"], "x": [1, 2, 3, 4]}
    )
    stripe = pa.table({"id": [f"cus_{i:08d}" for i in range(50)], "x": list(range(50))})
    planned = _plan({"people": people, "customers": stripe})
    assert planned["people"].primary_key == "customer_key"
    pol = planned["people"].columns["customer_key"]
    assert "prefix" not in pol.params
    out = apply_column(people.column("customer_key").combine_chunks(), pol, OpContext(keyring)).to_pylist()
    assert not any(o.startswith(("maria", "john", "ana", "li")) for o in out)
    cus = planned["customers"].columns["id"]
    assert cus.params["prefix"] == "cus_"
    assert all(
        o.startswith("cus_")
        for o in apply_column(stripe.column("id").combine_chunks(), cus, OpContext(keyring)).to_pylist()
    )


def test_the_sketch_stays_bounded_however_long_the_column():
    prof = keys.ColumnProfile("int")
    for start in range(0, 200_000, 50_000):
        prof.add(pa.array(np.arange(start, start + 50_000)))
    assert len(prof.hashes) == keys.SKETCH_SIZE and prof.unique
    assert abs(prof.distinct - 200_000) / 200_000 < 0.1
    prof.add(pa.array(np.arange(0, 50_000)))  # every value again
    assert not prof.unique


def test_plan_lists_discovered_keys_with_their_evidence_and_the_policy_carries_it(tmp_path, cli):
    import pyarrow.parquet as pq

    from datarefresh.config import load_config

    rng = np.random.default_rng(3)
    pats = [str(uuid.UUID(bytes=rng.bytes(16))) for _ in range(200)]
    for name, table in {
        "patients": pa.table({"Id": pats, "GENDER": rng.choice(["M", "F"], 200)}),
        "visits": pa.table(
            {"visit_no": np.arange(1, 601) * 7919, "WHO": [pats[i] for i in rng.integers(0, 200, 600)]}
        ),
    }.items():
        (tmp_path / "src" / name).mkdir(parents=True)
        pq.write_table(table, tmp_path / "src" / name / "part-0.parquet")
    result = cli("plan", tmp_path / "src", "--out", tmp_path / "plan.yaml")
    assert result.exit_code == 0, result.output
    who = len(set(pq.read_table(tmp_path / "src" / "visits").column("WHO").to_pylist()))
    assert f"foreign key visits.WHO -> patients.Id: 100.0% of {who} sampled values found" in result.output
    cfg = load_config(tmp_path / "plan.yaml")
    (fk,) = cfg.tables["visits"].foreign_keys
    assert (fk.column, fk.references, fk.evidence.match_share, fk.evidence.values_sampled) == (
        "WHO",
        "patients.Id",
        1.0,
        who,
    )
    assert cfg.tables["patients"].primary_key_evidence.detector == "values:unique"
    assert cfg.tables["visits"].columns["WHO"].entity == cfg.tables["patients"].columns["Id"].entity
    assert not any(p in (tmp_path / "plan.yaml").read_text() for p in pats)
