"""Structured-table throughput and memory: plain copy vs presidio-structured vs datarefresh.

All three work on the same generated `customers` table (names, e-mails, phones,
addresses, national ids, cards, birth dates, zip codes; no free text).
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH_KEY = b"bench-key-not-secret"


def make_table(root: Path, rows: int) -> Path:
    from datarefresh.devtools.demo_data import generate

    generate(root, rows=rows, seed=1, tables=("customers",))
    return root


def plain_copy(src: Path, dest: Path) -> float:
    import pyarrow.parquet as pq

    t = time.perf_counter()
    pq.write_table(pq.read_table(src / "customers"), dest / "copy.parquet", compression="zstd")
    return time.perf_counter() - t


def datarefresh_sanitize(src: Path, dest: Path) -> float:
    from datarefresh.anonymize.keyed import Keyring
    from datarefresh.config import Config, bundled_demo_config
    from datarefresh.refresh.local import sanitize_folder

    config = Config(tables={"customers": bundled_demo_config().tables["customers"]})
    t = time.perf_counter()
    sanitize_folder(src, dest, keyring=Keyring(BENCH_KEY), config=config)
    return time.perf_counter() - t


def presidio_structured(src: Path, rows: int) -> tuple[float, float]:
    """presidio-structured as its docs show it: PandasAnalysisBuilder on a 200-row sample,
    then StructuredEngine with Faker operators for every detected entity.
    Returns (analysis seconds, anonymization seconds)."""
    import pyarrow.parquet as pq
    from faker import Faker
    from presidio_anonymizer.entities import OperatorConfig
    from presidio_structured import PandasAnalysisBuilder, PandasDataProcessor, StructuredEngine

    from datarefresh.detect.text import build_analyzer

    df = pq.read_table(src / "customers").slice(0, rows).to_pandas()
    # presidio-structured accepts only primitive cell types and writes its operators' strings
    # back into the frame, so every column goes in as text
    df = df.astype(str)
    fake = Faker()
    operators = {
        "PERSON": OperatorConfig("custom", {"lambda": lambda x: fake.name()}),
        "EMAIL_ADDRESS": OperatorConfig("custom", {"lambda": lambda x: fake.email()}),
        "PHONE_NUMBER": OperatorConfig("custom", {"lambda": lambda x: fake.phone_number()}),
        "LOCATION": OperatorConfig("custom", {"lambda": lambda x: fake.city()}),
        "CREDIT_CARD": OperatorConfig("custom", {"lambda": lambda x: fake.credit_card_number()}),
        "US_SSN": OperatorConfig("custom", {"lambda": lambda x: fake.ssn()}),
        "DATE_TIME": OperatorConfig("custom", {"lambda": lambda x: str(fake.date())}),
        "DEFAULT": OperatorConfig("replace", {"new_value": "<REDACTED>"}),
    }
    analyzer = build_analyzer(extended=False)
    t = time.perf_counter()
    analysis = PandasAnalysisBuilder(analyzer=analyzer).generate_analysis(df, n=min(200, len(df)))
    analysed = time.perf_counter()
    StructuredEngine(data_processor=PandasDataProcessor()).anonymize(df, analysis, operators=operators)
    return analysed - t, time.perf_counter() - analysed


def peak_rss_mb(rows: int) -> float:
    """Peak RSS of a fresh process that sanitizes `rows` customers (generation not counted:
    the table is made by a separate process first)."""
    with tempfile.TemporaryDirectory() as d:
        subprocess.run(
            [
                sys.executable,
                "-c",
                f"from bench.structured import make_table; from pathlib import Path;"
                f"make_table(Path({d!r}) / 'src', {rows})",
            ],
            check=True,
        )
        out = subprocess.run(
            [sys.executable, "-m", "bench.structured", "--sanitize-only", d],
            check=True,
            capture_output=True,
            text=True,
        )
        return json.loads(out.stdout)["peak_rss_mb"]


def run(rows: int = 200_000, presidio_rows: int = 2_000, memory: bool = True) -> dict:
    with tempfile.TemporaryDirectory() as d:
        src = make_table(Path(d) / "src", rows)
        (Path(d) / "copy").mkdir()
        copy_s = min(plain_copy(src, Path(d) / "copy") for _ in range(3))
        ours_s = min(datarefresh_sanitize(src, Path(d) / f"out{i}") for i in range(2))
        analysis_s, anonymize_s = presidio_structured(src, presidio_rows)
    result = {
        "rows": rows,
        "plain_copy": {"seconds": round(copy_s, 3), "rows_per_s": round(rows / copy_s)},
        "datarefresh": {"seconds": round(ours_s, 3), "rows_per_s": round(rows / ours_s)},
        "presidio_structured": {
            "rows": presidio_rows,
            "analysis_seconds": round(analysis_s, 3),
            "anonymize_seconds": round(anonymize_s, 3),
            "rows_per_s": round(presidio_rows / (analysis_s + anonymize_s), 1),
            "rows_per_s_anonymize_only": round(presidio_rows / anonymize_s, 1),
        },
    }
    # compared with presidio-structured's anonymization step alone (its most favourable figure)
    result["speedup_vs_presidio_structured"] = round(
        result["datarefresh"]["rows_per_s"] / result["presidio_structured"]["rows_per_s_anonymize_only"], 1
    )
    result["time_vs_plain_copy"] = round(ours_s / copy_s, 2)
    if memory:
        one, ten = peak_rss_mb(rows), peak_rss_mb(rows * 10)
        result["peak_rss_mb"] = {"1x": one, "10x": ten, "ratio": round(ten / one, 2)}
    return result


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--sanitize-only":
        root = Path(sys.argv[2])
        datarefresh_sanitize(root / "src", root / "out")
        print(
            json.dumps({"peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)})
        )
    else:
        print(json.dumps(run(), indent=2))
