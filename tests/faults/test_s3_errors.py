"""S3 faults at the run level, through the fault proxy: throttling, 5xx, connection resets
and read timeouts are retried and the run publishes; access denied and a missing bucket
fail at once (one request, no retry) and publish nothing."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.faults.conftest import CANARIES
from tests.faults.helpers import (
    ENVS,
    assert_complete,
    assert_no_raw,
    assert_no_stray_files,
    fresh_as_of,
    pointer,
    signature,
)
from tests.faults.proxy import Fault, s3_error


def _is_prod_read(req):
    return req.method == "GET" and req.bucket == "datarefresh-prod" and "versionId=" in req.path


def _is_part_upload(env):
    return lambda req: (
        req.method == "PUT" and req.bucket == f"datarefresh-{env}" and req.path.endswith(".parquet")
    )


def _is(method, env, name):
    return lambda req: req.method == method and req.bucket == f"datarefresh-{env}" and name in req.path


class Injector:
    """Per case: the first request matching `match` fixes a signature; that signature gets
    `faults` in order, then passes."""

    def __init__(self, cases: dict[str, tuple]):
        self.cases = cases
        self.sig: dict[str, tuple] = {}
        self.seen: Counter = Counter()  # requests with that signature up to the first that passed
        self.passed: set[str] = set()

    def __call__(self, req):
        sig = signature(req.method, req.path)
        for name, (match, faults) in self.cases.items():
            if name not in self.sig and match(req):
                self.sig[name] = sig
            if self.sig.get(name) == sig and name not in self.passed:
                self.seen[name] += 1
                if self.seen[name] <= len(faults):
                    return faults[self.seen[name] - 1]
                self.passed.add(name)  # later reads of the same object are the run's own, not retries
        return None


def test_transient_faults_are_retried_and_the_run_publishes(suite, proxy, admin):
    reset = Fault(reset=True)
    cases = {
        "503 SlowDown on a prod read": (_is_prod_read, [s3_error(503, "SlowDown")] * 2),
        "500 on a part upload": (_is_part_upload("staging"), [s3_error(500, "InternalError")] * 2),
        "connection reset on the manifest write": (_is("PUT", "dev", "_manifest.json"), [reset, reset]),
        "read timeout on the pointer read": (_is("GET", "staging", "current.json"), [Fault(stall=2.5)]),
        # the pointer moved but the answer was lost: the retry's If-Match fails, and the run
        # must recognise its own snapshot rather than report a conflict
        "reset after the pointer moved": (_is("PUT", "staging", "current.json"), [Fault(after=lambda: None)]),
    }
    inject = Injector(cases)
    proxy.reset(inject)
    child = suite.forks.run(["refresh", "--as-of", fresh_as_of()], suite.env, read_timeout=1)
    proxy.reset()
    assert child.code == 0, child.output[-3000:]
    for name, (_, faults) in cases.items():
        assert inject.seen[name] == len(faults) + 1, (name, inject.seen[name])  # each fault, then one success
    ids = {env: assert_complete(admin, env)["snapshot_id"] for env in ENVS}
    assert f"published {ids['staging']}" in child.output and f"published {ids['dev']}" in child.output
    for env in ENVS:
        assert_no_stray_files(admin, env)
    assert_no_raw(admin, CANARIES)


@pytest.mark.parametrize(
    "fault, match, words",
    [
        (s3_error(403, "AccessDenied"), _is_prod_read, "may not read s3://datarefresh-prod/raw/"),
        (s3_error(404, "NoSuchBucket"), _is_part_upload("dev"), "s3://datarefresh-dev/snapshots/"),
    ],
    ids=["AccessDenied on a prod read", "NoSuchBucket on a dev upload"],
)
def test_terminal_errors_fail_at_once_and_publish_nothing(suite, proxy, admin, fault, match, words):
    before = {env: pointer(admin, env) for env in ENVS}
    inject = Injector({"case": (match, [fault] * 10)})
    proxy.reset(inject)
    child = suite.forks.run(["refresh", "--as-of", fresh_as_of()], suite.env)
    proxy.reset()
    assert child.code == 1, child.output[-3000:]
    assert inject.seen["case"] == 1  # not retried
    err = child.output.strip().splitlines()[-1]
    assert err.startswith("Error: ") and words in err, child.output[-2000:]
    assert "Traceback" not in child.output, child.output[-2000:]
    if fault.code == "NoSuchBucket":
        assert "does not exist" in err and "datarefresh-dev-writer" in err
    for env in ENVS:
        assert pointer(admin, env) == before[env]  # readers see exactly what they saw before
        assert_complete(admin, env)
    assert_no_raw(admin, CANARIES)
