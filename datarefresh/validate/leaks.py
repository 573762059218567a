"""Leak scan: proof, before publish, that original values did not survive anonymization.

While a table streams through, a sample of original values of every PII column is held
in memory (never written, never logged): columns whose policy transforms them, and
columns that classification flags as PII even if the policy keeps them (a raw column
left in by mistake). Every anonymized batch is then checked for

- a cell equal to a sampled original, or to its unkeyed sha256/md5 hex digest;
- free text (scrub_text / json columns, on a bounded sample) containing an original.

Free-text columns are also re-scanned with the analyzer: a span that is not one of the
fakes we generated is an unexplained hit; a hit rate above the threshold fails.
Findings name table, column and entity type, never the value.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict

import pyarrow as pa
import pyarrow.compute as pc

from datarefresh.config import TableConfig

SAMPLE_PER_COLUMN = 300
MIN_LENGTH = 5  # shorter strings ("US", "M", "free") are not identifying on their own
TEXT_SAMPLE = 200
# Fakes for these come from small dictionaries (or are generalizations), so a fake can equal
# some other row's original by chance: they are checked row by row instead of anywhere.
SMALL_DOMAIN = {"FIRST_NAME", "LAST_NAME", "CITY", "LOCATION", "STATE", "ZIP_CODE", "COUNTRY", "DATE_OF_BIRTH", "AGE"}
ROWWISE_MAX_SHARE = 0.2  # a column left raw keeps 100% of its values; chance keeps ~0%
# Entities that make a kept column a leak (a raw column left in by mistake).
PERSONAL = {"EMAIL_ADDRESS", "PHONE_NUMBER", "FIRST_NAME", "LAST_NAME", "PERSON", "STREET_ADDRESS", "US_SSN",
            "NATIONAL_ID", "CREDIT_CARD", "IBAN_CODE", "IP_ADDRESS", "USERNAME", "US_DRIVER_LICENSE", "PASSWORD",
            "CITY", "ZIP_CODE", "DATE_OF_BIRTH"}
HIGH_RISK = {"PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "US_SSN", "IBAN_CODE", "IP_ADDRESS",
             "US_DRIVER_LICENSE", "STREET_ADDRESS"}


def _is_text(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t)


class LeakScanner:
    def __init__(self, table: str, policy: TableConfig, first_batch: pa.RecordBatch):
        from datarefresh.detect.classify import classify_values

        self.table, self.policy = table, policy
        self.originals: dict[str, set[str]] = defaultdict(set)
        self.digests: dict[str, set[str]] = defaultdict(set)
        self.entity: dict[str, str] = {}
        self.text_columns = [c for c, p in policy.columns.items() if p.action in ("scrub_text", "json")]
        # re-analysis applies to free text only: JSON leaves with a fake policy are meant to look real
        self.free_text = {c for c, p in policy.columns.items() if p.action == "scrub_text"}
        self.json_columns = {c for c, p in policy.columns.items() if p.action == "json"}
        self.findings: dict[tuple[str, str, str, str], int] = defaultdict(int)
        self.unchanged: dict[str, int] = defaultdict(int)
        self.rows = 0
        self.text_samples: dict[str, list[tuple[int, str]]] = defaultdict(list)  # (row index, scrubbed text)
        for f in first_batch.schema:
            p = policy.columns.get(f.name)
            if p is None or p.action == "drop" or not _is_text(f.type):
                continue
            if p.action == "json":
                self.entity[f.name] = "JSON"
            elif p.action != "keep":
                self.entity[f.name] = p.entity or p.action
            else:  # kept: still scanned if classification recognises a personal entity in it
                guess = classify_values(f.name, f.type, first_batch.column(f.name).to_pylist()[:2000],
                                        table=table, use_presidio=False)
                if guess.action != "keep" and guess.entity in PERSONAL:
                    self.entity[f.name] = guess.entity

    def _rowwise(self, col: str) -> bool:
        return self.entity[col] in SMALL_DOMAIN or self.entity[col] == "generalize"

    def observe(self, raw: pa.RecordBatch, clean: pa.RecordBatch) -> None:
        """`clean` must be the anonymization of `raw`, row for row (before any sampling)."""
        self.rows += raw.num_rows
        for col in self.json_columns & set(raw.schema.names):
            if len(self.originals[col]) < SAMPLE_PER_COLUMN:
                self._json_originals(col, raw.column(col))
        for col in self.entity:
            if col in self.json_columns:
                continue
            if self._rowwise(col):
                if col in clean.schema.names:
                    same = pc.equal(raw.column(col), clean.column(col).cast(raw.column(col).type))
                    self.unchanged[col] += pc.sum(pc.fill_null(same, False)).as_py() or 0
                continue
            if len(self.originals[col]) < SAMPLE_PER_COLUMN and col in raw.schema.names:
                for v in pc.unique(raw.column(col).drop_null()).to_pylist():
                    if len(v) >= MIN_LENGTH and col not in self.text_columns:
                        self.originals[col].add(v)
                        self.digests[col].add(hashlib.sha256(v.encode()).hexdigest())
                        self.digests[col].add(hashlib.md5(v.encode()).hexdigest())  # noqa: S324 - we look for it
                        if len(self.originals[col]) >= SAMPLE_PER_COLUMN:
                            break
        values = {c: pa.array(sorted(v), pa.string()) for c, v in self.originals.items() if v}
        digests = {c: pa.array(sorted(v), pa.string()) for c, v in self.digests.items() if v}
        for f in clean.schema:
            if not _is_text(f.type):
                continue
            out = clean.column(f.name)
            for src, vals in values.items():
                n = pc.sum(pc.is_in(out, value_set=vals)).as_py() or 0
                if n:
                    self.findings[(f.name, src, self.entity[src], "original value")] += n
            for src, vals in digests.items():
                n = pc.sum(pc.is_in(out, value_set=vals)).as_py() or 0
                if n:
                    self.findings[(f.name, src, self.entity[src], "unkeyed hash of an original")] += n
            if f.name in self.text_columns and len(self.text_samples[f.name]) < TEXT_SAMPLE:
                first = self.rows - raw.num_rows
                rows = [(first + i, t) for i, t in enumerate(out.slice(0, TEXT_SAMPLE).to_pylist()) if t]
                self.text_samples[f.name].extend(rows[: TEXT_SAMPLE - len(self.text_samples[f.name])])
                blob = "\n".join(t for _, t in rows)
                for src, vals in self.originals.items():
                    hits = sum(1 for v in vals if v in blob)
                    if hits:
                        self.findings[(f.name, src, self.entity[src], "original inside text")] += hits

    def _json_originals(self, col: str, values: pa.Array) -> None:
        """String leaves of sampled JSON documents that the policy transforms (or scrubs):
        they must not survive inside the output."""
        import json

        from datarefresh.anonymize.nested import _walk

        fields = self.policy.columns[col].fields
        for text in values.drop_null().slice(0, SAMPLE_PER_COLUMN).to_pylist():
            try:
                doc = json.loads(text)
            except ValueError:
                continue
            leaves: dict[str, list] = defaultdict(list)
            _walk(doc, "", leaves)
            for path, refs in leaves.items():
                leaf = fields.get(path)
                if leaf is not None and leaf.action == "keep":
                    continue
                for c, k in refs:
                    v = c[k]
                    if isinstance(v, str) and len(v) >= MIN_LENGTH:
                        self.originals[col].add(v)

    def rescan_text(self, generated: set[str], max_hit_rate: float) -> list[dict]:
        """Re-scan sampled output text; a text holding a high-risk span that is not one of our fakes is a
        hit. Two detectors: an independent one (gazetteer, pyap, phonenumbers, checksums; see
        validate/text_rescan.py), so what the scrubber missed shows, and the scrubber's analyzer.
        `rows` names row indexes and entities to look at, never a value."""
        from datarefresh.detect.text import analyze_texts
        from datarefresh.validate import text_rescan

        words = text_rescan.generated_words(generated)
        results = []
        for col, sample in self.text_samples.items():
            if not sample or col not in self.free_text:
                continue
            texts = [t for _, t in sample]
            spans = analyze_texts(texts)
            hit_texts = 0
            entities: set[str] = set()
            rows: list[dict] = []
            for (row, text), sp in zip(sample, spans):
                found = {e for _, _, e in text_rescan.findings(text, generated, words)}
                found |= {s.entity for s in sp if s.entity in HIGH_RISK and text[s.start:s.end] not in generated}
                if found:
                    hit_texts += 1
                    entities |= found
                    if len(rows) < 50:
                        rows.append({"row": row, "entities": sorted(found)})
            rate = hit_texts / len(texts)
            results.append({"table": self.table, "column": col, "texts": len(texts), "hit_rate": round(rate, 4),
                            "entities": sorted(entities), "rows": rows, "passed": rate <= max_hit_rate})
        return results

    def report(self) -> list[dict]:
        out = [{"table": self.table, "column": out_col, "source_column": src, "entity": entity, "kind": kind,
                "count": n} for (out_col, src, entity, kind), n in sorted(self.findings.items())]
        for col, n in sorted(self.unchanged.items()):
            if self.rows and n / self.rows > ROWWISE_MAX_SHARE:
                out.append({"table": self.table, "column": col, "source_column": col, "entity": self.entity[col],
                            "kind": f"{n / self.rows:.0%} of values unchanged", "count": n})
        return out
