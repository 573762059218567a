"""CSV dialect detection on generated files shaped like real exports.

Each file is drawn from a seed: a delimiter (`,` `;` tab `|`), a quote character (`"` or `'`,
used where a field needs it), a decimal comma for `;`/tab/pipe exports half of the time (as
European spreadsheet exports write them), 2 to 12 columns (ids, amounts, dates, names,
e-mails, free text with spaces, delimiters and quotes inside, empty fields) and 1 to 300 rows.

Rule: seeds 0-499 are the dev split (look at them, tune on them); seeds 100000-100499 are
held out: no change to `datarefresh/io/tables.py` may be decided by looking at them. Report
the held-out figures. A wrong delimiter that reads without an error is counted apart
(`silently_wrong`): that is the outcome detection exists to avoid.
"""

from __future__ import annotations

import csv
import io
import random
import tempfile
from pathlib import Path

DEV = range(500)
HELDOUT = range(100_000, 100_500)
WORDS = (
    "order",
    "shipped",
    "Müller",
    "São Paulo",
    "a;b",
    "x|y",
    "tab\there",
    "it's",
    'say "hi"',
    "n/a",
    "O'Brien",
)


def _cell(rng: random.Random, kind: str, decimal: str) -> str:
    if rng.random() < 0.05:
        return ""
    if kind == "id":
        return str(rng.randint(1, 10**6))
    if kind == "amount":
        v = f"{rng.uniform(0, 5000):.{rng.choice((1, 2, 2, 4))}f}"
        return v.replace(".", decimal)
    if kind == "date":
        return f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    if kind == "email":
        return f"user{rng.randint(1, 999)}@example.org"
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 4)))


def make(seed: int) -> tuple[str, dict]:
    rng = random.Random(seed)
    delimiter = rng.choice((",", ";", "\t", "|"))
    quote = rng.choice(('"', '"', "'"))
    decimal = "," if delimiter != "," and rng.random() < 0.5 else "."
    kinds = ["id"] + [
        rng.choice(("id", "amount", "date", "email", "text")) for _ in range(rng.randint(1, 11))
    ]
    if decimal == ",":
        kinds.append("amount")  # a decimal-comma export has at least one amount column
    header = [f"{k}_{i}" for i, k in enumerate(kinds)]
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, quotechar=quote, lineterminator="\n")
    w.writerow(header)
    for _ in range(rng.randint(1, 300)):
        w.writerow([_cell(rng, k, decimal) for k in kinds])
    return buf.getvalue(), {"delimiter": delimiter, "quote": quote, "decimal": decimal, "columns": len(kinds)}


def evaluate(seeds) -> dict:
    from datarefresh.errors import InputError
    from datarefresh.refresh.local import discover_local

    n = ok_delim = ok_decimal = silently_wrong = errors = 0
    with tempfile.TemporaryDirectory() as d:
        for seed in seeds:
            text, truth = make(seed)
            folder = Path(d) / str(seed) / "t"
            folder.mkdir(parents=True)
            (folder / "part-0.csv").write_text(text, encoding="utf-8")
            n += 1
            try:
                src = discover_local(folder.parent)["t"]
                got = src.dialect()
                t = src.sample()
            except InputError:
                errors += 1  # refused with an error naming the file: not silent
                continue
            ok_delim += got.delimiter == truth["delimiter"]
            # a single-row file may have no amount with a comma: "." is then not wrong, nothing to convert
            ok_decimal += got.decimal == truth["decimal"]
            if got.delimiter != truth["delimiter"] or t.num_columns != truth["columns"]:
                silently_wrong += 1
    return {
        "files": n,
        "delimiter_accuracy": round(ok_delim / n, 4),
        "decimal_accuracy": round(ok_decimal / n, 4),
        "refused_with_an_error": errors,
        "silently_wrong": silently_wrong,
    }


def run(split: str = "heldout") -> dict:
    return evaluate(HELDOUT if split == "heldout" else DEV)


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(run(sys.argv[1] if len(sys.argv) > 1 else "dev"), indent=2))
