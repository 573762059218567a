"""One table through snapshot -> sanitize -> sample -> write, as plain functions (no Airflow here).

`TableSource` reads a table's files (local or S3), `plan_tables` settles each table's policy
(the config's, or classification), `sanitize_table` runs one table (or one work unit of it)
into every output. Both the local-folder path (`refresh.local`) and the S3 run's units
(`refresh.plan`, `refresh.unit`, `refresh.publish`) go through here. Each table is read once:
every anonymized batch goes to the full output and the sampled rows of it to a sampled one.
Nothing raw is written anywhere: rows are read, anonymized in memory and only then written.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from datarefresh.anonymize.engine import TableTransformer
from datarefresh.anonymize.keyed import Keyring, mix
from datarefresh.config import Config, CsvOptions, SamplingConfig, TableConfig, ValidationConfig, sampling_for
from datarefresh.detect import keys
from datarefresh.detect.classify import SAMPLE_ROWS, classify_table
from datarefresh.errors import ConfigError, InputError, PolicyError
from datarefresh.io.tables import (
    CsvDialect,
    PartitionedWriter,
    PartWriter,
    TableFile,
    _add_partitions,
    _parquet_file,
    detect_dialect,
    iter_batches,
    open_writer,
    read_schema,
)
from datarefresh.sample import DevSampler, key_anonymizer
from datarefresh.validate.checks import count_blanks
from datarefresh.validate.kanon import DevGeneralizer
from datarefresh.validate.leaks import LeakScanner

Progress = Callable[[str], None]


SCAN_ROWS = 2_000_000  # rows `sample` reads at most per table


def _spread(n: int) -> list[int]:
    """0, n-1, then the middle ones by halving: early files and late ones both count."""
    order, seen = [], set()
    queue = [(0, n - 1)] if n else []
    for i in (0, n - 1):
        if 0 <= i < n and i not in seen:
            order.append(i)
            seen.add(i)
    while queue:
        lo, hi = queue.pop(0)
        mid = (lo + hi) // 2
        if mid not in seen:
            order.append(mid)
            seen.add(mid)
        if hi - lo > 1:
            queue += [(lo, mid), (mid, hi)]
    return order + [i for i in range(n) if i not in seen]


@dataclass
class TableSource:
    name: str
    files: list[TableFile]
    encoding: str = "utf-8"
    schema: pa.Schema | None = None
    csv: CsvOptions | None = None  # as configured (or planned); the rest is detected on the first file
    _dialect: CsvDialect | None = field(default=None, repr=False, compare=False)

    def dialect(self) -> CsvDialect | None:
        """CSV tables: the dialect every file is read with (what the config leaves open is
        detected from the first file's sample); None for other formats."""
        if self._dialect is None and self.files and self.files[0].format == "csv":
            given = (
                CsvDialect(**{**self.csv.model_dump(), "null_values": tuple(self.csv.null_values)})
                if self.csv
                else None
            )
            self._dialect = detect_dialect(self.files[0], self.encoding, given)
            self.files = [replace(f, csv=self._dialect) for f in self.files]
        return self._dialect

    def partition_columns(self) -> list[str]:
        """Hive-style partition folders of the table (`dt=.../`): columns, and the output layout."""
        schema = self.files[0].partition_schema if self.files else None
        return list(schema.names) if schema is not None else []

    def csv_options(self) -> CsvOptions | None:
        d = self.dialect()
        return (
            None
            if d is None
            else CsvOptions(
                delimiter=d.delimiter,
                quote=d.quote,  # type: ignore[arg-type]
                null_values=list(d.null_values),
                decimal=d.decimal,
            )
        )

    def first_schema(self) -> pa.Schema:
        if self.schema is None:
            self.dialect()
            self.schema = read_schema(self.files[0], encoding=self.encoding)
        return self.schema

    def batches(self) -> Iterator[pa.RecordBatch]:
        """Every file's batches, checked against the first file's schema. Read errors name the table."""
        try:
            for i, f in enumerate(self.files):
                yield from self._file_batches(i, f)
        except InputError as exc:
            raise self._named(exc) from None

    def _named(self, exc: InputError) -> InputError:
        where = exc.file + (f", line {exc.row}" if exc.row is not None else "") + ": "
        text = str(exc)[len(where) :] if str(exc).startswith(where) else str(exc)
        return (
            exc
            if text.startswith("table ")
            else InputError(f"table {self.name}: {text}", file=exc.file, row=exc.row)
        )

    def _file_batches(self, i: int, f: TableFile) -> Iterator[pa.RecordBatch]:
        """One file's batches (file i of the table), checked against the first file's schema."""
        schema = self.first_schema()
        explicit = schema if (i and f.format != "parquet") else None
        for batch in iter_batches(f, encoding=self.encoding, schema=explicit):
            if batch.schema != schema:
                if batch.schema.names != schema.names:
                    raise InputError(
                        f"columns differ from {self.files[0].name}: {batch.schema.names} vs {schema.names}",
                        file=f.name,
                    )
                try:
                    batch = batch.cast(schema)
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError):
                    raise InputError(f"column types differ from {self.files[0].name}", file=f.name) from None
            yield batch

    def _spread_batches(self, i: int, f: TableFile, budget: int) -> Iterator[pa.RecordBatch]:
        """A file's batches; for a parquet file larger than `budget` rows, only row groups
        spread evenly over the file (its footer says where they are), not its first ones."""
        if f.format == "parquet":
            pf = _parquet_file(f)
            groups = pf.num_row_groups
            if pf.metadata.num_rows > budget and groups > 1:
                per_group = max(pf.metadata.num_rows // groups, 1)
                take = min(groups, max(1, budget // per_group))
                picks = sorted({round(k * (groups - 1) / max(take - 1, 1)) for k in range(take)})
                schema = self.first_schema()
                for g in picks:
                    try:
                        group = pf.read_row_group(g)
                    except (pa.ArrowInvalid, OSError):
                        raise InputError("corrupt parquet data", file=f.name) from None
                    for batch in group.to_batches():
                        batch = _add_partitions(f, batch)  # partition folders' columns, as iter_batches adds
                        if batch.schema != schema:
                            try:
                                batch = batch.cast(schema)
                            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError):
                                raise InputError(
                                    f"column types differ from {self.files[0].name}", file=f.name
                                ) from None
                        yield batch
                return
        yield from self._file_batches(i, f)

    def sample(self, rows: int = SAMPLE_ROWS, scan_rows: int = SCAN_ROWS) -> pa.Table:
        """Up to `rows` rows drawn from across the table, not its first rows: every file
        (first, last, then the middle ones) and every batch of each contributes, so a column
        that starts empty or a file written differently is still seen. A bottom-k sample
        under a seeded random priority keeps memory at `rows` rows plus one batch; at most
        about `scan_rows` rows are read, shared evenly between the files (so a table of
        many files is sampled from all of them; a huge parquet file from row groups spread
        over it, a huge CSV or JSON lines file from its first rows)."""
        schema = self.first_schema()
        order = _spread(len(self.files))
        per_file = max(1_000, scan_rows // max(len(self.files), 1))
        rng = np.random.default_rng(0)
        kept: pa.Table | None = None
        prio, where = (
            np.empty(0),
            np.empty(0, np.int64),
        )  # random priority; (file, row) to restore table order
        total = 0
        for i in order:
            if total >= scan_rows:
                break
            read = 0
            for batch in self._spread_batches(i, self.files[i], per_file):
                if read >= per_file:
                    break
                batch = batch.slice(0, per_file - read)
                table = pa.Table.from_batches([batch], schema=schema)
                kept = table if kept is None else pa.concat_tables([kept, table])
                prio = np.concatenate([prio, rng.random(batch.num_rows)])
                where = np.concatenate([where, (i << 40) + read + np.arange(batch.num_rows, dtype=np.int64)])
                read += batch.num_rows
                total += batch.num_rows
                if kept.num_rows > rows:
                    keep = np.sort(np.argpartition(prio, rows)[:rows])
                    kept, prio, where = kept.take(pa.array(keep)), prio[keep], where[keep]
        if kept is None:
            return schema.empty_table()
        return kept.take(pa.array(np.argsort(where, kind="stable"))).combine_chunks()


# Widest table processed (measured: 1,000 columns of 100 rows take ~50 s in the leak scan alone).
MAX_COLUMNS = 1_000


def unconfigured_tables(
    folders: list[str], config: Config, where: str, mode: str | None = None, progress: Progress | None = None
) -> list[str]:
    """Table folders of the source that no configured table reads. `unknown_tables: fail` (the
    default) refuses the run naming them; skip and classify name them in a message."""
    claimed = {(t.path or name).strip("/").split("/")[0] for name, t in config.tables.items()}
    unknown = sorted(set(folders) - claimed)
    mode = mode or config.unknown_tables
    if unknown and mode == "fail":
        raise ConfigError(
            f"table folder(s) in {where} but not in the config: {', '.join(unknown)}; add them to "
            "tables (datarefresh plan writes their policy) or set unknown_tables: skip",
            key="tables",
        )
    if unknown and progress:
        progress(
            ("skipping" if mode == "skip" else "classifying") + f" table folder(s) not in the config "
            f"(unknown_tables: {mode}): {', '.join(unknown)}"
        )
    return unknown


def plan_tables(
    sources: dict[str, TableSource],
    config: Config | None = None,
    *,
    use_presidio: bool = True,
    progress: Progress | None = None,
    classify_missing: bool = False,
) -> dict[str, TableConfig]:
    """Policies for every table: the config's where it has them, classification elsewhere;
    then keys from values (`datarefresh.detect.keys`) for the classified tables.

    A configured table without `columns:` follows unknown_columns like any unlisted column:
    classify, or refused (fail; drop would drop every column). `classify_missing` (the `plan`
    command) classifies it instead."""
    planned: dict[str, TableConfig] = {}
    classified: set[str] = set()
    for name, src in sources.items():
        width = len(src.first_schema())
        if width > MAX_COLUMNS:
            raise PolicyError(
                f"{width:,} columns, more than the {MAX_COLUMNS:,} a table may have: the leak scan "
                "compares every text column with every PII column, so time grows with the square "
                "of the width; split the table",
                table=name,
            )
        configured = config.tables.get(name) if config else None
        csv_options = src.csv_options()  # the dialect decided for a CSV table is part of its plan
        if configured and csv_options:
            configured = configured.model_copy(update={"csv": csv_options})
        unknown_columns = config.unknown_columns_for(name) if config else "classify"
        if configured and not configured.columns and unknown_columns != "classify" and not classify_missing:
            raise PolicyError(
                f"the config lists this table without columns: (unknown_columns: {unknown_columns}"
                + (", which would drop every column" if unknown_columns == "drop" else "")
                + "); add its columns (datarefresh plan --config writes them) or set "
                "unknown_columns: classify for it",
                table=name,
            )
        if configured and configured.columns and unknown_columns != "classify":
            planned[name] = configured
            continue
        if progress:
            progress(f"classifying {name}")
        auto = classify_table(name, src.sample(), use_presidio=use_presidio, find_keys=False)
        if configured:  # keep what the config says, classify only the rest
            auto = _merge_classified(configured, auto)
        planned[name] = auto if auto.csv or not csv_options else auto.model_copy(update={"csv": csv_options})
        classified.add(name)
    if classified:
        find_fks = not config or not any(t.foreign_keys for t in planned.values())
        profiles = {}
        for name, src in sources.items():
            if progress:
                progress(f"profiling keys of {name}")
            t = planned[name]
            cols = (
                keys.key_candidates(src.first_schema(), t.columns)
                if name in classified
                else [c for c in [t.primary_key] if c and c in src.first_schema().names]
            )
            profiles[name] = keys.profile_batches(src.first_schema(), src.batches(), cols) if cols else {}
        keys.discover_keys(
            planned,
            profiles,
            {n: s.first_schema() for n, s in sources.items()},
            classified=classified,
            foreign_keys=find_fks,
        )
        for line in keys.describe(planned) if progress else ():
            progress(line)
    else:
        keys.align_foreign_keys(planned)
    return planned


def _merge_classified(configured: TableConfig, auto: TableConfig) -> TableConfig:
    """A configured table whose other columns were classified: the config's policies win. When the
    config names no quasi-identifiers, the proposed ones stand (as for a table it does not list),
    less keys, not_quasi_identifiers and columns the config makes carry no value."""
    from datarefresh.detect.quasi import carries_value

    merged = dict(auto.columns) | configured.columns
    update: dict = {"columns": merged}
    if not configured.quasi_identifiers:
        keys = {configured.primary_key} | {fk.column for fk in configured.foreign_keys}
        proposed = [
            q
            for q in auto.quasi_identifiers
            if q in merged
            and q not in keys
            and q not in configured.not_quasi_identifiers
            and (q not in configured.columns or carries_value(merged[q]))
        ]
        evidence = {q: e for q, e in auto.quasi_identifier_evidence.items() if q in proposed}
        update |= {"quasi_identifiers": proposed, "quasi_identifier_evidence": evidence}
    return configured.model_copy(update=update, deep=True)


def check_quasi_identifiers_declared(name: str, policy: TableConfig, columns: list[str], env: str) -> None:
    """A config's quasi_identifiers are used as written: refuse a sampled environment whose table keeps
    columns that look like quasi-identifiers but are not listed (employer and occupation left out
    would single people out of a sample generalized on the others only)."""
    from datarefresh.detect.quasi import undeclared

    missing = [c for c in undeclared(policy) if c in columns]
    if missing:
        raise PolicyError(
            f"column(s) {', '.join(missing)} keep their values and look like quasi-identifiers "
            f"(by name or entity) but are not in quasi_identifiers, so the {env} sample would "
            "not be generalized on them; add them to quasi_identifiers, or list those that are "
            "not under not_quasi_identifiers",
            table=name,
        )


@dataclass
class Output:
    """One destination of a run: a full copy keeps every row, a sampled one only the sampled ones."""

    env: str
    folder: Path
    sampler: DevSampler | None = None
    writers: dict[str, PartWriter | PartitionedWriter] = field(default_factory=dict)


def make_outputs(
    root: Path,
    sampling: dict[str, SamplingConfig],
    keyring: Keyring,
    tables: dict[str, TableConfig],
    load_parent_keys: Callable[[str, str, str], pa.Array | None] | None = None,
) -> list[Output]:
    """One output per environment (in `sampling`'s order) under ROOT/<env>; an environment whose
    sampling mode is `sample` gets the keyed, FK-aware sampler. `load_parent_keys(env, table,
    column)`: a parent's sampled keys in that environment, for a child whose parent is not here."""
    outputs = []
    for env, s in sampling.items():
        sampler = None
        if s.mode == "sample":
            load = functools.partial(load_parent_keys, env) if load_parent_keys else None
            sampler = DevSampler(
                keyring, tables, s, load_parent_keys=load, anonymize_keys=key_anonymizer(keyring, tables)
            )
        outputs.append(Output(env, root / env, sampler))
    return outputs


def env_sampling(
    config: Config | None, envs: tuple[str, ...], fraction: float | None = None
) -> dict[str, SamplingConfig]:
    """Each environment's sampling (config.sampling_for), a sampled one optionally with another fraction."""
    out = {}
    for env in envs:
        base = sampling_for(config, env)
        if fraction is not None and base.mode == "sample":
            base = SamplingConfig(mode="sample", fraction=fraction, max_rows=base.max_rows)
        out[env] = base
    return out


def sanitize_table(
    name: str,
    src: TableSource,
    policy: TableConfig,
    keyring: Keyring,
    outputs: list[Output],
    config: Config | None,
    progress: Progress | None,
) -> dict:
    t0 = time.perf_counter()
    validation = config.validation if config else ValidationConfig()
    unknown_columns = config.unknown_columns_for(name) if config else "fail"
    transformer = TableTransformer(name, policy, src.first_schema(), keyring, unknown_columns=unknown_columns)
    scanner: LeakScanner | None = None
    prod_nulls: dict[str, int] = {}
    blanks: dict[str, list[int]] = {}  # column -> [empty texts in prod, after anonymization]
    rows_in = 0
    timings = {"read": 0.0, "sample": 0.0, "anonymize": 0.0, "write": 0.0}
    order = row_order(keyring, name, policy.primary_key, transformer.schema)
    for o in outputs:
        o.writers[name] = open_writer(
            o.folder / name, transformer.schema, src.partition_columns(), order=order
        )
    # sampled rows go through k-anonymity before they are written (see validate/kanon.py)
    dev_writers = {
        o.env: _dev_generalizer(o, name, policy, transformer.schema, validation) for o in outputs if o.sampler
    }
    dev_writers = {env: g for env, g in dev_writers.items() if g is not None}
    batches = src.batches()
    while True:
        t = time.perf_counter()
        batch = next(batches, None)
        timings["read"] += time.perf_counter() - t
        if batch is None:
            break
        rows_in += batch.num_rows
        for c in batch.schema.names:
            prod_nulls[c] = prod_nulls.get(c, 0) + batch.column(c).null_count
        t = time.perf_counter()
        try:
            clean = transformer.transform(batch)  # one anonymization feeds every output
        except (pa.ArrowException, ValueError, TypeError, OverflowError) as exc:
            raise _reworded(name, transformer, batch, exc) from None
        timings["anonymize"] += time.perf_counter() - t
        after = count_blanks(clean)
        for c, n in count_blanks(batch).items():
            if c in after:
                b = blanks.setdefault(c, [0, 0])
                b[0] += n
                b[1] += after[c]
        for g in dev_writers.values():
            g.observe(clean)  # the rows a dev row can hide among (k-map)
        if validation.leak_scan:
            t = time.perf_counter()
            scanner = scanner or LeakScanner(name, transformer.table, batch)
            scanner.observe(batch, clean)  # originals stay in this process's memory only
            timings["leak_scan"] = timings.get("leak_scan", 0.0) + time.perf_counter() - t
        for o in outputs:
            t = time.perf_counter()
            rows = o.sampler.select(name, clean) if o.sampler else clean
            timings["sample"] += time.perf_counter() - t
            t = time.perf_counter()
            dev_writers.get(o.env, o.writers[name]).write(rows)
            timings["write"] += time.perf_counter() - t
        if progress:
            progress(f"{name}: {rows_in:,} rows")
    for o in outputs:
        held = o.sampler.finish(name) if o.sampler else None  # capped/stratified samples settle at the end
        if held is not None and held.num_rows:
            dev_writers.get(o.env, o.writers[name]).write(held)
    kanon = {}
    for env, g in dev_writers.items():
        t = time.perf_counter()
        kanon[env] = g.finish(next(o for o in outputs if o.env == env).writers[name])
        timings["k_anonymity"] = timings.get("k_anonymity", 0.0) + time.perf_counter() - t
    rows_out = {}
    for o in outputs:
        o.writers[name].close()
        rows_out[o.env] = o.writers[name].rows
    leaks = None
    if scanner is not None:
        t = time.perf_counter()
        generated = transformer.stats.get(
            "generated", set()
        )  # our fakes: equal to an original only by chance
        leaks = {
            "findings": scanner.report(generated),
            "scanned": len(scanner.entity),
            "cells": scanner.cells,
            "originals": sum(len(v) for v in scanner.originals.values()),
            "text_rescan": scanner.rescan_text(
                transformer.stats.get("generated", set()), validation.text_rescan_max_hit_rate
            ),
            "sketch": scanner.run_sketch(keyring.subkey("leak-sketch")),
        }  # for cross_table_findings
        timings["leak_scan"] = timings.get("leak_scan", 0.0) + time.perf_counter() - t
    pk = policy.primary_key
    if (
        pk
        and pk in transformer.schema.names
        and not _unique_by_construction(transformer.schema.field(pk).type, policy.columns.get(pk))
    ):
        for o in outputs:
            _check_unique(name, pk, o.folder / name)
    return {
        "rows_in": rows_in,
        "rows_out": rows_out,
        "primary_key": policy.primary_key,
        "foreign_keys": [fk.model_dump() for fk in policy.foreign_keys],
        "columns": {c: {"action": p.action, "entity": p.entity} for c, p in policy.columns.items()},
        "text_entities": dict(transformer.stats.get("text_entities", {})),
        "prod_nulls": prod_nulls,
        "blanks": blanks,
        "leaks": leaks,
        "k_anonymity": next(iter(kanon.values()), None),  # the first sampled environment's (dev's)
        "k_anonymity_by_env": kanon,
        "seconds": {k: round(v, 3) for k, v in timings.items()}
        | {"total": round(time.perf_counter() - t0, 3)},
    }


def _dev_generalizer(
    o: Output, name: str, policy: TableConfig, schema: pa.Schema, validation: ValidationConfig
) -> DevGeneralizer | None:
    if validation.k_anonymity:
        check_quasi_identifiers_declared(name, policy, schema.names, o.env)
    qis = [q for q in policy.quasi_identifiers if q in schema.names]
    if not qis or not validation.k_anonymity:
        return None
    return DevGeneralizer(
        o.folder / ".k-anonymity" / f"{name}.arrow",
        schema,
        qis,
        validation.k_anonymity,
        mode=validation.on_k_violation,
        max_suppression=validation.max_suppression,
        max_risk=validation.max_reidentification_risk,
        max_population_rows=2_000_000 if validation.k_against == "population" else 0,
        entities={q: policy.columns[q].entity if q in policy.columns else None for q in qis},
    )


def row_order(
    keyring: Keyring, table: str, primary_key: str | None, schema: pa.Schema
) -> Callable[[pa.RecordBatch], np.ndarray]:
    """The keyed order rows are written in (see PartWriter): a keyed hash of the pseudonymized
    primary key, or of the whole output row when there is none. It is a function of the key and
    the output values only, so every run, process and environment agrees, and without the key a
    row's position says nothing about its prod key or its place in the prod export."""
    purpose = f"ORDER/{table}"
    if primary_key and primary_key in schema.names:
        return lambda batch: keyring.hash_values(purpose, batch.column(primary_key))

    def whole_row(batch: pa.RecordBatch) -> np.ndarray:
        h = np.zeros(batch.num_rows, np.uint64)
        for i, col in enumerate(batch.columns):
            try:
                text = pc.cast(col, pa.string())
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # nested, binary: hash their repr
                text = pa.array([repr(v) for v in col.to_pylist()], pa.string())
            h = mix(h ^ keyring.hash_values(purpose, text), i + 1)
        return h

    return whole_row


def _reworded(
    table: str, transformer: TableTransformer, batch: pa.RecordBatch, exc: Exception
) -> PolicyError:
    """A library error while anonymizing, without its message (pyarrow and pandas quote cells):
    the table, the column (found by transforming column by column) and the exception's type."""
    from datarefresh.anonymize.engine import apply_column
    from datarefresh.anonymize.operators import OpContext

    column = None
    for f, policy in transformer.plan:
        try:
            apply_column(batch.column(f.name), policy, OpContext(transformer.keyring), where=f.name)
        except Exception:  # noqa: BLE001 - any failure points at this column
            column = f.name
            break
    return PolicyError(
        f"anonymizing failed with {type(exc).__name__} (message withheld: it may quote a value)",
        table=table,
        column=column,
    )


def _unique_by_construction(typ: pa.DataType, policy) -> bool:
    """A key with no policy is kept; otherwise its operator knows (Operator.unique_by_construction)."""
    from datarefresh.anonymize.operators import get_operator

    return policy is None or get_operator(policy.action).unique_by_construction(policy, typ)


def _check_unique(table: str, column: str, folder: Path) -> None:
    """A transformed primary key must stay unique (ids map through a bijection; text keys
    through 64-bit tokens, so a collision is a bug worth failing for)."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    col = pq.read_table(folder, columns=[column]).column(column)
    if pc.count_distinct(col, mode="all").as_py() != len(col):
        raise PolicyError("primary key is not unique after anonymization", table=table, column=column)
