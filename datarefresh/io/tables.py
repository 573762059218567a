"""Table files in, parquet parts out, always as Arrow record batches.

Readers stream: CSV and JSON lines go through pyarrow's incremental readers,
parquet is read row group by row group. Every failure is an InputError naming
the file and, where it can be known, the line; nothing is silently turned into
a null, a replacement character or another type.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Callable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq

from datarefresh.errors import InputError

BATCH_ROWS = 65_536
_BLOCK_BYTES = 4 << 20
_SUFFIXES = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}


CSV_DELIMITERS = (",", ";", "\t", "|")
_SNIFF_BYTES = 64 << 10


@dataclass(frozen=True)
class CsvDialect:
    """How a CSV file is written. None means "detect it from a sample" (`detect_dialect`)."""

    delimiter: str | None = None
    quote: str | None = None  # '"', "'", or "" for no quoting
    null_values: tuple[str, ...] = ("",)  # only an empty field is null unless configured
    decimal: str | None = None  # "." or ","


@dataclass(frozen=True)
class TableFile:
    """One data file of a table. `opener` returns a fresh binary stream of the raw bytes."""

    name: str  # for messages: a path or s3://bucket/key
    format: str
    gzip: bool
    opener: Callable[[], BinaryIO]
    size: int | None = None
    csv: CsvDialect | None = None  # CSV only: the dialect decided for the table (None: comma, double quote)
    # Hive-style partition folders above the file (`dt=2026-11-29/`): values, typed by `partition_schema`
    partition: tuple[tuple[str, str | None], ...] = ()
    partition_schema: pa.Schema | None = None


# --- Hive-style partitions -------------------------------------------------------------------
# `events/dt=2026-11-29/part-0.parquet`: the folders are columns. They are typed as pyarrow's
# partitioning discovery types them (int32 when every value is an integer that fits, else
# string; `__HIVE_DEFAULT_PARTITION__` is null; values are URI-decoded), listed like any column,
# and written back in the same layout (never inside the files: readers would see them twice).
HIVE_NULL = "__HIVE_DEFAULT_PARTITION__"
_INT32 = re.compile(r"^-?\d{1,10}$")


def hive_pairs(rel_path: str) -> tuple[tuple[str, str | None], ...]:
    """The `key=value` folders of a path relative to its table (the file name excluded)."""
    from urllib.parse import unquote

    pairs = []
    for seg in rel_path.split("/")[:-1]:
        if "=" in seg:
            k, v = seg.split("=", 1)
            pairs.append((unquote(k), None if v == HIVE_NULL else unquote(v)))
    return tuple(pairs)


def infer_partition_schema(pairs: list[tuple[tuple[str, str | None], ...]], name: str) -> pa.Schema | None:
    """One schema for a table's partition folders; every file must have the same keys."""
    keys = {tuple(k for k, _ in p) for p in pairs}
    if len(keys) > 1:
        levels = " vs ".join("/".join(k) or "(none)" for k in sorted(keys))
        raise InputError(
            f"files sit under different partition folders ({levels}); every file of a table "
            "needs the same key=value levels",
            file=name,
        )
    names = next(iter(keys), ())
    if not names:
        return None
    fields = []
    for i, k in enumerate(names):
        values = [p[i][1] for p in pairs if p[i][1] is not None]
        ints = values and all(_INT32.match(v) and -(2**31) <= int(v) < 2**31 for v in values)
        fields.append(pa.field(k, pa.int32() if ints else pa.string()))
    return pa.schema(fields)


def with_partitions(
    files: list[TableFile], rel_paths: list[str], name: str, schema: pa.Schema | None = None
) -> list[TableFile]:
    """Files with their partition values; `schema` pins the types (a work unit sees only some
    partitions, so the table-wide types come from the plan)."""
    from dataclasses import replace

    pairs = [hive_pairs(r) for r in rel_paths]
    schema = schema if schema is not None else infer_partition_schema(pairs, name)
    if schema is None:
        return files
    return [replace(f, partition=p, partition_schema=schema) for f, p in zip(files, pairs)]


def _partition_columns(f: TableFile, num_rows: int) -> list[tuple[pa.Field, pa.Array]]:
    out = []
    for fl, (k, v) in zip(f.partition_schema or [], f.partition):
        try:
            out.append((fl, pa.array([v] * num_rows, pa.string()).cast(fl.type)))
        except (pa.ArrowInvalid, ValueError):
            # never the value: folder names are data too
            raise InputError(f"the {k}= partition folder is not a {fl.type}", file=f.name) from None
    return out


