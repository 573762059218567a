"""A blocked run leaves no data file a reader could list or read (in a versioned bucket not even
a noncurrent version), keeps its report, and never touches a published snapshot. Its report
and Data Docs hold no value from the data, whatever the expectation type."""

from __future__ import annotations

import gzip
import json
import re

import pyarrow.parquet as pq
import pytest

from datarefresh.config import parse_config
from datarefresh.devtools.demo_data import generate
from datarefresh.errors import ConfigError, InputError
from datarefresh.refresh.plan import parse_as_of
from datarefresh.refresh.run import refresh
from tests.conftest import TEST_KEY

DEV = "datarefresh-dev"
# what a page would load from the network: a remote script, stylesheet, image or CSS url(), or a CDN host
REMOTE = re.compile(
    r"""<script[^>]*src=["']https?:|<link[^>]*href=["']https?:|src=["']https?:|url\(["']?https?:"""
    r"|cdn\.jsdelivr|cdnjs\.|unpkg\.com|code\.jquery|bootstrapcdn|great-expectations-web-assets"
)
READER = "datarefresh-dev-reader"


@pytest.fixture(scope="module")
def prod(admin_s3, tmp_path_factory):
    """Demo customers in prod; the dev bucket versioned, as real environment buckets often are."""
    local = tmp_path_factory.mktemp("blocked") / "prod"
    generate(local, rows=60, seed=5)
    for path in sorted((local / "customers").rglob("*")):
        if path.is_file():
            admin_s3.upload_file(
                str(path), "datarefresh-prod", f"raw/blocked/{path.relative_to(local).as_posix()}"
            )
    admin_s3.put_bucket_versioning(Bucket=DEV, VersioningConfiguration={"Status": "Enabled"})
    emails = pq.read_table(local / "customers").column("email").to_pylist()
    return {"uri": "s3://datarefresh-prod/raw/blocked", "email": next(e for e in emails if e)}


def _config(config, prod, tmp_path, *, keep_email=False, suite=None):
    data = config.model_dump(mode="json", exclude_none=True)
    data["source"]["uri"] = prod["uri"]
    data["tables"] = {"customers": data["tables"]["customers"]}
    data["tables"]["customers"].pop("sample", None)
    if keep_email:  # a policy mistake: the raw e-mails reach the output, and the leak scan blocks the run
        data["tables"]["customers"]["columns"]["email"] = {"action": "keep", "type": "string"}
    if suite is not None:
        (tmp_path / "suites").mkdir(exist_ok=True)
        (tmp_path / "suites" / "customers.json").write_text(json.dumps({"expectations": suite}))
        data["validation"]["expectations_dir"] = str(tmp_path / "suites")
    return parse_config(data)


def _reader_sees(aws, snapshot_id: str) -> list[str]:
    """Every object and object version of the run's data the dev-reader role can list."""
    s3 = aws.s3(READER)
    prefix = f"snapshots/{snapshot_id}/"
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=DEV, Prefix=prefix).get("Contents", [])]
    versions = s3.list_object_versions(Bucket=DEV, Prefix=prefix)
    return keys + [
        f"{v['Key']}@{v['VersionId']}"
        for v in versions.get("Versions", []) + versions.get("DeleteMarkers", [])
    ]


# Expectations that, under Great Expectations' defaults, carry values of the column into the results
# (observed values, unexpected lists, most common values), at column, column-pair and table level.
PROBING_SUITE = [
    {
        "type": "expect_column_most_common_value_to_be_in_set",
        "kwargs": {"column": "email", "value_set": ["x"]},
    },
    {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "email", "value_set": ["x"]}},
    {"type": "expect_column_distinct_values_to_equal_set", "kwargs": {"column": "email", "value_set": ["x"]}},
    {"type": "expect_column_values_to_match_regex", "kwargs": {"column": "email", "regex": "^nomatch$"}},
    {"type": "expect_column_value_lengths_to_equal", "kwargs": {"column": "email", "value": 3}},
    {"type": "expect_column_pair_values_to_be_equal", "kwargs": {"column_A": "email", "column_B": "city"}},
    {"type": "expect_compound_columns_to_be_unique", "kwargs": {"column_list": ["gender", "state"]}},
    {"type": "expect_table_columns_to_match_set", "kwargs": {"column_set": ["email"]}},
]


