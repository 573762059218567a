"""Great Expectations suites: the checked-in per-table rules and a parity suite built from
the prod snapshot at run time, run on a bounded sample of each output table.

`datarefresh/data/expectations/<table>.json` (package data, so a wheel carries them; a config's
`validation.expectations_dir` points elsewhere) holds a table's own rules (not null, value sets, ranges,
uniqueness) in Great Expectations' suite format; edit it to add expectations. The parity
suite adds: exactly prod's columns, keys not null and unique, null rates close to prod's,
and, when the sample is the whole table, the row count. Exact checks on every row (row
counts, key nulls, dev foreign keys) live in checks.py; the report says which is which.
"""

from __future__ import annotations

import json
import logging
from importlib import resources
from pathlib import Path

import pyarrow as pa

from datarefresh.config import Config, TableConfig
from datarefresh.errors import ConfigError
from datarefresh.validate.table_report import TableReport

# SUMMARY without unexpected values or rows; what it still computes is then reduced to counts
# (`_withhold_values`) before anything is stored or rendered. BOOLEAN_ONLY would keep even less,
# but Data Docs cannot render some expectations without an observed value (KeyError).
RESULT_FORMAT = {"result_format": "SUMMARY", "partial_unexpected_count": 0, "include_unexpected_rows": False}
_COUNTS = (
    "element_count",
    "missing_count",
    "missing_percent",
    "unexpected_count",
    "unexpected_percent",
    "unexpected_percent_total",
    "unexpected_percent_nonmissing",
)
WITHHELD = "(withheld)"
# The only observed values kept: a row or column count, or the column names. Any other expectation's
# observed value (a max, the most common values, a query's rows, a column pair's...) may be a cell,
# whatever its domain (column, column pair, column list or table), so it is withheld.
SCHEMA_OBSERVATIONS = frozenset(
    {
        "expect_table_row_count_to_equal",
        "expect_table_row_count_to_be_between",
        "expect_table_row_count_to_equal_other_table",
        "expect_table_column_count_to_equal",
        "expect_table_column_count_to_be_between",
        "expect_table_columns_to_match_ordered_list",
        "expect_table_columns_to_match_set",
    }
)


def bundled_expectations() -> Path:
    """The suites shipped in the package, found through importlib.resources: the same folder in an
    editable checkout and in an installed wheel (pip unpacks wheels, so it is a folder on disk)."""
    return Path(str(resources.files("datarefresh").joinpath("data", "expectations")))


def expectations_dir(config: Config) -> Path:
    return (
        Path(config.validation.expectations_dir)
        if config.validation.expectations_dir
        else bundled_expectations()
    )


def user_expectations(config: Config, table: str) -> list[dict]:
    path = expectations_dir(config) / f"{table}.json"
    if not path.exists():
        return []
    try:
        suite = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"invalid JSON at line {exc.lineno}: {exc.msg}", file=str(path)) from None
    exps = suite.get("expectations")
    if not isinstance(exps, list) or not all(isinstance(e, dict) and "type" in e for e in exps):
        raise ConfigError(
            'expected {"expectations": [{"type": ..., "kwargs": {...}}]}', file=str(path), key="expectations"
        )
    return [{"type": e["type"], "kwargs": e.get("kwargs", {}), "meta": {"source": path.name}} for e in exps]


def parity_expectations(
    env: str, policy: TableConfig, table: TableReport, config: Config, whole_table: bool, *, sampled: bool
) -> list[dict]:
    v = config.validation
    out = [
        {
            "type": "expect_table_columns_to_match_ordered_list",
            "kwargs": {"column_list": table.expected_columns},
            "meta": {"source": "parity"},
        }
    ]
    pk = policy.primary_key
    if pk and pk in table.expected_columns:
        out += [
            {
                "type": "expect_column_values_to_not_be_null",
                "kwargs": {"column": pk},
                "meta": {"source": "parity"},
            },
            {
                "type": "expect_column_values_to_be_unique",
                "kwargs": {"column": pk},
                "meta": {"source": "parity"},
            },
        ]
    if whole_table and not sampled:  # a full copy has exactly prod's rows
        out.append(
            {
                "type": "expect_table_row_count_to_equal",
                "kwargs": {"value": table.rows_in},
                "meta": {"source": "parity"},
            }
        )
    suppressed = set(policy.quasi_identifiers) if v.on_k_violation in ("suppress", "generalize") else set()
    for col in table.expected_columns:
        p = policy.columns.get(col)
        if p is None or p.action in ("null", "redact") or col in suppressed or not table.rows_in:
            continue
        prod_null = table.prod_nulls.get(col, 0) / table.rows_in
        if prod_null >= 1:
            continue
        mostly = max(0.0, round(1 - prod_null - v.null_rate_tolerance, 4))
        if mostly > 0:
            out.append(
                {
                    "type": "expect_column_values_to_not_be_null",
                    "kwargs": {"column": col, "mostly": mostly},
                    "meta": {"source": "parity", "prod_null_rate": round(prod_null, 4)},
                }
            )
    return out