def _add_partitions(f: TableFile, batch: pa.RecordBatch) -> pa.RecordBatch:
    if f.partition_schema is None:
        return batch
    for fl, arr in _partition_columns(f, batch.num_rows):
        if fl.name in batch.schema.names:
            raise InputError(f"column {fl.name} is both in the file and in its partition folder", file=f.name)
        batch = batch.append_column(fl, arr)
    return batch


def partition_path(values: dict[str, object]) -> str:
    """`dt=2026-11-29/h=1` for the values of one partition (hive layout, URI-encoded)."""
    from urllib.parse import quote

    return "/".join(
        f"{quote(str(k), safe='')}={HIVE_NULL if v is None else quote(str(v), safe='')}"
        for k, v in values.items()
    )


def read_parts(
    paths: list[tuple[str, BinaryIO | str]], columns: list[str] | None = None, schema: pa.Schema | None = None
) -> pa.Table | None:
    """Parquet parts written by PartWriter (path relative to the table, source), partition
    columns restored from the folders (typed over all `paths`, or by `schema`); None when
    there are none."""
    tables = []
    rels = [r for r, _ in paths]
    if schema is None and rels:
        schema = infer_partition_schema([hive_pairs(r) for r in rels], "output")
    for rel, src in paths:
        file_cols = None if columns is None else [c for c in columns if not schema or c not in schema.names]
        t = pq.read_table(src, columns=file_cols)
        f = TableFile(
            rel,
            "parquet",
            False,
            opener=lambda: None,
            partition=hive_pairs(rel),  # type: ignore
            partition_schema=schema,
        )
        for fl, arr in _partition_columns(f, t.num_rows) if schema else []:
            if columns is None or fl.name in columns:
                t = t.append_column(fl, arr)
        tables.append(t)
    return pa.concat_tables(tables) if tables else None


def detect_format(name: str) -> tuple[str, bool] | None:
    """('csv', True) for 'x.csv.gz'; None for files that are not table data."""
    p = name.lower()
    gz = p.endswith(".gz")
    if gz:
        p = p[:-3]
    ext = os.path.splitext(p)[1]
    fmt = _SUFFIXES.get(ext)
    return (fmt, gz) if fmt else None


