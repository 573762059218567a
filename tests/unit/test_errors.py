import pickle

import pytest

from datarefresh import errors


@pytest.mark.parametrize(
    "err",
    [
        errors.ConfigError("bad value", file="policy.yaml", key="tables.orders"),
        errors.InputError("cannot parse", file="orders/part-0.csv", row=7),
        errors.PolicyError("type changed", table="orders", column="amount"),
        errors.SecretError("no key"),
        errors.StorageError("kept failing"),
    ],
)
def test_errors_survive_a_process_boundary(err):
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is type(err)
    assert str(back) == str(err)
    assert back.__dict__ == err.__dict__
    assert back.transient == err.transient


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_every_error_class_survives_a_process_boundary_with_its_keyword_arguments():
    """Every class of the tree, found by walking it (a new one is covered without being listed
    here), built with each of its keyword-only arguments set, comes back equal after pickling."""
    import inspect

    import datarefresh.pull  # noqa: F401 - defines ChecksumError

    classes = {errors.DataRefreshError, *_subclasses(errors.DataRefreshError)}
    assert {
        errors.PolicyError,
        errors.InputError,
        errors.ConfigError,
        datarefresh.pull.ChecksumError,
    } <= classes
    for cls in classes:
        init = cls.__init__  # Exception's own has no signature to read, and no keyword-only arguments
        params = inspect.signature(init).parameters.values() if init is not Exception.__init__ else []
        kwargs = {p.name: f"{p.name}-value" for p in params if p.kind is p.KEYWORD_ONLY}
        err = cls("what went wrong", **kwargs)
        back = pickle.loads(pickle.dumps(err))
        assert type(back) is cls and str(back) == str(err), cls
        assert back.__dict__ == err.__dict__ and back.transient == err.transient, cls
        assert all(getattr(back, k) == v for k, v in kwargs.items()), cls