class Validator:
    """One ephemeral Great Expectations context per run, with a Data Docs site on disk: `run` per
    table and environment, then `build_docs` once (GX rebuilds the whole site on each build)."""

    def __init__(self, docs_dir: Path, run_name: str | None = None):
        import great_expectations as gx

        # GX logs an expectation's exception with its message, which may quote a cell
        logging.getLogger("great_expectations").setLevel(logging.CRITICAL)
        self.run_name = run_name
        self.gx = gx
        self.ctx = gx.get_context(mode="ephemeral")
        try:
            self.ctx.variables.progress_bars = {"globally": False}
        except Exception:  # noqa: BLE001 - cosmetic only
            pass
        self.docs_dir = docs_dir
        self.ctx.add_data_docs_site(
            "datarefresh",
            {
                "class_name": "SiteBuilder",
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(docs_dir),
                },
            },
        )
        self.source = self.ctx.data_sources.add_pandas("outputs")

    def run(self, env: str, table: str, sample: pa.Table, expectations: list[dict]) -> dict:
        from great_expectations.core import ExpectationSuite
        from great_expectations.core.run_identifier import RunIdentifier
        from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier
        from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

        name = f"{env}.{table}"
        suite = ExpectationSuite(name=name)
        for e in expectations:
            # a suite's own result_format would bring the values back
            e = {**e, "kwargs": {k: v for k, v in e["kwargs"].items() if k != "result_format"}}
            try:
                suite.add_expectation_configuration(ExpectationConfiguration(**e))
            except Exception as exc:  # noqa: BLE001 - GE raises many types for a bad expectation
                raise ConfigError(f"bad expectation {e['type']} for table {table}: {exc}") from None
        suite = self.ctx.suites.add(suite)
        asset = self.source.add_dataframe_asset(name)
        vd = self.ctx.validation_definitions.add(
            self.gx.ValidationDefinition(
                name=name, data=asset.add_batch_definition_whole_dataframe("sample"), suite=suite
            )
        )
        # The data is prod-derived: keep no values in results, so Data Docs, the report and logs
        # cannot show any (SUMMARY, the default, lists unexpected values and observed values).
        cp = self.ctx.checkpoints.add(
            self.gx.Checkpoint(
                name=name, validation_definitions=[vd], actions=[], result_format=RESULT_FORMAT
            )
        )
        result = cp.run(
            batch_parameters={"dataframe": sample.to_pandas()},
            run_id=RunIdentifier(run_name=self.run_name) if self.run_name else None,
        )
        # Results keep observed values (a column's max, its distinct values) and an exception's
        # message, which may quote a cell (pandas and strptime errors do): reduce them to counts
        # and the exception's type, store that in place of the stored result, then render the docs.
        for identifier, run in result.run_results.items():
            for r in run.results:
                _withhold_values(r)
                _withhold_exception(r)
            _describe_batch(run, f"{table} ({env})")
            self.ctx.validation_results_store.store_validation_results(
                suite_validation_result=run,
                suite_validation_result_identifier=identifier,
                expectation_suite_identifier=ExpectationSuiteIdentifier(name=run.suite_name),
            )
        results = []
        for run in result.run_results.values():
            for r in run.results:
                cfg = r.expectation_config
                results.append(
                    {
                        "expectation": cfg.type,
                        "column": cfg.kwargs.get("column"),
                        "source": (cfg.meta or {}).get("source"),
                        "success": bool(r.success),
                    }
                )
        return {"passed": bool(result.success), "sample_rows": sample.num_rows, "results": results}

    def build_docs(self) -> None:
        """Render the Data Docs of every result so far, once, and make them open offline."""
        from datarefresh.validate.datadocs import make_offline

        self.ctx.build_data_docs(site_names=["datarefresh"])
        make_offline(self.docs_dir)


def _describe_batch(run, asset: str) -> None:
    """Name the data asset on the validation page (GX shows `Data asset: None` for a dataframe) and
    drop the batch's fingerprint (a digest of the sampled rows)."""
    meta = run.meta
    meta["batch_spec"] = {**(meta.get("batch_spec") or {}), "data_asset_name": asset}
    if isinstance(meta.get("batch_markers"), dict):
        meta["batch_markers"] = {k: v for k, v in meta["batch_markers"].items() if "fingerprint" not in k}


def _withhold_values(r) -> None:
    """Keep counts and percentages, and an observed value only when it is a row or column count or
    the column names (SCHEMA_OBSERVATIONS); every other observed value, list or detail goes."""
    res = dict(r.result or {})
    kept = {k: res[k] for k in _COUNTS if k in res and (res[k] is None or isinstance(res[k], (int, float)))}
    if "unexpected_percent" not in kept:  # GX's renderer needs both (distinct-value expectations have one)
        kept.pop("unexpected_count", None)
    if "observed_value" in res:
        value = res["observed_value"]
        schema = r.expectation_config.type in SCHEMA_OBSERVATIONS and (
            (isinstance(value, int) and not isinstance(value, bool))
            or (isinstance(value, list) and all(isinstance(v, str) for v in value))
        )
        kept["observed_value"] = value if schema else WITHHELD
    if "partial_unexpected_list" in res or "unexpected_list" in res:  # renderers expect the (empty) lists
        kept.update(
            partial_unexpected_list=[], partial_unexpected_counts=[], partial_unexpected_index_list=[]
        )
    r.result = kept


def _withhold_exception(r) -> None:
    """Reduce an expectation result's exception info to the exception's type name."""
    info = r.exception_info or {}
    entries = [info] if "raised_exception" in info else [v for v in info.values() if isinstance(v, dict)]
    raised = [e for e in entries if e.get("raised_exception")]
    if not raised:
        return
    tb = (raised[0].get("exception_traceback") or "").strip().splitlines()
    kind = tb[-1].split(":", 1)[0].strip() if tb else "an exception"
    message = (
        f"{kind} while evaluating this expectation (message withheld: it may quote a value from the data)"
    )
    r.exception_info = {
        "raised_exception": True,
        "exception_traceback": message,
        "exception_message": message,
    }