def list_local_table(folder: str | Path, fmt: str | None = None) -> list[TableFile]:
    """Data files of a table folder, in a stable (sorted) order. Hidden files are ignored."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError("not a folder", file=str(folder))
    files = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if any(part.startswith((".", "_")) for part in path.relative_to(folder).parts):
            continue
        detected = detect_format(path.name)
        if detected is None:
            continue
        if fmt and detected[0] != fmt:
            raise InputError(f"expected {fmt} files in this table, found {detected[0]}", file=str(path))
        files.append(
            TableFile(
                str(path),
                detected[0],
                detected[1],
                opener=lambda p=path: open(p, "rb"),
                size=path.stat().st_size,
            )
        )
    if not files:
        raise InputError("no parquet, CSV or JSON lines files found", file=str(folder))
    formats = {f.format for f in files}
    if len(formats) > 1:
        raise InputError(f"mixed formats in one table ({', '.join(sorted(formats))})", file=str(folder))
    return with_partitions(files, [Path(f.name).relative_to(folder).as_posix() for f in files], str(folder))


class _Utf8Stream(io.RawIOBase):
    """Decodes the source encoding incrementally and hands pyarrow valid UTF-8 only.

    pyarrow turns invalid UTF-8 into binary columns (CSV) or U+FFFD (JSON) without a
    word; checking here costs one pass over bytes already in memory and lets the
    error name the line.
    """

    def __init__(self, raw: BinaryIO, name: str, encoding: str):
        self._raw, self._name, self._encoding = raw, name, encoding
        try:
            self._decoder = codecs.getincrementaldecoder(encoding)("strict")
        except LookupError:
            raise InputError(f"unknown encoding {encoding!r}", file=name) from None
        self._passthrough = codecs.lookup(encoding).name == "utf-8"
        self._lines = 0
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:  # type: ignore[override]
        while not self._pending:
            chunk = self._raw.read(_BLOCK_BYTES)
            final = not chunk
            try:
                text = self._decoder.decode(chunk, final=final)
            except UnicodeDecodeError as exc:
                line = self._lines + exc.object[: exc.start].count(b"\n") + 1
                raise InputError(
                    f"invalid {self._encoding} text ({exc.reason})", file=self._name, row=line
                ) from None
            data = chunk if self._passthrough else text.encode("utf-8")
            self._lines += chunk.count(b"\n")
            if final and not data:
                return 0
            self._pending = data
        n = min(len(buf), len(self._pending))
        buf[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


def _open_stream(f: TableFile) -> BinaryIO:
    raw = f.opener()
    return gzip_open(raw, f.name) if f.gzip else raw


def gzip_open(raw: BinaryIO, name: str) -> BinaryIO:
    import gzip

    class _Checked(gzip.GzipFile):
        def read(self, size=-1):  # type: ignore[override]
            try:
                return super().read(size)
            except (EOFError, OSError, gzip.BadGzipFile) as exc:
                raise InputError(
                    f"corrupt or truncated gzip data ({_without_values(str(exc))})", file=name
                ) from None

    return _Checked(fileobj=raw, mode="rb")


def iter_batches(
    f: TableFile, *, encoding: str = "utf-8", schema: pa.Schema | None = None, batch_rows: int = BATCH_ROWS
) -> Iterator[pa.RecordBatch]:
    """Stream a file as record batches (partition columns last, as pyarrow datasets have them)."""
    if schema is not None and f.partition_schema is not None:  # the file itself has no partition columns
        schema = pa.schema([fl for fl in schema if fl.name not in f.partition_schema.names])
    for batch in _file_batches(f, encoding, schema, batch_rows):
        yield _add_partitions(f, batch)


def _file_batches(
    f: TableFile, encoding: str, schema: pa.Schema | None, batch_rows: int
) -> Iterator[pa.RecordBatch]:
    if f.format == "parquet":
        yield from _parquet_batches(f, batch_rows)
    elif f.format == "csv":
        yield from _csv_batches(f, encoding, schema)
    elif f.format == "jsonl":
        yield from _jsonl_batches(f, schema)
    else:  # pragma: no cover - detect_format only yields the three above
        raise InputError(f"unsupported format {f.format!r}", file=f.name)


def read_schema(f: TableFile, *, encoding: str = "utf-8") -> pa.Schema:
    if f.format == "parquet":
        schema = _parquet_file(f).schema_arrow
        for fl in f.partition_schema or []:
            if fl.name in schema.names:
                raise InputError(
                    f"column {fl.name} is both in the file and in its partition folder", file=f.name
                )
            schema = schema.append(fl)
        return schema
    for batch in iter_batches(f, encoding=encoding):
        return batch.schema
    raise InputError("empty file", file=f.name)


def _parquet_file(f: TableFile) -> pq.ParquetFile:
    # Parquet needs random access (footer first): local files are opened directly,
    # remote or gzip'd ones are read into one buffer (objects are partitions, not tables).
    try:
        if not f.gzip and os.path.exists(f.name):
            return pq.ParquetFile(f.name, memory_map=False)
        with _open_stream(f) as stream:
            return pq.ParquetFile(pa.BufferReader(stream.read()))
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(
            f"not a readable parquet file ({_without_values(_short(exc))})", file=f.name
        ) from None


def _parquet_batches(f: TableFile, batch_rows: int) -> Iterator[pa.RecordBatch]:
    pf = _parquet_file(f)
    try:
        # Row group by row group: ParquetFile.iter_batches keeps allocations alive for the
        # whole file (memory grew with file size), read_row_group releases each group.
        for i in range(pf.num_row_groups):
            group = pf.read_row_group(i)
            yield from group.to_batches(max_chunksize=batch_rows)
            del group
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(f"corrupt parquet data ({_without_values(_short(exc))})", file=f.name) from None


_LEADING_ZERO = re.compile(r"^[+-]?0\d")
_DECIMAL_COMMA = re.compile(r"^[+-]?\d+(,\d+)?$")


def _sample_text(f: TableFile, encoding: str) -> str:
    """The first lines of a file, for dialect detection only (the real read checks the encoding)."""
    with _open_stream(f) as raw:
        data = raw.read(_SNIFF_BYTES)
    try:
        text = data.decode(encoding, errors="replace")
    except LookupError:
        raise InputError(f"unknown encoding {encoding!r}", file=f.name) from None
    if len(data) >= _SNIFF_BYTES and "\n" in text:
        text = text[: text.rindex("\n") + 1]  # no cut last line
    return text


def _widths(text: str, delimiter: str, quote: str | None) -> list[int]:
    args = {"delimiter": delimiter, **({"quotechar": quote} if quote else {"quoting": csv.QUOTE_NONE})}
    try:
        return [len(r) for r in csv.reader(io.StringIO(text, newline=""), **args) if r]
    except csv.Error:
        return []


def _guess_delimiter(text: str, quote: str | None) -> str | None:
    """The delimiter that splits the header into most fields with every sampled row as wide;
    None when no candidate splits it (a one-column file)."""
    return _guess_layout(text, None if quote is None else [quote])[0]


def _guess_layout(text: str, quotes: list[str] | None = None) -> tuple[str | None, str]:
    """(delimiter, quote) that split the header into most fields with every sampled row as
    wide, trying csv.Sniffer's guess first; (None, its quote) when nothing splits it."""
    try:
        sniffed = csv.Sniffer().sniff(text, delimiters="".join(CSV_DELIMITERS))
        sniffed_d, sniffed_q = sniffed.delimiter, sniffed.quotechar
    except csv.Error:
        sniffed_d, sniffed_q = None, '"'
    if quotes is None:
        quotes = [q for q in dict.fromkeys([sniffed_q, '"', "'"]) if q in ('"', "'")]
    delimiters = list(dict.fromkeys(([sniffed_d] if sniffed_d else []) + list(CSV_DELIMITERS)))
    best, best_width = (None, quotes[0] if quotes else '"'), 1
    for q in quotes:
        for d in delimiters:
            widths = _widths(text, d, q or None)
            if widths and widths[0] > best_width and all(w == widths[0] for w in widths):
                best, best_width = (d, q), widths[0]
    return best


