"""Damaged or degenerate prod files: each run fails with an error that names the file (never a
value), readers keep the snapshot they had, and nothing raw reaches dev or staging."""

from __future__ import annotations

import gzip
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.faults.conftest import CANARIES
from tests.faults.helpers import refused_refresh


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _being_written(path: Path, extra: Path) -> None:
    """A parquet file as a reader finds it while the writer is still at it: the header and a
    row group on disk, no footer yet."""
    t = pq.read_table(path)
    w = pq.ParquetWriter(extra, t.schema)
    w.write_table(t)
    snapshot = extra.read_bytes()
    w.close()
    extra.write_bytes(snapshot)
    assert snapshot.startswith(b"PAR1") and len(snapshot) > 100 and not snapshot.endswith(b"PAR1")


def _cut_gzip(path: Path) -> None:
    data = path.read_bytes()
    assert gzip.decompress(data)
    path.write_bytes(data[: int(len(data) * 0.6)])


def _latin1(path: Path) -> None:
    lines = path.read_bytes().split(b"\n")
    lines[40] = lines[40] + b"\xe9"  # a latin-1 e-acute at the end of line 41
    path.write_bytes(b"\n".join(lines))


def _header_only(path: Path) -> None:
    path.write_bytes(path.read_bytes().split(b"\n", 1)[0] + b"\n")


CASES = {
    # case: (file to name in the error, how to damage the prod copy, words the error must contain)
    "truncated-parquet": (
        "order_items/part-00000.parquet",
        lambda d: _truncate(d / "order_items/part-00000.parquet"),
        "parquet",
    ),
    "zero-byte-parquet": (
        "customers/part-00001.parquet",
        lambda d: (d / "customers/part-00001.parquet").write_bytes(b""),
        "parquet",
    ),
    "parquet-being-written": (
        "customers/part-00001.parquet",
        lambda d: _being_written(d / "customers/part-00000.parquet", d / "customers/part-00001.parquet"),
        "parquet",
    ),
    "cut-gzip": ("events/part-00000.csv.gz", lambda d: _cut_gzip(d / "events/part-00000.csv.gz"), "gzip"),
    "non-utf8-csv": (
        "orders/part-00000.csv",
        lambda d: _latin1(d / "orders/part-00000.csv"),
        "invalid utf-8",
    ),
    # defined outcome for degenerate tables: refused, naming the file and saying what it holds
    "header-only-table": (
        "orders/part-00000.csv",
        lambda d: _header_only(d / "orders/part-00000.csv"),
        "header but no rows",
    ),
    "empty-table": (
        "orders/part-00000.csv",
        lambda d: (d / "orders/part-00000.csv").write_bytes(b""),
        "empty",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_file_fails_naming_the_file(case, suite, admin, prod_data, tmp_path):
    name, damage, words = CASES[case]
    err, out, _ = refused_refresh(suite, admin, prod_data, tmp_path, case, lambda data, _cfg: damage(data))
    assert f"s3://datarefresh-prod/raw/_faults-{case}/{name}" in err, err
    assert words.lower() in err.lower(), err
    assert not [c for c in CANARIES if c.lower() in out.lower()]
