"""The command-line contract of localaws, iam render and demo."""

from __future__ import annotations

import json
import os
from datarefresh.devtools import localaws
from tests.conftest import TEST_KEY


def test_iam_render_prints_complete_policies(cli):
    result = cli("iam", "render")
    assert result.exit_code == 0
    roles = json.loads(result.output)["roles"]
    assert {(r["name"], r["environment"], r["purpose"]) for r in roles} == {
        ("datarefresh-prod-reader", "prod", "reader"),
        ("datarefresh-dev-writer", "dev", "writer"),
        ("datarefresh-dev-reader", "dev", "reader"),
        ("datarefresh-staging-writer", "staging", "writer"),
        ("datarefresh-staging-reader", "staging", "reader"),
    }
    for r in roles:
        assert r["policy"]["Version"] == "2012-10-17" and r["policy"]["Statement"]
        assert r["trust_policy"]["Statement"][0]["Action"] == "sts:AssumeRole"
        denies = [s for s in r["policy"]["Statement"] if s["Effect"] == "Deny"]
        assert any(
            "arn:aws:s3:::datarefresh-prod/*" in s["Resource"] and "s3:PutObject" in s["Action"]
            for s in denies
        ), r["name"]


def test_demo_end_to_end_then_reuse_then_down(cli, tmp_path, monkeypatch):
    """The README's first command, on a fresh workdir: local AWS, seed, refresh, summary."""
    monkeypatch.setenv("DATAREFRESH_SECRET", TEST_KEY.decode())
    workdir = tmp_path / "demo"
    try:
        first = cli("demo", "--workdir", workdir, "--rows", 200)
        assert first.exit_code == 0, first.output
        summary = json.loads((workdir / "summary.json").read_text())
        assert set(summary["environments"]) == {"dev", "staging"}
        for env, s in summary["environments"].items():
            assert s["published"] and s["validation"] == "passed" and s["snapshot_id"]
        assert summary["environments"]["staging"]["tables"]["customers"] == 200
        assert summary["environments"]["dev"]["tables"]["customers"] < 200
        assert f"export AWS_PROFILE={localaws.BASE_USER}" in first.output  # the same exports as `localaws up`
        pid = json.loads((workdir / localaws.STATE).read_text())["pid"]
        up_again = cli("localaws", "up", "--workdir", workdir)
        assert up_again.exit_code == 0 and "already running" in up_again.output
        assert json.loads((workdir / localaws.STATE).read_text())["pid"] == pid
        second = cli("demo", "--workdir", workdir, "--rows", 200)
        assert second.exit_code == 0, second.output
        assert json.loads((workdir / localaws.STATE).read_text())["pid"] == pid  # reused, not restarted
    finally:
        down = cli("localaws", "down", "--workdir", workdir)
    assert "stopped" in down.output
    assert not (workdir / localaws.STATE).exists()
    assert cli("localaws", "down", "--workdir", workdir).output.strip() == "not running"


def test_refresh_without_credentials_is_a_clear_error(cli, tmp_path, monkeypatch):
    for var in [v for v in os.environ if v.startswith("AWS_")]:
        monkeypatch.delenv(var)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("DATAREFRESH_SECRET", TEST_KEY.decode())
    result = cli("refresh", "--env", "dev")
    assert result.exit_code == 1
    assert result.output.startswith("Error: no AWS credentials found to assume role datarefresh-prod-reader")
