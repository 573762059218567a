"""A failed refresh leaves its report and Data Docs in the environment buckets (readable by the
dev-reader role): they, and everything else the run writes or prints, hold no raw value.

Canaries are planted in prod (e-mail, names, an e-mail inside free text); the e-mail column is
kept by mistake, so the raw values reach the output, the leak scan and a checked-in expectation
fail, and Great Expectations sees the raw e-mails as unexpected values. Then every object in the
dev and staging buckets, the local Data Docs, stdout/stderr and log records are searched.
"""

from __future__ import annotations

import json
import logging

import yaml

from datarefresh.config import parse_config
from datarefresh.errors import InputError
from datarefresh.refresh.plan import parse_as_of
from datarefresh.refresh.run import refresh
from tests.conftest import TEST_KEY
from tests.unit.test_privacy_canaries import CANARIES, assert_no_canary, config, plant


def _upload(admin_s3, local, case):
    for path in sorted(local.rglob("*")):
        if path.is_file():
            admin_s3.upload_file(
                str(path), "datarefresh-prod", f"raw/{case}/{path.relative_to(local).as_posix()}"
            )
    return f"s3://datarefresh-prod/raw/{case}"


def _bucket_objects(admin_s3) -> dict[str, bytes]:
    out = {}
    for env in ("dev", "staging"):
        for page in admin_s3.get_paginator("list_objects_v2").paginate(Bucket=f"datarefresh-{env}"):
            for o in page.get("Contents", []):
                out[f"{env}:{o['Key']}"] = admin_s3.get_object(Bucket=f"datarefresh-{env}", Key=o["Key"])[
                    "Body"
                ].read()
    return out


def _cfg(base, tmp_path, uri, email_action):
    data = base.model_dump(mode="json", exclude_none=True)
    data["source"]["uri"] = uri
    data["tables"] = yaml.safe_load(config(tmp_path, email_action).read_text())["tables"]
    suites = tmp_path / "suites"
    suites.mkdir(exist_ok=True)
    (suites / "people.json").write_text(
        json.dumps(
            {
                "expectations": [
                    {
                        "type": "expect_column_values_to_match_regex",
                        "kwargs": {"column": "email", "regex": "^nobody$"},
                    },
                    {
                        "type": "expect_column_values_to_be_in_set",
                        "kwargs": {"column": "first_name", "value_set": ["x"], "result_format": "COMPLETE"},
                    },
                    {
                        "type": "expect_column_max_to_be_between",
                        "kwargs": {"column": "person_id", "max_value": 0},
                    },
                    {
                        "type": "expect_column_distinct_values_to_be_in_set",
                        "kwargs": {"column": "last_name", "value_set": ["x"]},
                    },
                ]
            }
        )
    )
    data["validation"]["expectations_dir"] = str(suites)
    return parse_config(data)


def test_failed_runs_leave_no_raw_value_in_reports_docs_logs_or_errors(
    aws, config, admin_s3, tmp_path, monkeypatch, capfd, caplog
):
    monkeypatch.setenv("DATAREFRESH_SECRET", TEST_KEY.decode())
    caplog.set_level(logging.INFO)
    plant(tmp_path / "prod", bad_csv=False)
    cfg = _cfg(config, tmp_path, _upload(admin_s3, tmp_path / "prod", "canary"), "keep")
    docs = tmp_path / "docs"
    report = refresh(
        cfg, aws, envs=("dev", "staging"), as_of=parse_as_of("2099-03-01T00:00:00Z"), docs_dir=docs
    )
    for env in ("dev", "staging"):
        r = report["environments"][env]
        assert r["published"] is False and "leak_scan failed" in r["reason"]
        assert not r["expectations"]["people"]["passed"]  # GX saw the raw e-mails as unexpected
    objects = _bucket_objects(admin_s3)
    prefix = f"reports/{report['snapshot_id']}/"
    assert {
        f"{e}:{prefix}{f}"
        for e in ("dev", "staging")
        for f in ("report.json", "report.html", "datadocs/index.html")
    } <= set(objects)
    assert any("datadocs/validations/" in k and k.endswith(".html") for k in objects)
    assert not any(
        "/snapshots/" in "/" + k.split(":", 1)[1] for k in objects
    )  # the failed run's parts are gone
    # the second run: a prod CSV whose second file holds a string in an int column
    (tmp_path / "prod" / "orders" / "part-1.csv").write_text(
        f"order_id,person_id,amount\n41,1,5\n42,2,{CANARIES['csv']}\n"
    )
    cfg2 = _cfg(config, tmp_path, _upload(admin_s3, tmp_path / "prod", "canary2"), "fake")
    try:
        refresh(cfg2, aws, envs=("staging",), tables=("orders",), as_of=parse_as_of("2099-03-02T00:00:00Z"))
        raise AssertionError("the unreadable file did not stop the run")
    except InputError as exc:
        error = str(exc)
    assert "part-1.csv, line 3" in error and "table orders" in error and "'amount'" in error
    out, err = capfd.readouterr()
    assert_no_canary(
        {
            "error": error.encode(),
            "stdout": out.encode(),
            "stderr": err.encode(),
            "logs": caplog.text.encode(),
            "report": json.dumps(report, default=str).encode(),
            **{str(p): p.read_bytes() for p in docs.rglob("*") if p.is_file()},
            **_bucket_objects(admin_s3),
        }
    )
