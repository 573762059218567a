"""Key consistency: tables published under one key never mix with tables made under another.

The issue's case: a refresh of `customers,orders` with another DATAREFRESH_SECRET than the
published snapshot's published a staging in which no order_items.order_id resolved."""

from __future__ import annotations

import json

import pytest

from datarefresh.devtools.demo import seed_prod
from datarefresh.errors import ConfigError
from datarefresh.refresh.plan import parse_as_of
from datarefresh.refresh.run import refresh
from datarefresh.storage.publish import POINTER
from tests.conftest import TEST_KEY

# More test keys (public, tests only): 64 hex characters, as datarefresh refuses weak keys.
OTHER_KEY = "dbdbd104cca95f9d57707d2c68e21f735653da26dd08fd7b20afb32c7e3e0ab5"
THIRD_KEY = "0f" + OTHER_KEY[2:]


def _pointer(admin_s3, env="staging"):
    return json.loads(admin_s3.get_object(Bucket=f"datarefresh-{env}", Key=POINTER)["Body"].read())


def _manifest(admin_s3, env="staging"):
    key = _pointer(admin_s3, env)["manifest"]
    return json.loads(admin_s3.get_object(Bucket=f"datarefresh-{env}", Key=key)["Body"].read())


@pytest.fixture(scope="module")
def config(config):
    """The demo config without its text and JSON tables: the same joins, a third of the time."""
    from datarefresh.config import parse_config

    data = config.model_dump(mode="json", exclude_none=True)
    data["tables"] = {t: data["tables"][t] for t in ("customers", "orders", "order_items")}
    data["unknown_tables"] = "skip"  # the demo's other tables stay in prod, named and not refreshed
    return parse_config(data)


@pytest.fixture(scope="module")
def first(local, config, aws):
    seed_prod(local, config, rows=60, say=lambda _m: None)
    mp = pytest.MonkeyPatch()
    mp.setenv("DATAREFRESH_SECRET", TEST_KEY.decode())
    try:
        return refresh(config, aws, envs=("staging",), as_of=parse_as_of("2099-05-01T00:00:00Z"))
    finally:
        mp.undo()


def test_the_manifest_records_a_key_fingerprint_never_the_key(first, admin_s3):
    assert first["environments"]["staging"]["published"]
    manifest = _manifest(admin_s3)
    fp = manifest["key_fingerprint"]
    assert len(fp) == 16 and TEST_KEY.decode() not in json.dumps(manifest) and TEST_KEY.hex() not in fp


def test_a_partial_run_with_another_key_is_refused_before_any_work(first, config, aws, admin_s3, monkeypatch):
    before = _pointer(admin_s3)
    monkeypatch.setenv("DATAREFRESH_SECRET", OTHER_KEY)
    with pytest.raises(
        ConfigError,
        match=r"the published snapshot of staging was made with another key; refresh all "
        r"tables \(--tables all\) or use the same key",
    ):
        refresh(
            config,
            aws,
            envs=("staging",),
            tables=("customers", "orders"),
            as_of=parse_as_of("2099-05-02T00:00:00Z"),
        )
    assert _pointer(admin_s3) == before
    snaps = {
        o["Key"].split("/")[1]
        for o in admin_s3.list_objects_v2(Bucket="datarefresh-staging", Prefix="snapshots/")["Contents"]
    }
    assert snaps == {before["snapshot_id"]}  # nothing was written


def test_the_same_key_may_refresh_some_tables(first, config, aws, admin_s3, monkeypatch):
    monkeypatch.setenv("DATAREFRESH_SECRET", TEST_KEY.decode())
    r = refresh(
        config, aws, envs=("staging",), tables=("order_items",), as_of=parse_as_of("2099-05-03T00:00:00Z")
    )
    assert r["environments"]["staging"]["published"], r["environments"]["staging"].get("reason")
    assert "key_rotation" not in r


def test_a_full_refresh_with_a_new_key_rotates_and_says_every_pseudonym_changes(
    first, config, aws, admin_s3, cli, local, tmp_path
):
    old = _manifest(admin_s3)
    config_file = tmp_path / "config.yaml"
    config_file.write_text(json.dumps(config.model_dump(mode="json", exclude_none=True)))
    out = cli(
        "refresh",
        "--config",
        config_file,
        "--env",
        "staging",
        "--tables",
        "all",
        "--as-of",
        "2099-05-04T00:00:00Z",
        env={**local.env(), "DATAREFRESH_SECRET": OTHER_KEY},
    )
    assert out.exit_code == 0, out.output
    assert "key rotation" in out.output and "every pseudonym changes" in out.output
    new = _manifest(admin_s3)
    assert new["key_fingerprint"] != old["key_fingerprint"] and new["carried_over"] == []


def test_a_rotation_never_keeps_a_held_back_table_under_the_old_key(
    first, config, aws, admin_s3, monkeypatch
):
    from datarefresh.config import parse_config

    data = config.model_dump(mode="json", exclude_none=True)
    data["validation"]["on_failure"] = "table"
    data["tables"]["customers"]["columns"]["email"] = {
        "action": "keep",
        "type": "string",
    }  # the leak scan fails
    before = _pointer(admin_s3)
    monkeypatch.setenv("DATAREFRESH_SECRET", THIRD_KEY)
    r = refresh(parse_config(data), aws, envs=("staging",), as_of=parse_as_of("2099-05-05T00:00:00Z"))
    staging = r["environments"]["staging"]
    # customers would be held back at its old-key version next to fresh orders: publish nothing
    assert staging["published"] is False and _pointer(admin_s3) == before
    assert (
        "key_consistency failed (the published snapshot of staging was made with another key"
        in staging["reason"]
    )
