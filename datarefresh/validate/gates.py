"""All publish gates for one environment, in one place.

Exact checks on every row (checks.py), the leak scan and k-anonymity results gathered
while the tables streamed, and the Great Expectations suites on a bounded sample. Any
failure keeps the environment's pointer where it is.
"""

from __future__ import annotations

from typing import Callable

import pyarrow as pa

from datarefresh.config import Config, TableConfig
from datarefresh.validate.checks import Check, check_env
from datarefresh.validate.expectations import Validator, parity_expectations, user_expectations


def evaluate(env: str, config: Config, policies: dict[str, TableConfig], tables: dict[str, dict],
             load_keys: Callable[[str, str], pa.Array], load_sample: Callable[[str, int], pa.Table],
             validator: Validator) -> tuple[list[Check], dict[str, dict]]:
    """`tables[name]`: rows_in, rows, columns, expected_columns, pk_nulls, prod_nulls, leaks, k_anonymity."""
    checks = check_env(env, tables, policies, load_keys)
    for name, t in tables.items():
        leaks = t.get("leaks") or {}
        for f in leaks.get("findings", []):
            checks.append(Check(env, name, "leak_scan", False,
                                f"{f['kind']} of {f['source_column']} ({f['entity']}) in column {f['column']}: "
                                f"{f['count']} cells"))
        if leaks.get("scanned"):
            checks.append(Check(env, name, "leak_scan", not leaks.get("findings"),
                                f"{leaks['scanned']} PII columns, {leaks['originals']} sampled originals"))
        for r in leaks.get("text_rescan", []):
            checks.append(Check(env, name, f"text_rescan:{r['column']}", r["passed"],
                                f"hit rate {r['hit_rate']:.1%} over {r['texts']} texts "
                                f"(max {config.validation.text_rescan_max_hit_rate:.0%}); {', '.join(r['entities'])}"))
        k = t.get("k_anonymity")
        if env == "dev" and k:
            detail = f"smallest group {k['smallest_group']} on {', '.join(k['quasi_identifiers'])} (k={k['k']})"
            if k.get("suppressed_rows"):
                detail += f"; {k['suppressed_rows']} rows suppressed, then {k['smallest_group_after']}"
            checks.append(Check(env, name, "k_anonymity", k["passed"], detail))
    ge: dict[str, dict] = {}
    for name, t in tables.items():
        sample = load_sample(name, config.validation.sample_rows)
        whole = sample.num_rows >= t["rows"]
        exps = user_expectations(config, name) + parity_expectations(env, policies[name], t, config, whole)
        res = validator.run(env, name, sample, exps)
        res["scope"] = "whole table" if whole else f"sample of {sample.num_rows} rows"
        ge[name] = res
        failed = [f"{r['expectation']}({r['column'] or ''})" for r in res["results"] if not r["success"]]
        checks.append(Check(env, name, "expectations", res["passed"],
                            f"{len(res['results']) - len(failed)}/{len(res['results'])} passed on {res['scope']}"
                            + (f"; failed: {', '.join(failed)}" if failed else "")))
    return checks, ge