def _guess_decimal(text: str, delimiter: str, quote: str | None) -> str:
    """A decimal comma only where it cannot be anything else: a non-comma delimiter, and a
    column whose values are all digits[,digits] with some not three decimals (1,234 could be a
    thousand); otherwise such columns stay text, which loses nothing."""
    if delimiter == ",":
        return "."
    args = {"delimiter": delimiter, **({"quotechar": quote} if quote else {"quoting": csv.QUOTE_NONE})}
    rows = list(csv.reader(io.StringIO(text, newline=""), **args))[1:]
    for col in zip(*[r for r in rows if len(r) == len(rows[0])]) if rows else []:
        values = [v.strip() for v in col if v.strip()]
        commas = [v for v in values if "," in v]
        if (
            commas
            and all(_DECIMAL_COMMA.match(v) for v in values)
            and any(len(v.split(",")[1]) != 3 for v in commas)
        ):
            return ","
    return "."


def detect_dialect(f: TableFile, encoding: str = "utf-8", given: CsvDialect | None = None) -> CsvDialect:
    """Fill in what `given` leaves open (delimiter, decimal) from a sample of the file."""
    given = given or CsvDialect()
    if given.delimiter and given.quote is not None and given.decimal:
        return given  # decided already (by the config or the plan): no sample read
    text = _sample_text(f, encoding)
    if given.delimiter:
        delimiter, quote = given.delimiter, given.quote
        if quote is None:
            found, guessed = _guess_layout(text)
            quote = guessed if found == delimiter else '"'
    else:
        found, quote = _guess_layout(text, None if given.quote is None else [given.quote])
        delimiter = found or ","
    decimal = given.decimal or _guess_decimal(text, delimiter, quote or None)
    return CsvDialect(delimiter, quote, tuple(given.null_values), decimal)


def _check_header(f: TableFile, encoding: str, dialect: CsvDialect) -> None:
    """A header that parses to one column while the sample splits on another delimiter is a
    mis-set dialect, never a one-column table scrubbed as free text."""
    text = _sample_text(f, encoding)
    widths = _widths(text, dialect.delimiter or ",", dialect.quote or None)
    if not widths or widths[0] != 1:
        return
    header = text.splitlines()[0] if text else ""
    other = _guess_delimiter(text, dialect.quote or None) or next(
        (
            d
            for d in CSV_DELIMITERS
            if d != (dialect.delimiter or ",") and any(len(r) > 1 for r in csv.reader([header], delimiter=d))
        ),
        None,
    )
    if other and other != dialect.delimiter:
        raise InputError(
            f"the header parses to one column with delimiter {dialect.delimiter!r}, but the file "
            f"looks {other!r}-delimited: set csv.delimiter for this table",
            file=f.name,
        )


