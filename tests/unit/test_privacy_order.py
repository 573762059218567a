"""Row order carries nothing: prod sorted by key, sanitized; a row's output position must not
predict its prod key (Spearman rank correlation ~ 0), in staging and dev, child FKs included."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from datarefresh.anonymize.keyed import permute_ints
from datarefresh.config import parse_config
from datarefresh.io.tables import PartWriter
from datarefresh.refresh.local import sanitize_folder

N = 4000


def _spearman(a, b) -> float:
    ra = np.argsort(np.argsort(np.asarray(a), kind="stable"), kind="stable")
    rb = np.argsort(np.argsort(np.asarray(b), kind="stable"), kind="stable")
    return float(np.corrcoef(ra, rb)[0, 1])


def _prod(root):
    ids = np.arange(1, N + 1)
    (root / "people").mkdir(parents=True)
    (root / "orders").mkdir()
    pq.write_table(
        pa.table({"person_id": ids, "email": [f"p{i}@corp.example" for i in ids]}),
        root / "people" / "part-0.parquet",
    )  # exported sorted by primary key, as prod usually is
    orders = np.arange(1, 2 * N + 1)
    pq.write_table(
        pa.table({"order_id": orders, "person_id": (orders + 1) // 2}), root / "orders" / "part-0.parquet"
    )


CONFIG = {
    "environments": {
        "staging": {"bucket": "unused"},
        "dev": {"bucket": "unused", "sampling": {"mode": "sample", "fraction": 0.5}},
    },
    "tables": {
        "people": {
            "primary_key": "person_id",
            "columns": {
                "person_id": {"action": "hmac", "entity": "ID:person_id"},
                "email": {"action": "fake", "entity": "EMAIL_ADDRESS"},
            },
        },
        "orders": {
            "primary_key": "order_id",
            "foreign_keys": [{"column": "person_id", "references": "people.person_id"}],
            "columns": {
                "order_id": {"action": "hmac", "entity": "ID:order_id"},
                "person_id": {"action": "hmac", "entity": "ID:person_id"},
            },
        },
    },
}


def _originals(keyring, entity: str, pseudonyms: np.ndarray, domain: np.ndarray) -> np.ndarray:
    """What an attacker with the key could do: map pseudonyms back (the test checks positions only)."""
    back = dict(zip(permute_ints(keyring, entity, domain).tolist(), domain.tolist()))
    return np.array([back[p] for p in pseudonyms.tolist()])


def test_output_position_does_not_predict_the_prod_key(tmp_path, keyring):
    _prod(tmp_path / "prod")
    cfg = parse_config(CONFIG)
    sanitize_folder(
        tmp_path / "prod",
        tmp_path / "out",
        keyring=keyring,
        config=cfg,
        envs=("staging", "dev"),
        use_presidio=False,
    )
    people_ids, order_ids = np.arange(1, N + 1), np.arange(1, 2 * N + 1)
    for env in ("staging", "dev"):
        people = pq.read_table(tmp_path / "out" / env / "people")
        orders = pq.read_table(tmp_path / "out" / env / "orders")
        assert people.num_rows > N // 4 and orders.num_rows > N // 4
        pk = _originals(keyring, "ID:person_id", people.column("person_id").to_numpy(), people_ids)
        ok = _originals(keyring, "ID:order_id", orders.column("order_id").to_numpy(), order_ids)
        fk = _originals(keyring, "ID:person_id", orders.column("person_id").to_numpy(), people_ids)
        for what, keys in (("people.person_id", pk), ("orders.order_id", ok), ("orders.person_id (FK)", fk)):
            rho = _spearman(np.arange(len(keys)), keys)
            assert abs(rho) < 0.1, f"{env} {what}: position predicts the prod key (rho={rho:.3f})"
        # the pseudonyms themselves are in no order either (they would be if sorted by key)
        assert abs(_spearman(np.arange(people.num_rows), people.column("person_id").to_numpy())) < 0.1
    # the same bytes in every run: order is keyed, not random
    sanitize_folder(
        tmp_path / "prod",
        tmp_path / "again",
        keyring=keyring,
        config=cfg,
        envs=("staging", "dev"),
        use_presidio=False,
    )
    for env in ("staging", "dev"):
        for t in ("people", "orders"):
            assert pq.read_table(tmp_path / "again" / env / t).equals(
                pq.read_table(tmp_path / "out" / env / t)
            )


def test_bounded_buffer_spills_and_still_writes_one_global_keyed_order(tmp_path):
    schema = pa.schema([("k", pa.int64())])

    def order(batch):
        return permute_ints(_Fixed(), "ORDER", batch.column("k").to_numpy()).view(np.uint64)

    def write(folder, buffer_bytes):
        w = PartWriter(folder, schema, rows_per_part=700, order=order, buffer_bytes=buffer_bytes)
        for start in range(0, 5000, 250):
            w.write(pa.record_batch([pa.array(np.arange(start, start + 250))], schema=schema))
        return w.close(), w.rows

    spilled, rows = write(tmp_path / "spilled", buffer_bytes=4000)  # spills after two batches
    in_memory, _ = write(tmp_path / "memory", buffer_bytes=1 << 30)
    assert rows == 5000 and [p.name for p in spilled] == [p.name for p in in_memory]
    assert [pq.read_metadata(p).num_rows for p in spilled] == [700] * 7 + [100]  # cut deterministically
    got = pq.read_table(tmp_path / "spilled").column("k").to_numpy()
    assert np.array_equal(got, pq.read_table(tmp_path / "memory").column("k").to_numpy())
    h = order(pa.record_batch([pa.array(got)], schema=schema))
    assert np.all(h[1:] >= h[:-1])  # globally in hash order
    assert sorted(got.tolist()) == list(range(5000)) and not (tmp_path / "spilled" / ".spill").exists()


class _Fixed:
    """A stand-in keyring for the writer test: round keys only."""

    def round_keys(self, entity, rounds):
        return np.arange(1, rounds + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)


def test_partitioned_tables_are_keyed_per_folder_within_one_memory_budget(tmp_path):
    from datarefresh.io.tables import PartitionedWriter

    schema = pa.schema([("k", pa.int64()), ("dt", pa.string())])

    def order(batch):
        return permute_ints(_Fixed(), "ORDER", batch.column("k").to_numpy()).view(np.uint64)

    w = PartitionedWriter(tmp_path / "out", schema, ["dt"], order=order, buffer_bytes=6000)
    for start in range(0, 3000, 300):  # sorted by key, as prod exports are
        k = np.arange(start, start + 300)
        w.write(
            pa.record_batch([pa.array(k), pa.array([f"2026-11-{1 + i % 3:02d}" for i in k])], schema=schema)
        )
    assert sum(c.held_bytes for c in w._children.values()) <= 6000  # the biggest buffers were spilled
    parts = w.close()
    assert len(parts) == 3 and w.rows == 3000
    for part in parts:
        got = pq.read_table(part).column("k").to_numpy()
        h = order(pa.record_batch([pa.array(got)], schema=pa.schema([("k", pa.int64())])))
        assert np.all(h[1:] >= h[:-1]) and abs(_spearman(np.arange(len(got)), got)) < 0.1


def test_part_names_of_a_multi_unit_table_are_listed_in_a_keyed_order(keyring):
    """Under `refresh` a table over many work units (which follow the prod object names, hence maybe
    the key) is written unit by unit: the parts' names decide the order a reader lists and
    concatenates them in. Named by a keyed permutation, that order says nothing of the units'."""
    from datarefresh.anonymize.keyed import Keyring
    from datarefresh.refresh.unit import part_name

    units = np.repeat(np.arange(600), 2)  # two parts each
    parts = np.tile(np.arange(2), 600)
    names = [part_name(keyring, "people", int(u), int(p)) for u, p in zip(units, parts)]
    assert len(set(names)) == len(names)  # a bijection: no two parts overwrite each other
    listed = np.argsort(names)  # the order of an S3 listing, the manifest and a local `ls`
    assert abs(_spearman(np.arange(len(listed)), units[listed])) < 0.1  # 1,200 parts: sd ~0.03
    assert names == [part_name(keyring, "people", int(u), int(p)) for u, p in zip(units, parts)]  # every run
    other = [part_name(Keyring(bytes(range(32))), "people", int(u), int(p)) for u, p in zip(units, parts)]
    assert abs(_spearman(np.argsort(names), np.argsort(other))) < 0.1  # the key decides it, nothing else
    assert part_name(keyring, "orders", 0, 0) != part_name(keyring, "people", 0, 0)
