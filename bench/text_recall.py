"""Free-text scrubbing on the generated corpus (bench/textcorpus): what is left, what it costs.

For each split and each system (Presidio's default BatchAnalyzerEngine + AnonymizerEngine,
and datarefresh's scrub_text), per entity type:
- chars_left: share of the letters/digits of labelled spans not covered by any replaced span;
- verbatim: share of labelled spans whose value still appears verbatim in the output.
High-risk "left" figures below use `verbatim`; chars_left is reported next to it.
False positives: share of letters/digits outside labelled spans that were replaced, on the
dev texts and on PII-free dev texts ("clean").
Timings: both systems on the same held-out texts in the same run, models loaded beforehand.
The held-out split is scored only; see bench/README.md for the rule.
"""

from __future__ import annotations

import time

from bench.textcorpus import HIGH_RISK, Labelled, generate

SIZES = {"dev": 1000, "heldout": 2000, "clean": 300}  # held-out is big enough for the process pool
QUICK = {"dev": 400, "heldout": 500, "clean": 100}


def presidio_default_engines():
    from presidio_analyzer import AnalyzerEngine, BatchAnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider
    from presidio_anonymizer import AnonymizerEngine

    from datarefresh.detect.offline import ensure_offline
    from datarefresh.detect.text import SPACY_MODEL

    ensure_offline()
    provider = NlpEngineProvider(
        nlp_configuration={
            "nlp_engine_name": "spacy",
            "models": [{"lang_code": "en", "model_name": SPACY_MODEL}],
        }
    )
    analyzer = AnalyzerEngine(nlp_engine=provider.create_engine())
    return BatchAnalyzerEngine(analyzer_engine=analyzer), AnonymizerEngine()


def presidio_default(texts: list[str], engines) -> tuple[list[str], list[list[tuple[int, int]]]]:
    batch, anonymizer = engines
    results = batch.analyze_iterator(texts, language="en")
    outs = [anonymizer.anonymize(text=t, analyzer_results=r).text for t, r in zip(texts, results)]
    return outs, [[(r.start, r.end, r.entity_type) for r in rs] for rs in results]


def datarefresh_scrub(texts: list[str], engines=None) -> tuple[list[str], list[list[tuple[int, int]]]]:
    from datarefresh.anonymize.keyed import Keyring
    from datarefresh.anonymize.operators import OpContext
    from datarefresh.anonymize.text import scrub_text_list

    outs, spans = scrub_text_list(texts, OpContext(Keyring(b"bench-key")))
    return outs, [[(s.start, s.end, s.entity) for s in sp] for sp in spans]


def _alnum(text: str, start: int, end: int) -> list[int]:
    return [i for i in range(start, end) if text[i].isalnum()]


def score(items: list[Labelled], outs: list[str], found: list[list[tuple[int, int, str]]]) -> dict:
    per: dict[str, list[int]] = {}  # entity -> [spans, verbatim, chars, chars_left]
    fp_chars = other_chars = fp_licence = 0
    for item, out, spans in zip(items, outs, found):
        covered, licence = set(), set()
        for s, e, ent in spans:
            covered.update(range(s, e))
            if ent == "US_DRIVER_LICENSE":
                licence.update(range(s, e))
        labelled = set()
        for k, (s, e, ent) in enumerate(item.spans):
            labelled.update(range(s, e))
            chars = _alnum(item.text, s, e)
            keys = [ent]
            if ent == "PERSON":
                keys.append(f"PERSON[{item.meta.get(k, 'ascii')}]")
            for key in keys:
                row = per.setdefault(key, [0, 0, 0, 0])
                row[0] += 1
                row[1] += item.text[s:e] in out
                row[2] += len(chars)
                row[3] += sum(1 for i in chars if i not in covered)
        for i in _alnum(item.text, 0, len(item.text)):
            if i not in labelled:
                other_chars += 1
                fp_chars += i in covered
                fp_licence += i in licence
    table = {
        k: {"spans": v[0], "verbatim": round(v[1] / v[0], 4), "chars_left": round(v[3] / max(v[2], 1), 4)}
        for k, v in sorted(per.items())
    }
    hr = [per[e] for e in HIGH_RISK if e in per]
    n, left = sum(r[0] for r in hr), sum(r[1] for r in hr)
    chars, chars_left = sum(r[2] for r in hr), sum(r[3] for r in hr)
    return {
        "high_risk": {
            "spans": n,
            "verbatim": round(left / max(n, 1), 4),
            "chars_left": round(chars_left / max(chars, 1), 4),
        },
        "non_pii_chars_scrubbed": round(fp_chars / max(other_chars, 1), 4),
        # the precision cost of licence detection without a cue word: non-PII characters it replaced
        "non_pii_chars_scrubbed_as_licence": round(fp_licence / max(other_chars, 1), 4),
        "per_entity": table,
    }