def _csv_options(
    f: TableFile, schema: pa.Schema | None
) -> tuple[CsvDialect, pacsv.ParseOptions, pacsv.ConvertOptions]:
    d = f.csv or CsvDialect(",", '"', ("",), ".")
    parse = pacsv.ParseOptions(delimiter=d.delimiter or ",", quote_char=d.quote or False)
    convert = pacsv.ConvertOptions(
        # Only an empty field is null: "NA", "null", "N/A" are real values in real data, unless
        # the table's csv.null_values says otherwise (then they are nulls in text columns too).
        null_values=list(d.null_values),
        strings_can_be_null=tuple(d.null_values) != ("",),
        true_values=["true", "True"],
        false_values=["false", "False"],
        decimal_point=d.decimal or ".",
        column_types=schema and {n: t for n, t in zip(schema.names, schema.types)},
    )
    return d, parse, convert


def _csv_batches(f: TableFile, encoding: str, schema: pa.Schema | None) -> Iterator[pa.RecordBatch]:
    dialect, parse, convert = _csv_options(f, schema)
    read = pacsv.ReadOptions(block_size=_BLOCK_BYTES)
    if schema is None:
        _check_header(f, encoding, dialect)
        convert.column_types = _csv_column_types(f, encoding, read, convert, parse)
    try:
        with _open_stream(f) as raw:
            reader = pacsv.open_csv(
                _Utf8Stream(raw, f.name, encoding),
                read_options=read,
                parse_options=parse,
                convert_options=convert,
            )
            for batch in reader:
                yield batch
    except pa.ArrowInvalid as exc:
        raise _csv_error(f, encoding, exc) from None


def _csv_column_types(f, encoding, read, convert, parse=None) -> dict[str, pa.DataType]:
    """Infer types on the first block, but keep as text what inference would damage
    (leading zeros in zip codes and phone numbers)."""
    parse = parse or pacsv.ParseOptions()

    def first_block(convert_options: pacsv.ConvertOptions) -> pa.RecordBatch:
        with _open_stream(f) as raw:
            return pacsv.open_csv(
                _Utf8Stream(raw, f.name, encoding),
                read_options=read,
                parse_options=parse,
                convert_options=convert_options,
            ).read_next_batch()

    try:
        first = first_block(convert)
        as_text = first_block(
            pacsv.ConvertOptions(
                null_values=[""],
                strings_can_be_null=False,
                column_types={n: pa.string() for n in first.schema.names},
            )
        )
    except StopIteration:  # the header parsed (an empty file fails in open_csv): no data rows
        raise InputError(
            "CSV file has a header but no rows: column types cannot be inferred", file=f.name
        ) from None
    except pa.ArrowInvalid as exc:
        raise _csv_error(f, encoding, exc) from None
    types = {}
    for name, typ in zip(first.schema.names, first.schema.types):
        if pa.types.is_integer(typ) or pa.types.is_floating(typ):
            values = as_text.column(name).to_pylist()
            if any(v and _LEADING_ZERO.match(v) for v in values):
                typ = pa.string()
        if pa.types.is_null(typ):
            typ = pa.string()
        types[name] = _storable(typ)
    return types


def _storable(typ: pa.DataType) -> pa.DataType:
    """Parquet has no second-resolution timestamps: infer text timestamps as milliseconds
    (lossless) so the output keeps exactly the type the source was read as."""
    if pa.types.is_timestamp(typ) and typ.unit == "s":
        return pa.timestamp("ms", typ.tz)
    return typ


def _too_long_row() -> str:
    return f"a row is longer than {_BLOCK_BYTES >> 20} MiB, the limit for one line of CSV or JSON lines"


_CONVERSION = re.compile(r"In CSV column #(\d+): CSV conversion error to (.+?): invalid value")


def _csv_error(f: TableFile, encoding: str, exc: Exception) -> InputError:
    msg = _short(exc)
    if "straddl" in msg:
        return InputError(_too_long_row(), file=f.name)
    if "Expected" in msg and "columns" in msg:
        row = _find_bad_csv_row(f, encoding)
        return InputError(
            msg.split(": ", 1)[-1].split(":")[0].strip() + " (wrong number of fields)", file=f.name, row=row
        )
    m = _CONVERSION.search(msg)
    if m:  # pyarrow quotes the cell ("invalid value '<a raw e-mail>'"): name the column and line instead
        index, typ = int(m.group(1)), m.group(2)
        name, row = _find_bad_csv_value(f, encoding, index, typ)
        return InputError(
            f"column {name!r} (#{index + 1}) holds a value that cannot be read as {typ} "
            "(the value is not shown; with several files, types come from the first one)",
            file=f.name,
            row=row,
        )
    return InputError(_without_values(msg), file=f.name)


