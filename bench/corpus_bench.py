"""Per-family figures of zero-config sanitize on the corpus (tests/corpus/families.py).

Held-out rule: the figures reported are for seeds >= 1000 (families.HELDOUT_SEED_START);
tuning looks only at the dev seeds (0-99), which the tests use.

  python -m bench.corpus_bench
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

SEEDS = (1000, 1001)
ROWS = 300


def run(seeds=SEEDS, rows: int = ROWS) -> dict:
    from datarefresh.anonymize.keyed import Keyring
    from tests.corpus.families import FAMILIES, HELDOUT_SEED_START
    from tests.corpus.measure import sanitize_family

    assert min(seeds) >= HELDOUT_SEED_START, "report held-out seeds only"
    out: dict = {}
    for name, make in FAMILIES.items():
        per_seed = []
        for seed in seeds:
            t = time.perf_counter()
            with tempfile.TemporaryDirectory() as d:
                r = sanitize_family(
                    make(seed, rows), Path(d), Keyring(f"corpus-bench-{seed}-0123456789abcdef".encode())
                )
            r.pop("report", None)
            r["seconds"] = round(time.perf_counter() - t, 1)
            per_seed.append(r)
        ok = [r for r in per_seed if r["ok"]]
        out[name] = {
            "runs": len(per_seed),
            "failed_runs": [r.get("error") for r in per_seed if not r["ok"]],
            "pii_verbatim_share": max((r["pii_verbatim_share"] for r in ok), default=None),
            "non_pii_kept_share": min((r["non_pii_kept_share"] for r in ok), default=None),
            "fks_true": ok[0]["fks_true"] if ok else None,
            "fks_found": min((r["fks_found"] for r in ok), default=None),
            "fks_false": sorted({f for r in ok for f in r["fks_false"]}),
            "fk_resolving_min": min((v for r in ok for v in r["fk_resolving"].values()), default=None),
            "leaked_columns": sorted({c for r in ok for c in r["leaked_columns"]}),
            "changed_columns": sorted({c for r in ok for c in r["changed_columns"]}),
            "seconds": round(sum(r["seconds"] for r in per_seed), 1),
        }
    return {"seeds": list(seeds), "rows": rows, "families": out}


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
