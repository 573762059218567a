"""A run that needs no text analysis pays no text-analysis start-up.

`datarefresh sanitize` on a 3-row table without free text, as a user runs it (a new process each
time): wall seconds (median, min and max of 7), the CPU seconds of the process (user + system: on a
shared machine wall time also measures the neighbours) and which heavy libraries the process
imported. spaCy, Presidio, Great Expectations and wordfreq must not be among them; the same table
with a free-text column is timed side by side, so the start-up the text path costs is visible next
to it. pandas is imported on every run: pyarrow's pandas shim imports it at the first `pa.array`
call (to ask whether the input is a pandas object), ~0.3 s of the start-up.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

HEAVY = ("spacy", "presidio_analyzer", "great_expectations", "wordfreq", "boto3", "moto")
BENCH_KEY = "5f1d3c2b9a8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a392817065f4e"  # a bench key, not a secret

_PROBE = """
import sys, runpy
sys.argv = ["datarefresh", "sanitize", sys.argv[1], sys.argv[2]]
try:
    runpy.run_module("datarefresh.cli", run_name="__main__")
except SystemExit as e:
    assert not e.code, e.code
print("IMPORTED=" + ",".join(m for m in %r if m in sys.modules))
""" % (HEAVY + ("pandas",),)


def _table(with_text: bool) -> pa.Table:
    cols = {
        "id": [1, 2, 3],
        "email": ["ana@example.com", "bo@example.net", "cy@example.org"],
        "amount_cents": [1250, 990, 30400],
    }
    if with_text:
        cols["notes"] = [
            "Call Ana back on 312-555-0142 about the refund.",
            "Bo asked for an invoice.",
            "Cy moved to 12 Elm Street, Springfield.",
        ]
    return pa.table(cols)


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _time(with_text: bool, runs: int = 7) -> dict:
    env = dict(os.environ, DATAREFRESH_SECRET=BENCH_KEY)
    seconds, cpu, imported = [], [], ""
    with tempfile.TemporaryDirectory() as d:
        src = Path(d) / "prod" / "customers"
        src.mkdir(parents=True)
        pq.write_table(_table(with_text), src / "part-0.parquet")
        for i in range(runs):
            t, c = time.perf_counter(), _cpu()
            out = subprocess.run(
                [sys.executable, "-c", _PROBE, str(src.parent), str(Path(d) / f"out{i}")],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            seconds.append(time.perf_counter() - t)
            cpu.append(_cpu() - c)
            imported = out.rsplit("IMPORTED=", 1)[1].strip()
    names = [m for m in imported.split(",") if m]
    return {
        "median_seconds": round(statistics.median(seconds), 2),
        "min_seconds": round(min(seconds), 2),
        "max_seconds": round(max(seconds), 2),
        "median_cpu_seconds": round(statistics.median(cpu), 2),
        "runs": runs,
        "load_average": round(os.getloadavg()[0], 1),
        "heavy_imports": [m for m in names if m in HEAVY],
        "pandas_imported": "pandas" in names,
    }


def run() -> dict:
    return {"rows": 3, "no_text": _time(False), "with_free_text": _time(True)}


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
