"""`./dev bench`: every benchmark, results printed and saved to bench/results/latest.json.

  ./dev bench              structured throughput + memory, free-text scrubbing (dev and held-out splits of
                           bench/textcorpus, Presidio's default side by side), CSV dialects, column-name rules,
                           demo-data speed, re-identification attack on the dev output, corpus per-family
                           figures, leak-gate false alarms (held-out seeds)
  ./dev bench --quick      smaller sizes, no 10x memory run
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from bench import (
    corpus_bench,
    dialects,
    leak_false_alarms,
    names_bench,
    reid,
    structured,
    text_recall,
)


def demo_data_speed(rows: int) -> dict:
    from datarefresh.demo_data import generate

    with tempfile.TemporaryDirectory() as d:
        t = time.perf_counter()
        counts = generate(d, rows=rows, seed=0)
        seconds = time.perf_counter() - t
    return {"customers": rows, "rows_all_tables": sum(counts.values()), "seconds": round(seconds, 1)}


def main(argv: list[str]) -> None:
    quick = "--quick" in argv
    results = {
        "structured": structured.run(rows=50_000 if quick else 200_000, presidio_rows=500 if quick else 2_000,
                                     memory=not quick),
        "text_scrubbing": text_recall.run(quick=quick),
        "csv_dialects_heldout": dialects.run(),
        "column_names": names_bench.run(),  # name-rule precision/recall, dev and held-out halves
        "demo_data": demo_data_speed(100_000 if quick else 1_000_000),
        "reidentification_heldout": reid.run("heldout"),
        "k_map_speed": reid.kmap_speed(50_000 if quick else 300_000),
        "corpus_heldout": corpus_bench.run(seeds=(1000,) if quick else corpus_bench.SEEDS),
        "leak_false_alarms_heldout": leak_false_alarms.run(
            leak_false_alarms.HELDOUT_SEEDS[:2] if quick else leak_false_alarms.HELDOUT_SEEDS,
            leak_false_alarms.SIZES[:2] if quick else leak_false_alarms.SIZES),
    }
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "latest.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    print(text_recall.table(results["text_scrubbing"]))


if __name__ == "__main__":
    main(sys.argv[1:])
