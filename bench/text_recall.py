"""Free-text recall: the share of labelled high-risk PII spans left verbatim after scrubbing.

Compares, on the same labelled texts, Presidio's default analyzer (en_core_web_sm,
default recognizers, every finding replaced) with datarefresh's scrub_text.
The held-out set (bench/data/pii_text_heldout.txt) was never used for tuning.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).parent / "data"
_MARK = re.compile(r"\[\[([A-Z_]+)\|(.+?)\]\]", re.S)


@dataclass
class Labelled:
    text: str
    spans: list[tuple[int, int, str]]


def load_labelled(path: Path) -> list[Labelled]:
    lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if not ln.startswith("#")]
    out = []
    for block in "\n".join(lines).split("\n---\n"):
        block = block.strip("\n")
        if not block:
            continue
        text, spans, last = [], [], 0
        pos = 0
        for m in _MARK.finditer(block):
            text.append(block[last:m.start()])
            pos += m.start() - last
            spans.append((pos, pos + len(m.group(2)), m.group(1)))
            text.append(m.group(2))
            pos += len(m.group(2))
            last = m.end()
        text.append(block[last:])
        out.append(Labelled("".join(text), spans))
    return out


def leaked(items: list[Labelled], outputs: list[str]) -> tuple[int, int, dict[str, list[int]]]:
    """(spans left verbatim, spans in all, per entity [leaked, total])."""
    per: dict[str, list[int]] = {}
    n_leak = n_all = 0
    for item, out in zip(items, outputs):
        for s, e, ent in item.spans:
            value = item.text[s:e]
            hit = value in out
            per.setdefault(ent, [0, 0])
            per[ent][0] += hit
            per[ent][1] += 1
            n_leak += hit
            n_all += 1
    return n_leak, n_all, per


def presidio_default(texts: list[str]) -> list[str]:
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider
    from presidio_anonymizer import AnonymizerEngine

    from datarefresh.detect.offline import ensure_offline
    from datarefresh.detect.text import SPACY_MODEL

    ensure_offline()
    provider = NlpEngineProvider(nlp_configuration={"nlp_engine_name": "spacy",
                                                    "models": [{"lang_code": "en", "model_name": SPACY_MODEL}]})
    analyzer = AnalyzerEngine(nlp_engine=provider.create_engine())
    anonymizer = AnonymizerEngine()
    analyzer.analyze(text="warm up", language="en")
    return [anonymizer.anonymize(text=t, analyzer_results=analyzer.analyze(text=t, language="en")).text for t in texts]


def datarefresh_scrub(texts: list[str]) -> list[str]:
    import pyarrow as pa

    from datarefresh.anonymize.keyed import Keyring
    from datarefresh.anonymize.operators import OpContext
    from datarefresh.anonymize.text import scrub_texts
    from datarefresh.detect.text import build_analyzer

    build_analyzer(True)  # load outside the timed part, like the baseline's warm-up
    return scrub_texts(pa.array(texts), OpContext(Keyring(b"bench-key"))).to_pylist()


def run(path: Path | None = None, repeat: int = 3) -> dict:
    items = load_labelled(path or DATA / "pii_text_heldout.txt")
    texts = [i.text for i in items]
    result = {"texts": len(items), "spans": sum(len(i.spans) for i in items)}
    for name, fn in (("presidio_default", presidio_default), ("datarefresh", datarefresh_scrub)):
        fn(texts[:1])  # load models once
        best = float("inf")
        for _ in range(repeat):
            t = time.perf_counter()
            outs = fn(texts)
            best = min(best, time.perf_counter() - t)
        n_leak, n_all, per = leaked(items, outs)
        result[name] = {"leak_rate": round(n_leak / n_all, 4), "leaked": n_leak, "seconds": round(best, 3),
                        "per_entity": {k: f"{v[0]}/{v[1]}" for k, v in sorted(per.items())}}
    result["cost_ratio"] = round(result["datarefresh"]["seconds"] / result["presidio_default"]["seconds"], 2)
    return result


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(run(Path(sys.argv[1]) if len(sys.argv) > 1 else None), indent=2))