def test_leak_blocked_run_leaves_no_data_file_and_no_value_in_its_reports(
    aws, config, admin_s3, prod, tmp_path, monkeypatch
):
    monkeypatch.setenv("DATAREFRESH_SECRET", TEST_KEY.decode())
    cfg = _config(config, prod, tmp_path, keep_email=True, suite=PROBING_SUITE)
    report = refresh(
        cfg, aws, envs=("dev",), as_of=parse_as_of("2099-03-01T00:00:00Z"), docs_dir=tmp_path / "docs"
    )
    r = report["environments"]["dev"]
    assert r["published"] is False and "leak_scan failed" in r["reason"]
    assert _reader_sees(aws, report["snapshot_id"]) == []
    # the report that says why stays, readable by the reader, and so do the Data Docs
    prefix = f"reports/{report['snapshot_id']}/"
    stored = [o["Key"] for o in admin_s3.list_objects_v2(Bucket=DEV, Prefix=prefix)["Contents"]]
    assert {prefix + "report.json", prefix + "report.html", prefix + "datadocs/index.html"} <= set(stored)
    assert (
        "leak_scan"
        in aws.s3(READER).get_object(Bucket=DEV, Key=prefix + "report.json")["Body"].read().decode()
    )
    # no file written under reports/ holds the raw e-mail the output carried (nor any e-mail of prod)
    user = prod["email"].split("@")[0]
    for key in stored:
        body = admin_s3.get_object(Bucket=DEV, Key=key)["Body"].read()
        assert user.encode() not in body, key
    for path in (tmp_path / "docs").rglob("*"):
        assert not path.is_file() or user.encode() not in path.read_bytes(), path
    # the Data Docs open offline, and name the run and the table
    pages = {
        p.relative_to(tmp_path / "docs").as_posix(): p.read_text()
        for p in (tmp_path / "docs").rglob("*.html")
    }
    assert all(not REMOTE.search(html) for html in pages.values()), [
        k for k, v in pages.items() if REMOTE.search(v)
    ]
    assert (
        "static/offline/datadocs.js" in pages["index.html"]
        and (tmp_path / "docs/static/offline/datadocs.js").exists()
    )
    assert f"'run_name': '{report['snapshot_id']}'" in pages["index.html"]
    validation = next(
        v for k, v in pages.items() if k.startswith(f"validations/dev/customers/{report['snapshot_id']}/")
    )
    assert re.search(r"Data asset:\s*customers \(dev\)", validation) and "__none__" not in validation


def test_suite_error_while_publishing_leaves_no_data_file(aws, config, prod, tmp_path, monkeypatch):
    monkeypatch.setenv("DATAREFRESH_SECRET", TEST_KEY.decode())
    cfg = _config(config, prod, tmp_path, suite=[{"type": "expect_no_such_thing", "kwargs": {}}])
    as_of = parse_as_of("2099-03-02T00:00:00Z")
    with pytest.raises(ConfigError, match="bad expectation expect_no_such_thing"):
        refresh(cfg, aws, envs=("dev",), as_of=as_of)
    ids = {
        p["Prefix"].split("/")[1]
        for p in aws.s3(READER)
        .list_objects_v2(Bucket=DEV, Prefix="snapshots/", Delimiter="/")
        .get("CommonPrefixes", [])
    }
    assert [i for i in ids if i.startswith("20990302T")] == []  # the units had uploaded before the suite ran


