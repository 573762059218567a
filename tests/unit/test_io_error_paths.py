"""Error paths of the table reader and writer: the rescan that names a bad cell's column reads
the file in its own dialect, and a discarded writer leaves no spilled rows behind."""

from __future__ import annotations

import dataclasses

import numpy as np
import pyarrow as pa
import pytest

from datarefresh.errors import InputError
from datarefresh.io.tables import CsvDialect, PartWriter, iter_batches, list_local_table


@pytest.mark.parametrize("sep, quote", [(";", '"'), ("\t", ""), ("|", "'")])
def test_a_bad_cell_is_named_by_its_column_in_the_files_dialect(tmp_path, sep, quote):
    rows = [
        ["order_id", "customer_id", "amount_cents", "note"],
        ["1", "10", "1250", "a, b"],
        ["2", "11", "99", "c, d"],
        ["3", "10", "12x", "e, f"],
    ]  # line 4: not an integer
    (tmp_path / "orders").mkdir()
    (tmp_path / "orders" / "part-0.csv").write_text("".join(sep.join(r) + "\n" for r in rows))
    f = dataclasses.replace(list_local_table(tmp_path / "orders")[0], csv=CsvDialect(sep, quote, ("",), "."))
    schema = pa.schema(
        [
            ("order_id", pa.int64()),
            ("customer_id", pa.int64()),
            ("amount_cents", pa.int64()),
            ("note", pa.string()),
        ]
    )
    with pytest.raises(InputError) as err:
        list(iter_batches(f, schema=schema))
    assert "column 'amount_cents' (#3)" in str(err.value) and err.value.row == 4, str(err.value)
    assert "12x" not in str(err.value)


def test_a_discarded_writer_leaves_no_spill_folder(tmp_path):
    schema = pa.schema([("k", pa.int64())])
    w = PartWriter(
        tmp_path / "out",
        schema,
        order=lambda b: b.column("k").to_numpy().astype(np.uint64),
        buffer_bytes=1000,
    )
    for start in range(0, 2000, 250):
        w.write(pa.record_batch([pa.array(np.arange(start, start + 250))], schema=schema))
    assert (tmp_path / "out" / ".spill").is_dir()  # the rows went to the spill files
    w.discard()  # a unit that failed half-way
    assert not (tmp_path / "out" / ".spill").exists()
