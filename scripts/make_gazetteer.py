"""Build the compact name gazetteer shipped in datarefresh/data/ from the `names-dataset`
package (a multi-locale list of first names and surnames from 105 countries).

The package's full data takes ~15 s and GBs to load, so run time uses this extract instead:
every name ranked within the top FIRST_RANK (given names) or LAST_RANK (surnames) of at
least one country, with its best rank, so callers can ask for common names only.

    .venv/bin/python scripts/make_gazetteer.py
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path

from names_dataset import NameDataset

FIRST_RANK = 2500
LAST_RANK = 4000
OUT = Path(__file__).resolve().parents[1] / "datarefresh" / "data"
# letters (any script, accents), inner apostrophes, hyphens and spaces; no digits or dots
_NAME = re.compile(r"^[^\W\d_](?:[^\W\d_]|['’\- ](?=[^\W\d_]))*$")


def best_ranks(names: dict, limit: int) -> dict[str, int]:
    out: dict[str, int] = {}
    for name, info in names.items():
        ranks = [r for r in (info.get("rank") or {}).values() if r]
        if not ranks or len(name) < 2 or not _NAME.match(name):
            continue
        best = min(ranks)
        if best <= limit:
            key = name.strip()
            out[key] = min(best, out.get(key, best))
    return out


def write(path: Path, ranks: dict[str, int]) -> None:
    lines = "".join(f"{n}\t{r}\n" for n, r in sorted(ranks.items()))
    # mtime=0: the same input gives the same bytes
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as f:
        f.write(lines.encode())


def main() -> None:
    nd = NameDataset()
    first = best_ranks(nd.first_names, FIRST_RANK)
    last = best_ranks(nd.last_names, LAST_RANK)
    write(OUT / "given_names.tsv.gz", first)
    write(OUT / "surnames.tsv.gz", last)
    print(f"{len(first)} given names, {len(last)} surnames")


if __name__ == "__main__":
    main()