def _find_bad_csv_value(f: TableFile, encoding: str, index: int, typ: str) -> tuple[str, int | None]:
    """Error path only: the column's name and the line of the first cell that does not convert."""
    import pyarrow.compute as pc

    try:
        target = pa.type_for_alias(typ)
    except ValueError:
        target = None
    d, args = _rescan_dialect(f)
    with _open_stream(f) as raw:
        reader = csv.reader(_text_lines(raw, f.name, encoding), **args)
        header = next(reader, [])
        name = header[index] if index < len(header) else f"#{index + 1}"
        if target is None:
            return name, None
        for fields in reader:
            cell = fields[index] if index < len(fields) else ""
            if cell in d.null_values:
                continue
            if d.decimal == "," and pa.types.is_floating(target):
                cell = cell.replace(",", ".")  # as pyarrow read it (decimal_point)
            try:
                pc.cast(pa.array([cell]), target)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                return name, reader.line_num
    return name, None


def _rescan_dialect(f: TableFile) -> tuple[CsvDialect, dict]:
    """The dialect pyarrow read the file with (`_csv_options`), as csv.reader arguments, so an
    error path's rescan splits the lines as the read did (a `;` file names the right column)."""
    d = _csv_options(f, None)[0]
    quoting = {"quotechar": d.quote} if d.quote else {"quoting": csv.QUOTE_NONE}
    return d, {"delimiter": d.delimiter or ",", **quoting}


def _text_lines(raw: BinaryIO, name: str, encoding: str) -> io.TextIOWrapper:
    """Text over any binary stream (local file or S3 body, which TextIOWrapper cannot wrap)."""
    return io.TextIOWrapper(io.BufferedReader(_Utf8Stream(raw, name, encoding)), encoding="utf-8", newline="")


# Where a library message starts quoting data: an opening quote (a value may itself hold quotes,
# so nothing after it is kept; an apostrophe inside a word is none) or the colon after "parse",
# "value", "string", "got N".
_VALUE_STARTS = re.compile(r"[\"`]|(?<!\w)'|\bb'|((?:parse|value|string|got \d+)\s*):", re.IGNORECASE)


def _without_values(msg: str) -> str:
    """A library message cut where it starts quoting a value (pyarrow quotes cells, or appends
    them after `couldn't parse:`); what is left names the problem, never the data."""
    m = _VALUE_STARTS.search(msg)
    if not m:
        return msg
    cut = m.end(1) if m.group(1) else m.start()
    return msg[:cut].rstrip(" :,(") + " (rest withheld: it may quote a value)"


def _find_bad_csv_row(f: TableFile, encoding: str) -> int | None:
    """Error path only: rescan with the csv module to report the line of the bad row."""
    with _open_stream(f) as raw:
        reader = csv.reader(_text_lines(raw, f.name, encoding), **_rescan_dialect(f)[1])
        width = None
        for fields in reader:
            if width is None:
                width = len(fields)
            elif len(fields) != width:
                return reader.line_num
    return None


def _jsonl_batches(f: TableFile, schema: pa.Schema | None) -> Iterator[pa.RecordBatch]:
    parse = pajson.ParseOptions(
        explicit_schema=schema, unexpected_field_behavior="error" if schema else "infer"
    )
    try:
        with _open_stream(f) as raw:
            reader = pajson.open_json(
                _Utf8Stream(raw, f.name, "utf-8"),
                read_options=pajson.ReadOptions(block_size=_BLOCK_BYTES),
                parse_options=parse,
            )
            for batch in reader:
                target = pa.schema([fl.with_type(_storable(fl.type)) for fl in batch.schema])
                yield batch if target == batch.schema else batch.cast(target)
    except pa.ArrowInvalid as exc:
        if "straddl" in str(exc):  # pyarrow's words for a row that does not fit in one block
            raise InputError(_too_long_row(), file=f.name) from None
        raise InputError(f"invalid JSON lines ({_without_values(_short(exc))})", file=f.name) from None


def _short(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0]


