"""Nothing slips through configuration: prod metadata is not copied, a table without columns
follows unknown_columns, and a table folder nobody configured follows unknown_tables."""

from __future__ import annotations

import base64

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from datarefresh.config import parse_config
from datarefresh.errors import ConfigError, PolicyError
from datarefresh.refresh.local import sanitize_folder

SECRET_MAIL = "jane.metadata.7f3a@corp.example"


def _people(root, name="people"):
    (root / name).mkdir(parents=True)
    schema = pa.schema(
        [
            pa.field("id", pa.int64()),
            pa.field("email", pa.string(), metadata={"comment": f"owner {SECRET_MAIL}"}),
            pa.field("tags", pa.struct([pa.field("k", pa.string(), metadata={"doc": SECRET_MAIL})])),
        ],
        metadata={"spark.comment": SECRET_MAIL},
    )
    t = pa.table(
        {"id": [1, 2], "email": ["a@corp.example", "b@corp.example"], "tags": [{"k": "x"}, {"k": "y"}]}
    ).cast(schema)
    pq.write_table(t, root / name / "part-0.parquet")


COLUMNS = {
    "id": {"action": "hmac", "entity": "ID"},
    "email": {"action": "fake", "entity": "EMAIL_ADDRESS"},
    "tags": {"action": "keep"},
}


def test_field_and_schema_metadata_do_not_survive(tmp_path, keyring):
    _people(tmp_path / "prod")
    assert SECRET_MAIL.encode() in (tmp_path / "prod" / "people" / "part-0.parquet").read_bytes()
    cfg = parse_config({"tables": {"people": {"columns": COLUMNS}}})
    sanitize_folder(tmp_path / "prod", tmp_path / "out", keyring=keyring, config=cfg, use_presidio=False)
    (part,) = (tmp_path / "out" / "people").glob("*.parquet")
    raw = part.read_bytes()
    arrow_schema = base64.b64decode(pq.read_metadata(part).metadata[b"ARROW:schema"])
    for blob in (raw, arrow_schema):
        assert SECRET_MAIL.encode() not in blob
    schema = pq.read_schema(part)
    assert not schema.metadata or set(schema.metadata) == {b"ARROW:schema"}
    assert all(f.metadata is None for f in schema) and schema.field("tags").type.field("k").metadata is None


@pytest.mark.parametrize(
    "mode, words", [("fail", "without columns: (unknown_columns: fail)"), ("drop", "would drop every column")]
)
def test_configured_table_without_columns_follows_unknown_columns(tmp_path, keyring, mode, words):
    _people(tmp_path / "prod")
    cfg = parse_config({"unknown_columns": mode, "tables": {"people": {"primary_key": "id"}}})
    with pytest.raises(PolicyError, match="table people") as err:
        sanitize_folder(tmp_path / "prod", tmp_path / "out", keyring=keyring, config=cfg, use_presidio=False)
    assert words in str(err.value)
    classify = parse_config({"unknown_columns": "classify", "tables": {"people": {"primary_key": "id"}}})
    report = sanitize_folder(
        tmp_path / "prod", tmp_path / "out", keyring=keyring, config=classify, use_presidio=False
    )
    assert report["tables"]["people"]["columns"]["email"]["action"] != "keep"


def test_table_folder_not_in_the_config_fails_or_is_skipped_by_name(tmp_path, keyring, cli, secret_env):
    _people(tmp_path / "prod")
    _people(tmp_path / "prod", "forgotten_table")
    cfg = {"tables": {"people": {"columns": COLUMNS}}}
    with pytest.raises(ConfigError, match="not in the config: forgotten_table.*unknown_tables: skip"):
        sanitize_folder(
            tmp_path / "prod", tmp_path / "out", keyring=keyring, config=parse_config(cfg), use_presidio=False
        )
    messages = []
    report = sanitize_folder(
        tmp_path / "prod",
        tmp_path / "out",
        keyring=keyring,
        config=parse_config(cfg | {"unknown_tables": "skip"}),
        use_presidio=False,
        progress=messages.append,
    )
    assert report["skipped_tables"] == ["forgotten_table"] and list(report["tables"]) == ["people"]
    assert any("skipping" in m and "forgotten_table" in m for m in messages)
    assert not (tmp_path / "out" / "forgotten_table").exists()
    # `plan` with a config classifies what the config does not cover, instead of refusing
    (tmp_path / "c.yaml").write_text("tables:\n  people:\n    primary_key: id\n")
    result = cli("plan", tmp_path / "prod", "--config", tmp_path / "c.yaml")
    assert result.exit_code == 0 and "forgotten_table:" in result.output and "email:" in result.output
