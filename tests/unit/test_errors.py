import pickle

import pytest

from datarefresh import errors


@pytest.mark.parametrize("err", [
    errors.ConfigError("bad value", file="policy.yaml", key="tables.orders"),
    errors.InputError("cannot parse", file="orders/part-0.csv", row=7),
    errors.PolicyError("type changed", table="orders", column="amount"),
    errors.SecretError("no key"),
    errors.StorageError("kept failing"),
])
def test_errors_survive_a_process_boundary(err):
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is type(err)
    assert str(back) == str(err)
    assert back.__dict__ == err.__dict__
    assert back.transient == err.transient
