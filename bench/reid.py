"""The re-identification attack on the dev output, made the way an attacker would make it.

The attacker holds the dev copy and a public roster of the population: every prod person's
name and quasi-identifiers (built here from the same prod data, in prod order, which is sorted
by primary key as exports usually are). The attacker knows how datarefresh generalizes
(Kerckhoffs): a dev cell matches a roster person when it equals the person's value at any level
of the generalization hierarchies (month, year, bands, postcode prefixes), when it is blank, or
when it is "Other" and the person's value is not the population's most frequent one (which
every "top N + Other" level keeps, whatever N the group got). Columns on which
some dev rows match nobody (fakes) are useless to the attacker and left out.

Figures, per data set (share of dev rows):
- qi_linkage: exactly one roster person matches the row on the quasi-identifiers, and it is the
  right one (correct unique matches);
- row_order: the row's position predicts its person exactly (position x population / sample);
  with spearman, the rank correlation of output position and prod position;
- qi_and_row_order: among the persons the quasi-identifiers leave, the one nearest the position
  is the right one (the two channels combined);
- frequency_decoding: per small-domain roster column that dev transformed instead of keeping,
  the share of cells decoded by matching frequency ranks (a substitution cipher);
- qi_cells_informative: of the quasi-identifier cells that hold a value in prod, the share that
  still hold one in dev (not blanked).

Data split (the rule for every change): the "dev" seeds (bench/people.SEEDS["dev"], DEMO_SEEDS
["dev"]) may be used to tune anything; the "heldout" seeds are only measured and reported.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

BENCH_KEY = b"reid-bench-key-not-a-secret-0123456789"
DEMO_SEEDS = {"dev": 0, "heldout": 20261202}
DEMO_ROSTER = ["birth_date", "gender", "zip", "city", "state", "country"]
SMALL_DOMAIN = 64


# -- the attack -------------------------------------------------------------------------------


def _as_text(values: pa.Array) -> np.ndarray:
    return np.asarray(pc.cast(values, pa.string()).to_pylist(), dtype=object)


def _roster_levels(column: str, values: pa.Array) -> list[np.ndarray]:
    """Every generalization of the roster column the attacker can compute (as text); the
    attacker knows which columns are postcodes."""
    from datarefresh.validate.kanon import build_hierarchy

    postcode = any(w in column.lower() for w in ("zip", "postcode", "postal"))
    h = build_hierarchy(column, values, "ZIP_CODE" if postcode else None)
    levels = [
        _as_text(v) for v, name in zip(h.values, h.names) if not name.startswith("top") and name != "blank"
    ]
    if postcode:  # and the fixed-width prefixes datarefresh's zip3 operator writes
        from datarefresh.anonymize.fakes import zero_after

        levels += [_as_text(zero_after(values, n)) for n in (1, 2, 3, 4)]
    return levels


def consistent(
    column: str, dev: pa.Array, roster: pa.Array, published: pa.Array | None = None
) -> np.ndarray | None:
    """(dev rows x roster persons) bool: the dev cell is compatible with the person's value
    ("Other" with anyone but the holders of the most frequent value: the groups of a local
    recoding keep different numbers of top values). None when dev cells were not derived from
    the real values (some match nobody). `published`: the roster column under the column's own
    keyless policy (e.g. generalize to year), which the attacker reads in the plan and applies too;
    its hierarchy levels are added (k-map generalizes the published values)."""
    d = _as_text(dev)
    levels = _roster_levels(column, roster)
    raw = levels[0]
    if published is not None:
        levels += _roster_levels(column, published)
    out = np.zeros((len(d), len(raw)), bool)
    for lv in levels:
        index: dict = {}
        for j, v in enumerate(lv):
            if v is not None:
                index.setdefault(v, []).append(j)
        for i, v in enumerate(d):
            if v is not None and v in index:
                out[i, index[v]] = True
    blank = np.array([v is None for v in d])
    out[blank, :] = True
    other = np.array([v == "Other" for v in d], bool)
    if other.any():
        present = [r for r in raw if r is not None]
        top = max(sorted(set(present)), key=present.count) if present else None
        out[np.ix_(other, np.array([r != top for r in raw], bool))] = True
    matched = out.any(axis=1)
    if matched.mean() < 0.99:
        return None
    return out


def _transformed(dev: pa.Array, roster: pa.Array) -> bool:
    """Most dev values are not roster values: the column was replaced (faked), not kept."""
    present = dev.drop_null()
    return (
        bool(len(present))
        and pc.mean(
            pc.cast(pc.is_in(present, value_set=roster.drop_null().cast(present.type)), pa.float64())
        ).as_py()
        < 0.5
    )


def frequency_decoding(dev: pa.Array, truth: pa.Array) -> float:
    """Share of dev cells decoded by mapping dev values to roster values of the same frequency rank."""

    def ranked(a):
        counts = pc.value_counts(a.drop_null())
        pairs = sorted(
            zip(counts.field("counts").to_pylist(), counts.field("values").to_pylist()),
            key=lambda x: (-x[0], str(x[1])),
        )
        return [v for _, v in pairs]

    mapping = dict(zip(ranked(dev), ranked(truth)))
    got = [mapping.get(v) for v in dev.to_pylist()]
    want = truth.to_pylist()
    return float(np.mean([g is not None and g == w for g, w in zip(got, want)])) if want else 0.0


def attack(
    dev: pa.Table,
    roster: pa.Table,
    truth_index: np.ndarray,
    roster_columns: list[str],
    qis: list[str],
    published: dict[str, pa.Array] | None = None,
) -> dict:
    """dev: the dev output table, in its written order; roster: the prod population in prod order;
    truth_index[i]: the roster row of dev row i (ground truth, known to the bench only);
    published: roster columns under their keyless column policies (see `consistent`)."""
    n, population = dev.num_rows, roster.num_rows
    candidates = np.ones((n, population), bool)
    used, decoded = [], {}
    for c in roster_columns:
        if c not in dev.column_names:
            continue
        dcol, rcol = dev.column(c).combine_chunks(), roster.column(c).combine_chunks()
        m = consistent(c, dcol, rcol, (published or {}).get(c))
        if m is not None:
            used.append(c)
            candidates &= m
        elif pc.count_distinct(rcol).as_py() <= SMALL_DOMAIN and _transformed(dcol, rcol):
            decoded[c] = round(frequency_decoding(dcol, rcol.take(pa.array(truth_index))), 4)
    count = candidates.sum(axis=1)
    rows = np.arange(n)
    correct = candidates[rows, truth_index]
    unique_right = (count == 1) & correct
    predicted = np.clip(np.round((rows + 0.5) * population / max(n, 1) - 0.5), 0, population - 1).astype(int)
    order_right = predicted == truth_index
    # combined: the candidate nearest the predicted position
    dist = np.abs(np.arange(population)[None, :] - predicted[:, None]).astype(float)
    dist[~candidates] = np.inf
    nearest = dist.argmin(axis=1)
    combined = (nearest == truth_index) & np.isfinite(dist[rows, nearest])
    spearman = _spearman(rows, truth_index)
    informative, total = 0, 0
    for c in qis:
        if c in dev.column_names and c in roster.column_names:
            before = pc.is_valid(roster.column(c).combine_chunks().take(pa.array(truth_index)))
            after = pc.is_valid(dev.column(c).combine_chunks())
            total += int(pc.sum(before).as_py() or 0)
            informative += int(pc.sum(pc.and_(before, after)).as_py() or 0)
    return {
        "dev_rows": n,
        "population": population,
        "columns_linked": used,
        "qi_linkage": round(float(unique_right.mean()) if n else 0.0, 4),
        "unique_but_wrong": round(float(((count == 1) & ~correct).mean()) if n else 0.0, 4),
        "mean_candidates": round(float(count.mean()) if n else 0.0, 1),
        # a random pick among the persons the quasi-identifiers leave: what qi_and_row_order
        # falls to once row order carries nothing (the prosecutor risk, 1 / matches)
        "guess_among_candidates": round(float(np.mean(1.0 / np.maximum(count, 1))) if n else 0.0, 4),
        "row_order": round(float(order_right.mean()) if n else 0.0, 4),
        "row_order_median_error": float(np.median(np.abs(predicted - truth_index))) if n else 0.0,
        "row_order_spearman": round(spearman, 3),
        "qi_and_row_order": round(float(combined.mean()) if n else 0.0, 4),
        "frequency_decoding": decoded,
        "qi_cells_informative": round(informative / total, 4) if total else None,
    }


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) < 3:
        return 0.0
    ra, rb = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    return float(np.corrcoef(ra, rb)[0, 1])


# -- running it on a sanitized copy -----------------------------------------------------------


def run_dataset(
    prod: Path,
    table: str,
    roster_columns: list[str],
    *,
    config=None,
    fraction: float = 0.1,
    k: int | None = 2,
    use_presidio: bool = True,
) -> dict:
    """Sanitize PROD (dev only, zero-config unless `config`), then attack the dev table."""
    from datarefresh.anonymize.engine import apply_column
    from datarefresh.anonymize.keyed import Keyring
    from datarefresh.anonymize.operators import OpContext
    from datarefresh.config import (
        ColumnPolicy,
        Config,
        EnvironmentConfig,
        SamplingConfig,
    )
    from datarefresh.refresh.local import discover_local, sanitize_folder

    cfg = config.model_copy(deep=True) if config is not None else Config()
    cfg.validation.k_anonymity = k
    cfg.environments["dev"] = EnvironmentConfig(
        bucket="unused", sampling=SamplingConfig(mode="sample", fraction=fraction)
    )
    keyring = Keyring(BENCH_KEY)
    with tempfile.TemporaryDirectory() as out:
        report = sanitize_folder(
            prod, out, keyring=keyring, config=cfg, envs=("dev",), use_presidio=use_presidio
        )
        dev = pq.read_table(sorted((Path(out) / table).glob("*.parquet")))
    rep = report["tables"][table]
    pk = rep["primary_key"]
    roster = discover_local(prod, cfg if cfg.tables else None)[table]
    roster_table = pa.Table.from_batches(list(roster.batches()))
    pk_policy = ColumnPolicy(**{k2: v for k2, v in rep["columns"][pk].items() if v is not None})
    pseudonyms = apply_column(roster_table.column(pk).combine_chunks(), pk_policy, OpContext(keyring))
    where = {v: i for i, v in enumerate(pseudonyms.to_pylist())}
    truth = np.array([where[v] for v in dev.column(pk).to_pylist()], dtype=int)
    kan = rep.get("k_anonymity") or {}
    qis = kan.get("quasi_identifiers", [])
    # what the attacker computes from the plan: each roster column under its keyless policy
    published = {}
    if any((rep["columns"].get(c) or {}).get("action") == "generalize" for c in roster_columns):
        from datarefresh.refresh.table import plan_tables

        plan = plan_tables(
            discover_local(prod, cfg if cfg.tables else None),
            cfg if cfg.tables else None,
            use_presidio=use_presidio,
        )[table]  # what `plan` shows (the same as sanitize's)
        for c in roster_columns:
            policy = plan.columns.get(c)
            if policy is not None and policy.action == "generalize" and c in roster_table.column_names:
                published[c] = apply_column(
                    roster_table.column(c).combine_chunks(), policy, OpContext(keyring)
                )
    result = attack(dev, roster_table, truth, roster_columns, qis, published)
    result["quasi_identifiers"] = qis
    if kan:
        result["pipeline_report"] = {
            x: kan.get(x)
            for x in (
                "k",
                "model",
                "method",
                "information_loss",
                "unique_share_before",
                "unique_share_after",
                "unique_in_sample_before",
                "unique_in_sample_after",
                "suppressed_rows",
                "cells_changed_share",
                "cells_informative_share",
                "levels",
            )
        }
    return result


def run(split: str = "heldout", demo_rows: int = 1500, people_rows: int = 3000) -> dict:
    """Both data sets, before (no k-anonymity) and after (the default: k=2 by generalization)."""
    from bench import people
    from datarefresh.config import Config, bundled_demo_config
    from datarefresh.devtools.demo_data import generate

    out: dict = {"split": split}
    with tempfile.TemporaryDirectory() as d:
        demo = Path(d) / "demo"
        generate(demo, rows=demo_rows, seed=DEMO_SEEDS[split], tables=("customers",))
        bundled = bundled_demo_config()
        configured = Config(tables={"customers": bundled.tables["customers"]}, validation=bundled.validation)
        out["demo_zero_config"] = {
            "before": run_dataset(demo, "customers", DEMO_ROSTER, k=None),
            "after": run_dataset(demo, "customers", DEMO_ROSTER),
        }
        out["demo_bundled_config"] = {
            "after": run_dataset(
                demo, "customers", DEMO_ROSTER, config=configured, k=bundled.validation.k_anonymity
            )
        }
        pdir = Path(d) / "people"
        people.generate(pdir, people_rows, people.SEEDS[split])
        out["people_zero_config"] = {
            "before": run_dataset(pdir, "people", people.ROSTER, k=None),
            "after": run_dataset(pdir, "people", people.ROSTER),
        }
        out["people_country_name_faked"] = {"as_on_main": _faked_country(pdir)}
    return out


def _faked_country(pdir: Path) -> dict:
    """What the small-domain rule prevents: CountryFull faked one-to-one (as classification did
    before it, Presidio calling country names LOCATION -> fake cities), then decoded."""
    from datarefresh.config import ColumnPolicy, Config
    from datarefresh.refresh.local import discover_local
    from datarefresh.refresh.table import plan_tables

    plan = plan_tables(discover_local(pdir))["people"]
    columns = plan.columns | {"CountryFull": ColumnPolicy(action="fake", entity="CITY", type="string")}
    faked = plan.model_copy(update={"columns": columns, "quasi_identifiers": []})
    result = run_dataset(pdir, "people", ["CountryFull"], config=Config(tables={"people": faked}), k=None)
    return {"frequency_decoding": result["frequency_decoding"], "columns_linked": result["columns_linked"]}


def kmap_speed(rows: int, fraction: float = 0.05) -> dict:
    """Seconds to protect a dev sample of `fraction` of a `rows`-row unit (demo customers, five
    quasi-identifiers, k=2 against the whole unit)."""
    import time

    import pyarrow.parquet as pq

    from datarefresh.anonymize.fakes import zero_after
    from datarefresh.devtools.demo_data import generate
    from datarefresh.validate.kanon import anonymize_sample

    def qis(t: pa.Table) -> dict[str, pa.Array]:
        col = lambda c: t.column(c).combine_chunks()
        return {
            "birth_date": pc.floor_temporal(col("birth_date"), 1, "year"),
            "gender": col("gender"),
            "zip": zero_after(col("zip"), 3),
            "state": col("state"),
            "country": col("country"),
        }

    with tempfile.TemporaryDirectory() as d:
        generate(d, rows=rows, seed=DEMO_SEEDS["dev"], tables=("customers",))
        table = pq.read_table(Path(d) / "customers")
    picked = np.flatnonzero(np.random.default_rng(0).random(rows) < fraction)
    t = time.perf_counter()
    rep = anonymize_sample(qis(table.take(pa.array(picked))), 2, population=qis(table)).report
    return {
        "population_rows": rows,
        "dev_rows": len(picked),
        "seconds": round(time.perf_counter() - t, 1),
        "cells_informative_share": rep["cells_informative_share"],
        "information_loss": rep["information_loss"],
    }


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(run(sys.argv[1] if len(sys.argv) > 1 else "dev"), indent=2))
