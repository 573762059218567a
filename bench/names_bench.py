"""Column-name rules: precision and recall on real column names of public formats.

The corpus (tests/corpus/column_names.csv) holds column names of public export formats
and schemas (CRM, e-commerce, EHR/claims, HR/payroll, payments, web analytics, help desk,
non-English exports), each with the entity its values hold. It is split by a hash of
(source, column): the **dev** half is the one rules may be tuned on; the **held-out** half
is never used for tuning, and nothing prints its individual errors (only its figures), so
that no change can be fitted to it. The rule, for anyone editing detect/names.py: look at
`dev_errors()`, never at held-out rows.

A prediction is what the name alone says (`names.name_rule`); weak rules (`name`,
`customer`, `card`), which wait for the values to agree, and rules that keep a
quasi-identifier (state, country, gender) count as "no entity". Two figures per split:
every entity including identifiers (ID), and personal entities only (ID counted as none).
"""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

CORPUS = Path(__file__).resolve().parents[1] / "tests" / "corpus" / "column_names.csv"


def load_corpus(path: Path = CORPUS) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return list(csv.DictReader(line for line in f if not line.startswith("#")))


def split_of(row: dict) -> str:
    digest = hashlib.sha256(f"{row['source']}/{row['column']}".encode()).digest()
    return "dev" if digest[0] % 2 == 0 else "heldout"


def predict(column: str) -> str:
    from datarefresh.detect.names import KEPT_ENTITIES, name_rule

    rule = name_rule(column)
    if rule is None or rule.weak or rule.entity in KEPT_ENTITIES:
        return "none"
    return rule.entity or "none"


def _scores(pairs: list[tuple[str, str]]) -> dict:
    predicted = sum(1 for p, _ in pairs if p != "none")
    actual = sum(1 for _, t in pairs if t != "none")
    hit = sum(1 for p, t in pairs if p != "none" and p == t)
    return {
        "precision": round(hit / predicted, 3) if predicted else None,
        "recall": round(hit / actual, 3) if actual else None,
        "columns": len(pairs),
        "labelled": actual,
        "predicted": predicted,
        "correct": hit,
    }


def evaluate(rows: list[dict]) -> dict:
    pairs = [(predict(r["column"]), r["entity"]) for r in rows]
    personal = [(p if p != "ID" else "none", t if t != "ID" else "none") for p, t in pairs]
    return {"all_entities": _scores(pairs), "personal_entities": _scores(personal)}


def dev_errors() -> list[tuple[str, str, str, str]]:
    """(source, column, predicted, expected) for the dev half only: what tuning may look at."""
    out = []
    for r in load_corpus():
        if split_of(r) == "dev":
            p = predict(r["column"])
            if p != r["entity"]:
                out.append((r["source"], r["column"], p, r["entity"]))
    return out


def run() -> dict:
    rows = load_corpus()
    return {split: evaluate([r for r in rows if split_of(r) == split]) for split in ("dev", "heldout")}


if __name__ == "__main__":
    import json
    import sys

    if "--dev-errors" in sys.argv:
        for e in dev_errors():
            print(*e, sep="\t")
    print(json.dumps(run(), indent=2))
