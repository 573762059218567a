"""`datarefresh status` with the profiles `localaws up` writes: the base profile it exports reads
every environment through that environment's reader role; a reader profile sees its own
environment and the other one is marked, not an error. Pointers and reports are written by the
admin user (what a publish leaves), so no refresh runs here."""

from __future__ import annotations

import json

import pytest

from datarefresh.pull import status

pytestmark = pytest.mark.integration
SNAPSHOTS = {"dev": "20261130T020000Z-aaaaaaaaaaaa", "staging": "20261130T020000Z-bbbbbbbbbbbb"}


@pytest.fixture(scope="module")
def published(admin_s3):
    for env, sid in SNAPSHOTS.items():
        bucket = f"datarefresh-{env}"
        pointer = {
            "snapshot_id": sid,
            "as_of": "2026-11-30T02:00:00+00:00",
            "tables": {"customers": 7},
            "manifest": f"snapshots/{sid}/_manifest.json",
        }
        admin_s3.put_object(Bucket=bucket, Key="current.json", Body=json.dumps(pointer).encode())
        report = {"environments": {env: {"published": True, "reason": None}}}
        admin_s3.put_object(Bucket=bucket, Key=f"reports/{sid}/report.json", Body=json.dumps(report).encode())
    return SNAPSHOTS


def _as(monkeypatch, local, profile):
    for k, v in local.env(profile).items():
        monkeypatch.setenv(k, v)


def test_the_base_profile_reads_every_environment_through_its_reader_role(
    published, config, local, monkeypatch, cli
):
    _as(monkeypatch, local, "datarefresh-base")  # what `eval "$(datarefresh localaws up)"` exports
    got = status(config)
    assert {e: s["snapshot_id"] for e, s in got.items()} == published
    assert {e: s["read_as"] for e, s in got.items()} == {
        "dev": "as role datarefresh-dev-reader",
        "staging": "as role datarefresh-staging-reader",
    }
    assert got["staging"]["last_run"]["published"] is True
    result = cli("status")
    assert result.exit_code == 0, result.output
    assert published["dev"] in result.output and published["staging"] in result.output


def test_a_reader_profile_sees_its_environment_and_the_other_is_marked(
    published, config, local, monkeypatch, cli
):
    _as(monkeypatch, local, "datarefresh-dev-reader")
    got = status(config)
    assert got["dev"]["readable"] and got["dev"]["snapshot_id"] == published["dev"]
    assert not got["staging"]["readable"]
    assert (
        "datarefresh-dev-reader may not read s3://datarefresh-staging/current.json"
        in got["staging"]["reason"]
    )
    assert "read with role datarefresh-staging-reader" in got["staging"]["reason"]
    result = cli("status")
    assert result.exit_code == 0, result.output
    assert published["dev"] in result.output and "staging: NOT READABLE" in result.output
    # nothing readable at all is a failure
    result = cli("status", "--env", "staging")
    assert result.exit_code == 1 and "NOT READABLE" in result.output