class PartWriter:
    """Writes one table as parquet parts `part-00000.parquet`, `part-00001.parquet`, ...

    Rows are written in a keyed order, not in input order: prod exports are usually sorted
    by primary key, so a kept input order would give ids back from row positions. `order`
    maps a batch to one uint64 per row (a keyed hash of the pseudonymized key, see
    refresh.table.row_order); rows are sorted by it over the whole table, ties in input order,
    and parts are cut every `rows_per_part` rows of that order: the same input gives the
    same files, and a re-run overwrites rather than adds. Memory stays bounded: up to
    `buffer_bytes` of rows are sorted in memory; beyond that, rows are spilled (already
    sanitized) to SPILL_BUCKETS local Arrow files by the top bits of their hash, and each
    bucket is sorted on its own at close (buckets in hash order, so the order is global). A
    PartitionedWriter gives its per-folder writers one budget and spills the biggest first.
    Without `order`, rows keep input order.

    Field and schema metadata (comments, pandas/Spark schema blobs) are not written: they
    come from prod and may hold anything.
    """

    SPILL_BITS = 6  # 64 spill files: memory at close is about 1/64 of the table

    def __init__(
        self,
        folder: str | Path,
        schema: pa.Schema,
        *,
        rows_per_part: int = 1_000_000,
        order: Callable[[pa.RecordBatch], np.ndarray] | None = None,
        buffer_bytes: int = 64 << 20,
    ):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.schema = bare_schema(schema)
        self.rows_per_part = rows_per_part
        self.rows = 0
        self.parts: list[Path] = []
        self._writer: pq.ParquetWriter | None = None
        self._part_rows = 0
        self._order, self._buffer_bytes = order, buffer_bytes
        self._held: list[pa.RecordBatch] = []  # batches with their order hash as a last column
        self._held_bytes = 0
        self._spilled, self._spill_seq = False, 0

    @property
    def held_bytes(self) -> int:
        return self._held_bytes

    def write(self, batch: pa.RecordBatch) -> None:
        if not batch.schema.equals(self.schema, check_metadata=True):
            batch = batch.cast(self.schema)
        self.rows += batch.num_rows
        if self._order is None:
            self._emit(batch)
            return
        if not batch.num_rows:
            return
        batch = batch.append_column(_ORDER, pa.array(self._order(batch), pa.uint64()))
        if self._spilled:
            self._spill_batch(batch)
            return
        self._held.append(batch)
        self._held_bytes += batch.nbytes
        if self._held_bytes > self._buffer_bytes:
            self.spill()

    def spill(self) -> None:
        """Move the held rows to the spill files; every later batch goes there directly."""
        self._spilled = True
        for held in self._held:
            self._spill_batch(held)
        self._held, self._held_bytes = [], 0

    def _spill_batch(self, batch: pa.RecordBatch) -> None:
        # one small Arrow file per bucket and batch, closed at once: no descriptors stay open
        # (a partitioned table has one writer per partition folder)
        spill = self.folder / ".spill"
        spill.mkdir(exist_ok=True)
        bucket = batch.column(_ORDER).to_numpy() >> np.uint64(64 - self.SPILL_BITS)
        for i in np.unique(bucket):
            with pa.ipc.new_stream(spill / f"{int(i):03d}-{self._spill_seq:08d}.arrow", batch.schema) as w:
                w.write_batch(batch.filter(pa.array(bucket == i)))
        self._spill_seq += 1

    def _emit_sorted(self, batches: list[pa.RecordBatch]) -> None:
        if not batches:
            return
        table = pa.Table.from_batches(batches)
        idx = np.argsort(table.column(_ORDER).to_numpy(), kind="stable")
        table = table.drop_columns([_ORDER]).take(pa.array(idx))
        for batch in table.to_batches(max_chunksize=BATCH_ROWS):
            self._emit(batch)

    def _emit(self, batch: pa.RecordBatch) -> None:
        while batch.num_rows:
            if self._writer is None or self._part_rows >= self.rows_per_part:
                self._roll()
            take = min(batch.num_rows, self.rows_per_part - self._part_rows)
            try:
                self._writer.write_batch(batch.slice(0, take))  # type: ignore[union-attr]
            except OSError:
                self.discard()
                raise
            self._part_rows += take
            batch = batch.slice(take)

    def _roll(self) -> None:
        if self._writer is not None:
            self._writer.close()
        path = self.folder / f"part-{len(self.parts):05d}.parquet"
        self.parts.append(path)
        self._writer = pq.ParquetWriter(path, self.schema, compression="zstd")
        self._part_rows = 0

    def close(self) -> list[Path]:
        if self._spilled:
            import shutil

            spill = self.folder / ".spill"
            for i in range(1 << self.SPILL_BITS):  # buckets in hash order, each sorted: one global order
                batches = []
                for path in sorted(spill.glob(f"{i:03d}-*.arrow")):
                    with pa.ipc.open_stream(path) as reader:
                        batches += list(reader)
                self._emit_sorted(batches)
            shutil.rmtree(spill, ignore_errors=True)
        else:
            self._emit_sorted(self._held)
        self._held = []
        if self._writer is None:  # an empty table still gets one (empty) part with the schema
            self._roll()
        try:
            self._writer.close()  # type: ignore[union-attr]
        except OSError:
            self.discard()
            raise
        return self.parts

    def discard(self) -> None:
        """After a failed run (a full disk): let the file go without a second error when the
        writer is garbage collected (pyarrow retries close() in __del__ and prints the failure), and
        remove the spilled rows (sanitized, but not a finished output: nothing may be left behind)."""
        import shutil

        self._held = []
        shutil.rmtree(self.folder / ".spill", ignore_errors=True)
        writer, self._writer = self._writer, None
        if writer is None:
            return
        try:
            writer.close()
        except OSError:
            writer.is_open = False


