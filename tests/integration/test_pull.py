"""`datarefresh pull` and `status` with a developer's own dev-reader credentials."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from datarefresh.errors import AccessDeniedError
from datarefresh.pull import ChecksumError, pull, status
from datarefresh.refresh.plan import parse_as_of
from datarefresh.refresh.run import refresh
from tests.conftest import TEST_KEY


@pytest.fixture(scope="module")
def published(local, config, aws, tmp_path_factory):
    import os

    from datarefresh.devtools.demo import seed_prod

    seed_prod(local, config, rows=200, say=lambda _m: None)
    os.environ["DATAREFRESH_SECRET"] = TEST_KEY.decode()
    try:
        return refresh(config, aws, envs=("dev", "staging"), as_of=parse_as_of("2099-03-01T00:00:00Z"))
    finally:
        del os.environ["DATAREFRESH_SECRET"]


@pytest.fixture
def as_dev_reader(local, monkeypatch):
    for k, v in local.env("datarefresh-dev-reader").items():
        monkeypatch.setenv(k, v)


def test_dev_reader_pulls_dev_and_a_second_pull_downloads_nothing(
    published, config, tmp_path, as_dev_reader, cli
):
    result = cli("pull", "--dest", tmp_path / "data")
    assert result.exit_code == 0, result.output
    sid = published["environments"]["dev"]["snapshot_id"]
    assert sid in result.output and "duckdb" in result.output
    customers = pq.read_table(tmp_path / "data" / "current" / "customers")
    assert customers.num_rows == published["environments"]["dev"]["tables"]["customers"]
    again = pull(config, dest=tmp_path / "data", quiet=True)
    assert again["downloaded_files"] == 0 and again["snapshot_id"] == sid


def test_dev_reader_is_denied_staging_and_prod_with_a_clear_message(
    published, config, tmp_path, as_dev_reader
):
    with pytest.raises(
        AccessDeniedError,
        match=r"role datarefresh-dev-reader may not read s3://datarefresh-staging/"
        r"current.json .*read with role datarefresh-staging-reader",
    ):
        pull(config, env="staging", dest=tmp_path / "s", quiet=True)


def test_a_corrupted_object_is_caught_and_the_old_copy_stays(
    published, config, tmp_path, as_dev_reader, admin_s3
):
    dest = tmp_path / "data"
    pull(config, dest=dest, quiet=True)
    before = sorted(p.name for p in (dest / "current" / "orders").iterdir())
    manifest_key = json.loads(
        admin_s3.get_object(Bucket="datarefresh-dev", Key="current.json")["Body"].read()
    )["manifest"]
    manifest = json.loads(admin_s3.get_object(Bucket="datarefresh-dev", Key=manifest_key)["Body"].read())
    victim = manifest["tables"]["orders"]["files"][0]["key"]
    good = admin_s3.get_object(Bucket="datarefresh-dev", Key=victim)["Body"].read()
    admin_s3.put_object(Bucket="datarefresh-dev", Key=victim, Body=b"garbage" + good[7:])
    try:
        with pytest.raises(ChecksumError, match="does not match the manifest"):
            pull(config, dest=tmp_path / "fresh", quiet=True)
        assert not (tmp_path / "fresh" / "current").exists()  # never a half-downloaded copy
        assert sorted(p.name for p in (dest / "current" / "orders").iterdir()) == before
    finally:
        admin_s3.put_object(Bucket="datarefresh-dev", Key=victim, Body=good)


def test_an_interrupted_pull_resumes_and_leaves_the_old_copy_usable(
    published, config, tmp_path, as_dev_reader, monkeypatch
):
    import datarefresh.pull as pull_module

    dest = tmp_path / "data"
    calls = {"n": 0}
    real_get = pull_module.EnvClient.get

    def flaky_get(self, key, action="read"):
        if key.endswith(".parquet"):
            calls["n"] += 1
            if calls["n"] == 3:
                raise KeyboardInterrupt("network dropped")
        return real_get(self, key, action)

    monkeypatch.setattr(pull_module.EnvClient, "get", flaky_get)
    with pytest.raises(KeyboardInterrupt):
        pull(config, dest=dest, quiet=True, workers=1)
    assert not (dest / "current").exists()
    monkeypatch.setattr(pull_module.EnvClient, "get", real_get)
    resumed = pull(config, dest=dest, quiet=True)
    assert resumed["reused_files"] >= 2  # the files verified before the interruption were kept
    assert pq.read_table(dest / "current" / "customers").num_rows > 0


def test_status_shows_snapshots_and_the_last_run(published, config, local, monkeypatch, cli):
    for k, v in local.env("datarefresh-staging-reader").items():
        monkeypatch.setenv(k, v)
    s = status(config, envs=("staging",))["staging"]
    assert s["snapshot_id"] == published["environments"]["staging"]["snapshot_id"]
    assert s["tables"]["customers"] == 200 and s["last_run"]["published"] is True
    assert s["last_run"]["report"].endswith("report.html")
    result = cli("status", "--env", "staging")
    assert result.exit_code == 0 and "last run" in result.output and "customers 200" in result.output


def test_no_credentials_and_nothing_published_are_clear_errors(
    config, tmp_path, monkeypatch, local, admin_s3
):
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for k in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", local.endpoint)
    with pytest.raises(AccessDeniedError, match="no AWS credentials found"):
        pull(config, dest=tmp_path / "x", quiet=True)


def test_nothing_published_yet(config, tmp_path, as_dev_reader):
    from datarefresh.config import parse_config
    from datarefresh.errors import TerminalError

    data = config.model_dump(mode="json", exclude_none=True)
    data["environments"]["dev"]["bucket"] = "s3://datarefresh-dev/never-published"
    with pytest.raises(
        TerminalError, match="no snapshot published yet in s3://datarefresh-dev/never-published"
    ):
        pull(parse_config(data), dest=tmp_path / "x", quiet=True)


def _victim(dest):
    return min((dest / "current" / "customers").glob("*.parquet"))


def test_a_damaged_local_file_is_found_and_repaired(published, config, tmp_path, as_dev_reader, cli):
    dest = tmp_path / "data"
    pull(config, dest=dest, quiet=True)
    victim = _victim(dest)
    good = victim.read_bytes()
    with open(victim, "r+b") as fh:  # the case: 7 bytes overwritten, same size
        fh.write(b"garbage")
    again = pull(config, dest=dest, quiet=True)  # before: "0 files downloaded", the damage stayed
    assert again["repaired_files"] == 1 and again["downloaded_files"] == 1
    assert victim.read_bytes() == good
    # --verify hashes every file even when nothing looks changed
    out = cli("pull", "--dest", dest, "--verify")
    assert out.exit_code == 0 and "0 files downloaded" in out.output
    victim.write_bytes(good[:-5])  # truncated: the size check alone finds it
    assert pull(config, dest=dest, quiet=True)["repaired_files"] == 1 and victim.read_bytes() == good


def test_an_interrupted_pull_makes_the_next_one_hash_everything(published, config, tmp_path, as_dev_reader):
    dest = tmp_path / "data"
    pull(config, dest=dest, quiet=True)
    victim = _victim(dest)
    good = victim.read_bytes()
    stat = victim.stat()
    with open(victim, "r+b") as fh:
        fh.write(b"garbage")
    import os

    os.utime(victim, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # the damage hides from the stat check
    (dest / ".pull-in-progress").touch()  # as a killed pull leaves it
    r = pull(config, dest=dest, quiet=True)
    assert r["verified"] == "sha256" and r["repaired_files"] == 1 and victim.read_bytes() == good
    assert not (dest / ".pull-in-progress").exists()


def test_tables_pull_into_the_existing_copy_and_say_where_each_table_comes_from(
    published, config, tmp_path, as_dev_reader, cli
):
    dest = tmp_path / "data"
    sid = published["environments"]["dev"]["snapshot_id"]
    pull(config, dest=dest, tables=("orders",), quiet=True)
    out = cli("pull", "--dest", dest, "--tables", "customers")
    assert out.exit_code == 0, out.output
    # before: the copy held customers alone
    assert sorted(p.name for p in (dest / "current").iterdir() if not p.name.startswith(".")) == [
        "customers",
        "orders",
    ]
    assert out.output.count(f"from snapshot {sid}") == 2  # customers and orders
    assert (
        pq.read_table(dest / "current" / "orders").num_rows
        == published["environments"]["dev"]["tables"]["orders"]
    )
    full = pull(config, dest=dest, quiet=True)
    assert set(full["tables"]) == set(config.tables) and set(full["tables_from"].values()) == {sid}
