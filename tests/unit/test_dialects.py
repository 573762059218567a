"""CSV dialects: the delimiter and quoting are detected from a sample and recorded in `plan`,
can be pinned per table (`csv: {delimiter, quote, null_values, decimal}`), and a header that
parses to one column while the file shows another delimiter is an error naming the file."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from datarefresh.config import parse_config
from datarefresh.errors import ConfigError, InputError
from datarefresh.io.tables import CsvDialect, detect_dialect, iter_batches, list_local_table
from datarefresh.refresh.local import discover_local
from datarefresh.refresh.table import plan_tables

ROWS = [
    ["order_id", "customer_id", "amount_cents", "note"],
    ["1", "10", "1250", "first"],
    ["2", "11", "99", "a; b"],
    ["3", "10", "5000", ""],
]


def _write(tmp_path: Path, table: str, text: str, name: str = "part-0.csv") -> Path:
    folder = tmp_path / "src" / table
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")
    return tmp_path / "src"


def _csv(sep: str, rows=ROWS, quote='"') -> str:
    def cell(v):
        return f"{quote}{v}{quote}" if (sep in v or " " in v) else v

    return "".join(sep.join(cell(v) for v in r) + "\n" for r in rows)


@pytest.mark.parametrize("sep", [",", ";", "\t", "|"])
def test_each_delimiter_is_detected_and_read_as_columns(tmp_path, sep):
    src = discover_local(_write(tmp_path, "orders", _csv(sep)))["orders"]
    assert src.dialect().delimiter == sep
    t = src.sample()
    assert t.column_names == ROWS[0]  # before: one column named 'order_id;customer_id;...'
    assert t.column("amount_cents").to_pylist() == [1250, 99, 5000]
    assert t.column("note").to_pylist() == ["first", "a; b", ""]


def test_single_quotes_are_detected(tmp_path):
    src = discover_local(_write(tmp_path, "t", _csv(";", quote="'")))["t"]
    assert src.dialect().quote == "'"
    assert src.sample().column("note").to_pylist() == ["first", "a; b", ""]


def test_decimal_commas_with_a_semicolon_are_read_as_numbers(tmp_path):
    rows = [["id", "amount"], ["1", "12,50"], ["2", "3,1"], ["3", "7"]]
    src = discover_local(_write(tmp_path, "t", _csv(";", rows)))["t"]  # before: Expected 1 columns, got 2
    assert (src.dialect().delimiter, src.dialect().decimal) == (";", ",")
    assert src.sample().column("amount").to_pylist() == [12.5, 3.1, 7.0]


def test_an_ambiguous_thousands_comma_stays_text(tmp_path):
    rows = [["id", "amount"], ["1", "1,234"], ["2", "5,000"]]
    src = discover_local(_write(tmp_path, "t", _csv(";", rows)))["t"]
    assert src.dialect().decimal == "."
    assert src.sample().column("amount").to_pylist() == ["1,234", "5,000"]  # never 1.234


def test_plan_records_the_dialect_and_the_policy_reads_back(tmp_path):
    root = _write(tmp_path, "orders", _csv(";"))
    planned = plan_tables(discover_local(root), use_presidio=False)
    assert planned["orders"].csv.delimiter == ";" and planned["orders"].csv.decimal == "."
    from datarefresh.config import policy_to_yaml

    doc = yaml.safe_load(policy_to_yaml(planned))
    assert doc["tables"]["orders"]["csv"]["delimiter"] == ";"
    again = parse_config(doc)
    assert discover_local(root, again)["orders"].dialect().delimiter == ";"


def test_configured_options_win_over_detection(tmp_path):
    text = "id|name|score\n1|NULL|2,5\n2|Bo|\\N\n"
    root = _write(tmp_path, "t", text)
    cfg = parse_config(
        {"tables": {"t": {"csv": {"delimiter": "|", "null_values": ["", "NULL", "\\N"], "decimal": ","}}}}
    )
    t = discover_local(root, cfg)["t"].sample()
    assert t.column("name").to_pylist() == [None, "Bo"]
    assert t.column("score").to_pylist() == [2.5, None]


def test_a_header_of_one_column_while_the_file_shows_another_delimiter_names_the_file(tmp_path):
    root = _write(tmp_path, "orders", _csv(";"))
    cfg = parse_config({"tables": {"orders": {"csv": {"delimiter": ","}}}})
    with pytest.raises(
        InputError,
        match=r"part-0\.csv.*header parses to one column with delimiter ',', but the "
        r"file looks ';'-delimited",
    ):
        discover_local(root, cfg)["orders"].sample()
    # without a decided dialect the reader refuses too (never one silent column)
    with pytest.raises(InputError, match="looks ';'-delimited"):
        list(iter_batches(list_local_table(root / "orders")[0]))


def test_a_real_one_column_file_is_fine(tmp_path):
    root = _write(tmp_path, "t", "email\nann@example.org\nbo@example.org\n")
    src = discover_local(root)["t"]
    assert src.sample().column_names == ["email"]


def test_detection_fills_only_what_is_not_given(tmp_path):
    root = _write(tmp_path, "t", _csv("\t"))
    f = list_local_table(root / "t")[0]
    assert detect_dialect(f, given=CsvDialect(decimal=",")).delimiter == "\t"
    assert detect_dialect(f, given=CsvDialect(decimal=",")).decimal == ","


def test_a_bad_csv_option_fails_at_load_time():
    with pytest.raises(ConfigError, match="tables.t.csv.delimiter"):
        parse_config({"tables": {"t": {"csv": {"delimiter": ":"}}}})


def test_single_quotes_around_double_quotes_are_detected_with_the_delimiter(tmp_path):
    text = "id;note\n1;'say \"hi\" a;b'\n2;'O''Brien'\n3;plain\n"
    src = discover_local(_write(tmp_path, "t", text))["t"]
    assert (src.dialect().delimiter, src.dialect().quote) == (";", "'")
    assert src.sample().column("note").to_pylist() == ['say "hi" a;b', "O'Brien", "plain"]


def test_a_ragged_file_whose_header_splits_on_another_delimiter_is_still_an_error(tmp_path):
    root = _write(tmp_path, "t", "a;b;c\n1;2\n3;4;5;6\n")
    cfg = parse_config({"tables": {"t": {"csv": {"delimiter": ","}}}})
    with pytest.raises(InputError, match="looks ';'-delimited"):
        discover_local(root, cfg)["t"].sample()
