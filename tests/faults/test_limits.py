"""Values and tables at the edge of what a run handles: a 10 MB text cell and a 10,000-column
table are refused with the limit named, with bounded memory (peak RSS of the run's process,
measured with getrusage), and readers keep the snapshot they had."""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.faults.helpers import refused_refresh

MEMORY_BOUND_KIB = 1_500_000  # 1.5 GB over the process's size at start, generous on purpose
TEN_MB = 10 * 1024 * 1024


def _big_text() -> str:
    rng = random.Random(1)
    words = "the order arrived late and the box was damaged please refund me".split()
    out, n = [], 0
    while n < TEN_MB:
        w = rng.choice(words)
        out.append(w)
        n += len(w) + 1
    return " ".join(out) + " write to qvxcanary0@gmail.com"


def _tickets(data: Path) -> list[dict]:
    p = data / "support_tickets" / "part-00000.jsonl.gz"
    return [json.loads(line) for line in gzip.decompress(p.read_bytes()).splitlines()]


def _big_cell_jsonl(data: Path, cfg: dict) -> None:
    rows = _tickets(data)
    rows[0]["body"] = _big_text()
    (data / "support_tickets" / "part-00000.jsonl.gz").write_bytes(
        gzip.compress(("\n".join(json.dumps(r) for r in rows) + "\n").encode())
    )


def _big_cell_parquet(data: Path, cfg: dict) -> None:
    """The same tickets as parquet (no line limit): the text scrubber's limit applies."""
    import pyarrow.json as pajson

    src = data / "support_tickets" / "part-00000.jsonl.gz"
    t = pajson.read_json(pa.BufferReader(gzip.decompress(src.read_bytes())))
    t = t.set_column(
        t.schema.get_field_index("created_at"), "created_at", t.column("created_at").cast(pa.timestamp("ms"))
    )
    body = t.column("body").to_pylist()
    body[0] = _big_text()
    t = t.set_column(t.schema.get_field_index("body"), "body", pa.array(body, pa.string()))
    src.unlink()
    pq.write_table(t, data / "support_tickets" / "part-00000.parquet")
    cfg["tables"]["support_tickets"]["format"] = "parquet"


def _wide(data: Path, cfg: dict) -> None:
    n, width = 100, 10_000
    cols = {"id": pa.array(np.arange(n, dtype=np.int64))}
    policies = {"id": {"action": "hmac", "entity": "ID:wide_id", "type": "int64"}}
    for j in range(1, width):
        name = f"c{j:05d}"
        if j % 2:
            cols[name] = pa.array(np.arange(n, dtype=np.int64) * j)
            policies[name] = {"action": "keep", "type": "int64"}
        else:
            cols[name] = pa.array([f"qvxcanary{i}.{j}@gmail.com" for i in range(n)])
            policies[name] = {"action": "fake", "entity": "EMAIL_ADDRESS", "type": "string"}
    (data / "wide").mkdir()
    pq.write_table(pa.table(cols), data / "wide" / "part-00000.parquet")
    cfg["tables"]["wide"] = {"format": "parquet", "primary_key": "id", "columns": policies}


CASES = {
    "10MB-cell-jsonl": (
        _big_cell_jsonl,
        "s3://datarefresh-prod/raw/_faults-10MB-cell-jsonl/support_tickets/"
        "part-00000.jsonl.gz: a row is longer than 4 MiB",
    ),
    "10MB-cell-parquet": (_big_cell_parquet, "table support_tickets, column body: a text of 10,485,"),
    "10000-columns": (_wide, "table wide: 10,000 columns, more than the 1,000"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_huge_values_and_tables_are_refused_with_a_clear_limit(case, suite, admin, prod_data, tmp_path):
    make, words = CASES[case]
    err, out, child = refused_refresh(suite, admin, prod_data, tmp_path, case, make)
    assert words in err, err
    assert "qvxcanary" not in out.lower()
    rss = child.rss
    assert rss["peak_kib"] - rss["start_kib"] < MEMORY_BOUND_KIB, rss
