"""False-alarm rate of the leak gate: zero-config sanitize of `demo-data` over many seeds and sizes.

A clean run (the product's own zero-config plan, every PII column transformed) must never fail
the gate. Each run uses its own secret, so chance collisions of fakes differ run to run.

Split (the rule, written down): seeds 0-9 are the dev part (tests/corpus/test_leak_gate.py uses
them, tuning may look at them); seeds >= 1000 are held out: no change to the gate may be tuned on
their results, and the figure reported in the README is the held-out one.

  python -m bench.leak_false_alarms [--quick]
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

DEV_SEEDS = range(10)
HELDOUT_SEEDS = range(1000, 1010)
SIZES = (200, 500, 1000, 2000, 3000)


def one_run(rows: int, seed: int, use_presidio: bool = True) -> dict:
    from datarefresh.anonymize.keyed import Keyring
    from datarefresh.devtools.demo_data import generate
    from datarefresh.errors import PolicyError
    from datarefresh.refresh.local import sanitize_folder

    with tempfile.TemporaryDirectory() as d:
        generate(Path(d) / "src", rows=rows, seed=seed)
        key = Keyring(f"bars-check-secret-{seed:04d}-{rows}-0123456789abcdef".encode())
        try:
            report = sanitize_folder(Path(d) / "src", Path(d) / "out", keyring=key, use_presidio=use_presidio)
        except PolicyError as exc:
            return {"rows": rows, "seed": seed, "failed": True, "reason": str(exc)}
    findings = [f for t in report["tables"].values() for f in (t.get("leaks") or {}).get("findings", [])]
    return {"rows": rows, "seed": seed, "failed": bool(findings), "reason": None}


def run(seeds=HELDOUT_SEEDS, sizes=SIZES) -> dict:
    t = time.perf_counter()
    runs = [one_run(rows, seed) for seed in seeds for rows in sizes]
    failed = [r for r in runs if r["failed"]]
    return {
        "runs": len(runs),
        "failures": len(failed),
        "false_alarm_rate": round(len(failed) / len(runs), 4),
        "sizes": list(sizes),
        "seeds": [min(seeds), max(seeds)],
        "failed_runs": failed,
        "seconds": round(time.perf_counter() - t, 1),
    }


if __name__ == "__main__":
    quick = "--quick" in sys.argv
    print(
        json.dumps(
            run(HELDOUT_SEEDS[:3] if quick else HELDOUT_SEEDS, SIZES[:3] if quick else SIZES), indent=2
        )
    )
