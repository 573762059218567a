"""A full local temporary folder fails the run with a clear error and publishes nothing."""

from __future__ import annotations

import os

import pytest

from tests.faults.conftest import CANARIES
from tests.faults.helpers import ENVS, assert_complete, assert_no_raw, fresh_as_of, pointer


# 16 KiB fills while a unit writes its parquet parts (pyarrow), 64 KiB while the gates build
# Data Docs (Great Expectations): before any pointer moves either way
@pytest.mark.parametrize(
    "small_tmp, step",
    [("16k", "process_unit"), ("64k", "publish_run")],
    indirect=["small_tmp"],
    ids=["writing parts", "building data docs"],
)
def test_full_temp_folder_fails_the_run_cleanly(suite, admin, small_tmp, step, tmp_path):
    before = {env: pointer(admin, env) for env in ENVS}
    if small_tmp is not None:  # a small tmpfs: writes fail with ENOSPC
        child = suite.forks.run(["refresh", "--as-of", fresh_as_of()], suite.env, tmpdir=str(small_tmp))
    else:  # no permission to mount: a file size limit (EFBIG) in the child instead
        child = suite.forks.run(
            ["refresh", "--as-of", fresh_as_of()], suite.env, tmpdir=str(tmp_path), fsize=16 << 10
        )
    out = child.output
    assert child.code == 1, out[-3000:]
    err = out.strip().splitlines()[-1]
    # one clear error as the last word (Great Expectations logs its own rendering failure before it)
    assert err.startswith("Error: "), out[-3000:]
    assert "temporary folder" in err and ("no space left" in err or "too large" in err), err
    assert small_tmp is None or f"during {step}" in err, err
    for env in ENVS:
        assert pointer(admin, env) == before[env]
        assert_complete(admin, env)
    leftovers = list((small_tmp or tmp_path).iterdir())
    assert not [p for p in leftovers if p.name.startswith("datarefresh-")], leftovers  # the run cleaned up
    assert_no_raw(admin, CANARIES)
    assert os.path.isdir(small_tmp or tmp_path)
