"""The leak gate raises no false alarm on clean zero-config runs (the dev seeds of
bench/leak_false_alarms.py; the bench runs the held-out seeds at more sizes)."""

import pytest

from bench.leak_false_alarms import DEV_SEEDS, one_run


@pytest.mark.parametrize("seed", list(DEV_SEEDS))
def test_clean_zero_config_demo_runs_never_fail_the_leak_gate(seed):
    r = one_run(rows=(120, 250)[seed % 2], seed=seed)
    assert not r["failed"], r["reason"]
