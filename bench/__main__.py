"""`./dev bench`: every benchmark, results printed and saved to bench/results/latest.json.

./dev bench              structured throughput + memory, free-text scrubbing (dev and held-out splits of
                         bench/textcorpus, Presidio's default side by side), CSV dialects, column-name rules,
                         demo-data speed, re-identification attack on the dev output, corpus per-family
                         figures, leak-gate false alarms (held-out seeds)
./dev bench --quick      smaller sizes, no 10x memory run (the full-size unit memory run stays)
./dev bench --only small_run,column_names   just those sections, merged into latest.json
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
    small_run,
    structured,
    text_recall,
)


def demo_data_speed(rows: int) -> dict:
    from datarefresh.devtools.demo_data import generate

    with tempfile.TemporaryDirectory() as d:
        t = time.perf_counter()
        counts = generate(d, rows=rows, seed=0)
        seconds = time.perf_counter() - t
    return {"customers": rows, "rows_all_tables": sum(counts.values()), "seconds": round(seconds, 1)}


def unit_memory() -> dict:
    """Peak RSS of one process sanitizing a table as big as one work unit (refresh.plan.UNIT_BYTES of
    compressed parquet): what a worker slot needs."""
    from datarefresh.refresh.plan import UNIT_BYTES

    rows = 7_300_000  # bench customers are ~14 MB of parquet per 200k rows: 7.3M rows ~ 511 MB
    t = time.perf_counter()
    mb = structured.peak_rss_mb(rows)
    return {
        "rows": rows,
        "unit_bytes": UNIT_BYTES,
        "peak_rss_mb": mb,
        "seconds": round(time.perf_counter() - t),
    }


def main(argv: list[str]) -> None:
    quick = "--quick" in argv
    sections = {
        "structured": lambda: structured.run(
            rows=50_000 if quick else 200_000, presidio_rows=500 if quick else 2_000, memory=not quick
        ),
        "text_scrubbing": lambda: text_recall.run(quick=quick),
        "csv_dialects_heldout": dialects.run,
        "column_names": names_bench.run,  # name-rule precision/recall, dev and held-out halves
        "demo_data": lambda: demo_data_speed(100_000 if quick else 1_000_000),
        "small_run": small_run.run,  # a 3-row sanitize without text: start-up, no spaCy/Presidio/GX import
        "unit_memory": unit_memory,  # one full-size work unit in one process
        "reidentification_heldout": lambda: reid.run("heldout"),
        "k_map_speed": lambda: reid.kmap_speed(50_000 if quick else 300_000),
        "corpus_heldout": lambda: corpus_bench.run(seeds=(1000,) if quick else corpus_bench.SEEDS),
        "leak_false_alarms_heldout": lambda: leak_false_alarms.run(
            leak_false_alarms.HELDOUT_SEEDS[:2] if quick else leak_false_alarms.HELDOUT_SEEDS,
            leak_false_alarms.SIZES[:2] if quick else leak_false_alarms.SIZES,
        ),
    }
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    latest = out / "latest.json"
    only = next(
        (
            a.split("=", 1)[1] if "=" in a else argv[i + 1]
            for i, a in enumerate(argv)
            if a.startswith("--only")
        ),
        None,
    )
    if only:
        unknown = set(only.split(",")) - set(sections)
        if unknown:
            raise SystemExit(f"unknown section(s) {sorted(unknown)}; sections: {', '.join(sections)}")
        results = json.loads(latest.read_text()) if latest.exists() else {}
        fresh = {name: sections[name]() for name in only.split(",")}
        results.update(fresh)
    else:
        results = fresh = {name: section() for name, section in sections.items()}
    latest.write_text(json.dumps(results, indent=2))
    print(json.dumps(fresh, indent=2))
    if "text_scrubbing" in fresh:
        print(text_recall.table(fresh["text_scrubbing"]))


if __name__ == "__main__":
    main(sys.argv[1:])
