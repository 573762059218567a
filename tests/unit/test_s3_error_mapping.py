"""One mapping of S3 errors (aws.s3_error): the run's roles (s3_errors), a developer's pull
(EnvClient.get) and the publisher (read_pointer, move_pointer) word and type them alike."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from datarefresh.aws import s3_errors
from datarefresh.errors import AccessDeniedError, PublishConflictError, StorageError, TerminalError
from datarefresh.pull import EnvClient
from datarefresh.storage.publish import Pointer, Publisher
from datarefresh.storage.uri import S3Uri

ROLE = "arn:aws:iam::000000000000:role/datarefresh-dev-writer"


def _error(code: str, status: int) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}}, "GetObject"
    )


class _Failing:
    def __init__(self, exc):
        self.exc = exc

    def get_object(self, **_kw):
        raise self.exc

    put_object = get_object


CASES = [
    ("AccessDenied", 403, AccessDeniedError, "may not read s3://b/current.json (AccessDenied)"),
    ("NoSuchBucket", 404, TerminalError, "s3://b/current.json does not exist (NoSuchBucket)"),
    ("SlowDown", 503, StorageError, "S3 kept failing for s3://b/current.json (SlowDown)"),
    ("InternalError", 500, StorageError, "kept failing"),
    ("InvalidRequest", 400, TerminalError, "S3 refused to read s3://b/current.json"),
]


@pytest.mark.parametrize("code, status, kind, words", CASES, ids=[c[0] for c in CASES])
def test_the_three_callers_map_an_s3_error_the_same_way(code, status, kind, words, monkeypatch):
    monkeypatch.setattr("datarefresh.pull._identity", lambda _client: "role datarefresh-dev-reader")
    exc = _error(code, status)
    raised = []
    with pytest.raises(kind) as ours:
        with s3_errors(ROLE, "b", "current.json", action="read"):
            raise exc
    raised.append(ours.value)
    with pytest.raises(kind) as pulled:
        EnvClient("dev", S3Uri.parse("s3://b"), _Failing(exc), "datarefresh-dev-reader").get("current.json")
    raised.append(pulled.value)
    with pytest.raises(kind) as published:
        Publisher(_Failing(exc), ROLE, "s3://b").read_pointer()
    raised.append(published.value)
    for err in raised:
        assert type(err) is kind and words in str(err), str(err)
    if kind is AccessDeniedError:  # a developer is told which role reads the environment
        assert "the dev environment is read with role datarefresh-dev-reader" in str(pulled.value)


def test_an_absent_object_is_nothing_yet_and_a_lost_condition_a_conflict():
    absent = _error("NoSuchKey", 404)
    assert Publisher(_Failing(absent), ROLE, "s3://b").read_pointer() == Pointer(None, None)
    with pytest.raises(ClientError):  # pull reads an absent object as None (pull._json)
        EnvClient("dev", S3Uri.parse("s3://b"), _Failing(absent), None).get("current.json")
    with pytest.raises(PublishConflictError):
        lost = Publisher(_Failing(_error("PreconditionFailed", 412)), ROLE, "s3://b")
        lost.move_pointer(Pointer({}, "e"), {})
