"""Transient S3 failures are retried with backoff; terminal ones fail at once."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from datarefresh.devtools import localaws
from datarefresh.aws import Aws, s3_errors
from datarefresh.errors import StorageError, TerminalError
from tests.faults.proxy import FaultProxy, s3_error


def _first_gets_fail(failures: int):
    """A FaultProxy rule: 503 SlowDown to the first `failures` GETs, then forward."""
    served = []

    def rule(req):
        if req.method == "GET" and len(served) < failures:
            served.append(req)
            return s3_error(503, "SlowDown")
        return None

    return rule


def test_503s_are_retried_until_the_read_succeeds(config, local, admin_s3):
    admin_s3.put_object(Bucket="datarefresh-prod", Key="raw/retry/x.csv", Body=b"a\n1\n")
    with FaultProxy(local.endpoint, _first_gets_fail(2)) as proxy:
        aws = Aws(config, base_session=local.session(localaws.BASE_USER), endpoint_url=proxy.endpoint)
        body = aws.s3("datarefresh-prod-reader").get_object(Bucket="datarefresh-prod", Key="raw/retry/x.csv")
        assert body["Body"].read() == b"a\n1\n"
        assert len(proxy.faults) == 2


def _client_error(code: str, status: int) -> ClientError:
    return ClientError({"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "GetObject")


@pytest.mark.parametrize(
    "code, status, kind, words",
    [
        ("SlowDown", 503, StorageError, "kept failing"),
        ("InternalError", 500, StorageError, "kept failing"),
        ("NoSuchBucket", 404, TerminalError, "does not exist"),
    ],
)
def test_error_mapping_transient_vs_terminal(code, status, kind, words):
    with pytest.raises(kind, match=words) as err:
        with s3_errors("datarefresh-dev-writer", "bucket", "key"):
            raise _client_error(code, status)
    assert err.value.transient is (kind is StorageError)
    assert "s3://bucket/key" in str(err.value)