def _script_comparison(sc: dict) -> dict:
    """Names with non-ASCII letters must be no worse than ASCII names (spans left verbatim)."""
    a, n = sc["per_entity"].get("PERSON[ascii]"), sc["per_entity"].get("PERSON[non_ascii]")
    if not a or not n:
        return {}
    return {
        "ascii_verbatim": a["verbatim"],
        "non_ascii_verbatim": n["verbatim"],
        "non_ascii_no_worse": n["verbatim"] <= a["verbatim"],
    }


def _timed(fn, texts, engines):
    t = time.perf_counter()
    outs, spans = fn(texts, engines)
    return outs, spans, time.perf_counter() - t


def run(quick: bool = False) -> dict:
    sizes = QUICK if quick else SIZES
    corpora = {split: generate(split, n) for split, n in sizes.items()}
    engines = presidio_default_engines()
    presidio_default(["warm up Alice Smith"], engines)
    from datarefresh.detect.text import warm_up

    t = time.perf_counter()
    warm_up()  # model load (and worker pool start) outside the timed part, like the baseline's warm-up
    result: dict = {
        "texts": {s: len(v) for s, v in corpora.items()},
        "datarefresh_startup_seconds": round(time.perf_counter() - t, 1),
    }
    for name, fn in (("presidio_default", presidio_default), ("datarefresh", datarefresh_scrub)):
        result[name] = {}
        for split, items in corpora.items():
            outs, spans, seconds = _timed(fn, [i.text for i in items], engines)
            sc = score(items, outs, spans)
            if split == "clean":
                sc = {k: sc[k] for k in ("non_pii_chars_scrubbed", "non_pii_chars_scrubbed_as_licence")}
            else:
                sc["names_non_ascii_vs_ascii"] = _script_comparison(sc)
            sc["seconds_per_1000"] = round(seconds * 1000 / len(items), 2)
            result[name][split] = sc
    p, d = result["presidio_default"]["heldout"], result["datarefresh"]["heldout"]
    result["cost_ratio_heldout"] = round(d["seconds_per_1000"] / p["seconds_per_1000"], 2)
    return result


def table(result: dict) -> str:
    """Markdown: per entity, verbatim (chars left) for both systems and both splits."""
    entities = sorted({e for s in ("dev", "heldout") for e in result["datarefresh"][s]["per_entity"]})
    lines = [
        "| entity | dev: Presidio default | dev: datarefresh "
        "| held-out: Presidio default | held-out: datarefresh |",
        "|---|---|---|---|---|",
    ]

    def cell(system, split, ent):
        row = (
            result[system][split]["per_entity"].get(ent)
            if ent != "high-risk"
            else result[system][split]["high_risk"]
        )
        return f"{row['verbatim']:.1%} ({row['chars_left']:.1%} chars) of {row['spans']}" if row else "-"

    for ent in ["high-risk"] + entities:
        lines.append(
            f"| {ent} | "
            + " | ".join(
                cell(sy, sp, ent) for sp in ("dev", "heldout") for sy in ("presidio_default", "datarefresh")
            )
            + " |"
        )
    for key, label in (
        ("non_pii_chars_scrubbed", "non-PII chars scrubbed"),
        ("seconds_per_1000", "s per 1,000 texts"),
    ):
        lines.append(
            f"| {label} | "
            + " | ".join(
                str(result[sy][sp][key])
                for sp in ("dev", "heldout")
                for sy in ("presidio_default", "datarefresh")
            )
            + " |"
        )
    lines.append(
        "| non-PII chars scrubbed, PII-free dev texts "
        f"| {result['presidio_default']['clean']['non_pii_chars_scrubbed']} "
        f"| {result['datarefresh']['clean']['non_pii_chars_scrubbed']} | | |"
    )
    lines.append(
        "| of which as a driver's licence | "
        + " | ".join(
            str(result[sy][sp].get("non_pii_chars_scrubbed_as_licence", "-"))
            for sp in ("dev", "heldout")
            for sy in ("presidio_default", "datarefresh")
        )
        + " |"
    )
    lines.append(
        f"| of which as a driver's licence, PII-free dev texts | "
        f"{result['presidio_default']['clean'].get('non_pii_chars_scrubbed_as_licence', '-')} "
        f"| {result['datarefresh']['clean'].get('non_pii_chars_scrubbed_as_licence', '-')} | | |"
    )
    for split in ("dev", "heldout"):
        c = result["datarefresh"][split].get("names_non_ascii_vs_ascii") or {}
        if c:
            lines.append(
                f"\n{split}: names left verbatim, non-ASCII {c['non_ascii_verbatim']:.1%} vs ASCII "
                f"{c['ascii_verbatim']:.1%}: non-ASCII no worse: {'yes' if c['non_ascii_no_worse'] else 'NO'}"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    import json
    import sys

    r = run(quick="--quick" in sys.argv)
    print(json.dumps(r, indent=2))
    print(table(r))