def test_blocked_rerun_of_an_earlier_date_keeps_that_published_snapshot(
    aws, config, admin_s3, prod, tmp_path, monkeypatch
):
    monkeypatch.setenv("DATAREFRESH_SECRET", TEST_KEY.decode())
    cfg = _config(config, prod, tmp_path)
    older = refresh(cfg, aws, envs=("dev",), as_of=parse_as_of("2099-04-01T00:00:00Z"))
    assert older["environments"]["dev"]["published"]
    newer = refresh(cfg, aws, envs=("dev",), as_of=parse_as_of("2099-04-02T00:00:00Z"))
    assert newer["environments"]["dev"]["published"]
    prefix = f"snapshots/{older['snapshot_id']}/"
    kept = sorted(o["Key"] for o in admin_s3.list_objects_v2(Bucket=DEV, Prefix=prefix)["Contents"])
    assert prefix + "_manifest.json" in kept and len(kept) > 1  # retained for rollback (keep_snapshots: 3)
    # the same date again: the same snapshot id, blocked because the published one is newer
    again = refresh(cfg, aws, envs=("dev",), as_of=parse_as_of("2099-04-01T00:00:00Z"))
    assert again["snapshot_id"] == older["snapshot_id"]
    assert again["environments"]["dev"]["published"] is False
    assert sorted(o["Key"] for o in admin_s3.list_objects_v2(Bucket=DEV, Prefix=prefix)["Contents"]) == kept
    manifest = json.loads(admin_s3.get_object(Bucket=DEV, Key=prefix + "_manifest.json")["Body"].read())
    for f in manifest["tables"]["customers"]["files"]:  # every version a rollback would read is intact
        assert admin_s3.head_object(Bucket=DEV, Key=f["key"])["ContentLength"] == f["size"]


def test_a_failed_unit_leaves_no_file_of_the_units_before_it(aws, config, admin_s3, tmp_path, monkeypatch):
    monkeypatch.setenv("DATAREFRESH_SECRET", TEST_KEY.decode())
    local = tmp_path / "prod"
    generate(local, rows=60, seed=5, tables=("customers", "events"))
    for path in sorted(local.rglob("*")):
        if path.is_file():
            admin_s3.upload_file(
                str(path), "datarefresh-prod", f"raw/unitfail/{path.relative_to(local).as_posix()}"
            )
    # a second events file with other columns: the events unit fails after customers uploaded to dev
    admin_s3.put_object(
        Bucket="datarefresh-prod",
        Key="raw/unitfail/events/part-00001.csv.gz",
        Body=gzip.compress(
            b"event_id,customer_id,event_type,occurred_at,payload,extra\n1,1,login,2026-11-01 00:00:00,{},x\n"
        ),
    )
    data = config.model_dump(mode="json", exclude_none=True)
    data["source"]["uri"] = "s3://datarefresh-prod/raw/unitfail"
    data["tables"] = {t: data["tables"][t] for t in ("customers", "events")}
    with pytest.raises(InputError, match="table events: columns differ"):
        refresh(parse_config(data), aws, envs=("dev",), as_of=parse_as_of("2099-03-05T00:00:00Z"))
    versions = admin_s3.list_object_versions(Bucket=DEV, Prefix="snapshots/20990305T")
    assert versions.get("Versions", []) + versions.get("DeleteMarkers", []) == []


def test_a_unit_stopped_by_a_transient_error_leaves_no_file_either(
    aws, config, admin_s3, tmp_path, monkeypatch
):
    """In one process nothing retries a unit once botocore gave up: S3 still failing (StorageError)
    removes what the earlier units wrote, as a terminal error does (it used to leave them)."""
    import datarefresh.refresh.run as run_module
    from datarefresh.errors import StorageError

    monkeypatch.setenv("DATAREFRESH_SECRET", TEST_KEY.decode())
    local = tmp_path / "prod"
    generate(local, rows=60, seed=6, tables=("customers", "events"))
    for path in sorted(local.rglob("*")):
        if path.is_file():
            admin_s3.upload_file(
                str(path), "datarefresh-prod", f"raw/unitslow/{path.relative_to(local).as_posix()}"
            )
    real = run_module.process_unit

    def events_never_reach_s3(config, aws, plan, table, index, progress=None):
        if table == "events":
            raise StorageError(
                "S3 kept failing for s3://datarefresh-dev/snapshots/x (SlowDown) after retries"
            )
        return real(config, aws, plan, table, index, progress)

    monkeypatch.setattr(run_module, "process_unit", events_never_reach_s3)
    data = config.model_dump(mode="json", exclude_none=True)
    data["source"]["uri"] = "s3://datarefresh-prod/raw/unitslow"
    data["tables"] = {t: data["tables"][t] for t in ("customers", "events")}
    with pytest.raises(StorageError):
        refresh(parse_config(data), aws, envs=("dev",), as_of=parse_as_of("2099-03-06T00:00:00Z"))
    versions = admin_s3.list_object_versions(Bucket=DEV, Prefix="snapshots/20990306T")
    assert versions.get("Versions", []) + versions.get("DeleteMarkers", []) == []
