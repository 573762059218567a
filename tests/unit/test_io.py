import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from datarefresh.errors import InputError
from datarefresh.io.tables import PartWriter, detect_format, iter_batches, list_local_table


def _read(folder: Path, encoding: str = "utf-8") -> pa.Table:
    files = list_local_table(folder)
    batches = [b for f in files for b in iter_batches(f, encoding=encoding)]
    return pa.Table.from_batches(batches)


def _file(tmp_path: Path, name: str, data: bytes) -> Path:
    folder = tmp_path / "t"
    folder.mkdir(exist_ok=True)
    (folder / name).write_bytes(data)
    return folder


@pytest.mark.parametrize(
    "name, fmt, gz",
    [
        ("a.parquet", "parquet", False),
        ("a.csv.gz", "csv", True),
        ("a.jsonl.gz", "jsonl", True),
        ("a.ndjson", "jsonl", False),
        ("README.md", None, None),
    ],
)
def test_detect_format(name, fmt, gz):
    assert detect_format(name) == (None if fmt is None else (fmt, gz))


def test_all_formats_read_the_same_rows(tmp_path):
    rows = [{"id": 1, "name": "Ann", "zip": "02134"}, {"id": 2, "name": "Bo", "zip": "10001"}]
    table = pa.Table.from_pylist(rows)
    pq.write_table(table, tmp_path / "p.parquet")
    csv = "id,name,zip\n1,Ann,02134\n2,Bo,10001\n".encode()
    jsonl = "".join(json.dumps(r) + "\n" for r in rows).encode()
    for name, data in (
        ("a.csv", csv),
        ("a.csv.gz", gzip.compress(csv)),
        ("a.jsonl.gz", gzip.compress(jsonl)),
    ):
        folder = tmp_path / name.replace(".", "_")
        folder.mkdir()
        (folder / name).write_bytes(data)
        assert _read(folder).to_pylist() == rows, name
    folder = tmp_path / "pq"
    folder.mkdir()
    (tmp_path / "p.parquet").rename(folder / "p.parquet")
    assert _read(folder).to_pylist() == rows


def test_csv_keeps_leading_zeros_and_literal_na(tmp_path):
    folder = _file(tmp_path, "a.csv", b"zip,note,n\n02134,NA,1\n90210,null,\n")
    t = _read(folder)
    assert t.column("zip").to_pylist() == ["02134", "90210"]  # not 2134
    assert t.column("note").to_pylist() == ["NA", "null"]  # real values, not nulls
    assert t.column("n").to_pylist() == [1, None]  # only an empty field is null


def test_csv_wrong_column_count_names_file_and_line(tmp_path):
    folder = _file(tmp_path, "a.csv", b"a,b,c\n1,2,3\n4,5,6,7\n8,9,10\n")
    with pytest.raises(InputError) as err:
        _read(folder)
    assert str(folder / "a.csv") in str(err.value)
    assert err.value.row == 3
    assert "line 3" in str(err.value)


def test_csv_invalid_utf8_names_the_line(tmp_path):
    folder = _file(tmp_path, "a.csv", b"a,b\n1,ok\n2,caf\xe9\n")
    with pytest.raises(InputError, match=r"a\.csv, line 3: invalid utf-8 text"):
        _read(folder)


def test_csv_explicit_encoding(tmp_path):
    folder = _file(tmp_path, "a.csv", "a,b\n1,café\n".encode("latin-1"))
    assert _read(folder, encoding="latin-1").column("b").to_pylist() == ["café"]
    with pytest.raises(InputError, match="unknown encoding"):
        _read(folder, encoding="no-such-codec")


def test_jsonl_invalid_utf8_is_an_error_not_a_replacement_char(tmp_path):
    folder = _file(tmp_path, "a.jsonl", b'{"a": "x"}\n{"a": "\xff"}\n')
    with pytest.raises(InputError, match=r"a\.jsonl, line 2"):
        _read(folder)


def test_jsonl_type_change_is_an_error(tmp_path):
    folder = _file(tmp_path, "a.jsonl", b'{"a": 1}\n{"a": "x"}\n')
    with pytest.raises(InputError, match="a.jsonl"):
        _read(folder)


def test_truncated_parquet_names_the_file(tmp_path):
    pq.write_table(pa.table({"a": list(range(1000))}), tmp_path / "full.parquet")
    data = (tmp_path / "full.parquet").read_bytes()
    folder = _file(tmp_path, "a.parquet", data[: len(data) // 2])
    with pytest.raises(InputError, match=r"a\.parquet: not a readable parquet file"):
        _read(folder)


def test_truncated_gzip_names_the_file(tmp_path):
    data = gzip.compress(b"a,b\n" + b"1,2\n" * 10000)
    folder = _file(tmp_path, "a.csv.gz", data[: len(data) // 2])
    with pytest.raises(InputError, match=r"a\.csv\.gz"):
        _read(folder)


def test_empty_or_mixed_table_folders(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no parquet, CSV or JSON lines files"):
        list_local_table(tmp_path / "empty")
    folder = _file(tmp_path, "a.csv", b"a\n1\n")
    (folder / "b.jsonl").write_bytes(b'{"a": 1}\n')
    with pytest.raises(InputError, match="mixed formats"):
        list_local_table(folder)


def test_reading_streams_in_batches(tmp_path):
    n = 300_000
    pq.write_table(pa.table({"a": list(range(n))}), tmp_path / "big.parquet", row_group_size=50_000)
    folder = tmp_path / "t"
    folder.mkdir()
    (tmp_path / "big.parquet").rename(folder / "big.parquet")
    (f,) = list_local_table(folder)
    sizes = [b.num_rows for b in iter_batches(f, batch_rows=65_536)]
    assert len(sizes) > 1 and max(sizes) <= 65_536 and sum(sizes) == n


def test_part_writer_rolls_parts_with_stable_names_and_zstd(tmp_path):
    schema = pa.schema([("a", pa.int64())])
    w = PartWriter(tmp_path / "out", schema, rows_per_part=100)
    for start in range(0, 250, 50):
        w.write(pa.record_batch([pa.array(range(start, start + 50))], schema=schema))
    parts = w.close()
    assert [p.name for p in parts] == ["part-00000.parquet", "part-00001.parquet", "part-00002.parquet"]
    assert pq.read_table(tmp_path / "out").num_rows == 250
    assert pq.ParquetFile(parts[0]).metadata.row_group(0).column(0).compression == "ZSTD"


def test_part_writer_writes_an_empty_part_for_an_empty_table(tmp_path):
    w = PartWriter(tmp_path / "out", pa.schema([("a", pa.string())]))
    (part,) = w.close()
    assert pq.read_table(part).num_rows == 0