class PartitionedWriter:
    """Writes one table in hive-style folders by the values of `partition_by`
    (`dt=2026-11-29/part-00000.parquet`), one PartWriter per folder; those columns leave the
    files (readers take them from the path, and would see them twice otherwise)."""

    def __init__(
        self,
        folder: str | Path,
        schema: pa.Schema,
        partition_by: list[str],
        *,
        rows_per_part: int = 1_000_000,
        order: Callable[[pa.RecordBatch], np.ndarray] | None = None,
        buffer_bytes: int = 64 << 20,
    ):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.schema, self.partition_by, self.rows_per_part = schema, partition_by, rows_per_part
        self._order, self._buffer_bytes = order, buffer_bytes  # one budget for all folders' buffers
        self.file_schema = pa.schema([f for f in schema if f.name not in partition_by])
        self.rows = 0
        self.parts: list[Path] = []
        self._children: dict[str, PartWriter] = {}

    def write(self, batch: pa.RecordBatch) -> None:
        if not batch.num_rows:
            return
        keys = pa.Table.from_batches([batch]).select(self.partition_by)
        groups = (
            keys.append_column("_row", pa.array(range(batch.num_rows)))
            .group_by(self.partition_by, use_threads=False)
            .aggregate([("_row", "list")])
        )
        for g in groups.to_pylist():
            rel = partition_path({c: g[c] for c in self.partition_by})
            child = self._children.get(rel)
            if child is None:
                child = self._children[rel] = PartWriter(
                    self.folder / rel,
                    self.file_schema,
                    rows_per_part=self.rows_per_part,
                    order=self._order,
                    buffer_bytes=self._buffer_bytes,
                )
            rows = batch.take(pa.array(g["_row_list"])).select(self.file_schema.names)
            child.write(rows)
            self.rows += rows.num_rows
        while sum(c.held_bytes for c in self._children.values()) > self._buffer_bytes:
            max(self._children.values(), key=lambda c: c.held_bytes).spill()

    def close(self) -> list[Path]:
        if not self._children:  # no rows: one empty part with the file columns, no partition folder
            self._children[""] = PartWriter(
                self.folder, self.file_schema, rows_per_part=self.rows_per_part, order=self._order
            )
        self.parts = [p for rel in sorted(self._children) for p in self._children[rel].close()]
        return self.parts

    def discard(self) -> None:
        for child in self._children.values():
            child.discard()


def open_writer(
    folder: str | Path, schema: pa.Schema, partition_by: list[str] | None = None, **kw
) -> PartWriter | PartitionedWriter:
    """The writer for a table's output: in the source's partition folders when it has them."""
    by = [c for c in partition_by or [] if c in schema.names]
    return PartitionedWriter(folder, schema, by, **kw) if by else PartWriter(folder, schema, **kw)


_ORDER = "__datarefresh_order"


def bare_schema(schema: pa.Schema) -> pa.Schema:
    """The schema without field or schema metadata, nested fields included."""
    return pa.schema([pa.field(f.name, _bare_type(f.type), f.nullable) for f in schema])


def _bare_type(t: pa.DataType) -> pa.DataType:
    if pa.types.is_struct(t):
        return pa.struct([pa.field(f.name, _bare_type(f.type), f.nullable) for f in t])
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        v = t.value_field
        inner = pa.field(v.name, _bare_type(v.type), v.nullable)
        if pa.types.is_fixed_size_list(t):
            return pa.list_(inner, t.list_size)
        return pa.large_list(inner) if pa.types.is_large_list(t) else pa.list_(inner)
    if pa.types.is_map(t):
        return pa.map_(
            _bare_type(t.key_type),
            pa.field(t.item_field.name, _bare_type(t.item_type), t.item_field.nullable),
            t.keys_sorted,
        )
    return t
