"""Transient S3 failures are retried with backoff; terminal ones fail at once."""

from __future__ import annotations

import http.client
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

import pytest
from botocore.exceptions import ClientError

from datarefresh import localaws
from datarefresh.aws import Aws, s3_errors
from datarefresh.errors import StorageError, TerminalError


class FlakyProxy:
    """Forwards to the local AWS server, answering 503 to the first `failures` GETs."""

    def __init__(self, upstream: str, failures: int):
        self.failures, self.served_errors = failures, 0
        target = urlparse(upstream)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _forward(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.command == "GET" and proxy.served_errors < proxy.failures:
                    proxy.served_errors += 1
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                conn = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
                conn.request(self.command, self.path, body=body, headers=dict(self.headers))
                resp = conn.getresponse()
                data = resp.read()
                self.send_response(resp.status)
                for k, v in resp.getheaders():
                    if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


def test_503s_are_retried_until_the_read_succeeds(config, local, admin_s3):
    admin_s3.put_object(Bucket="datarefresh-prod", Key="raw/retry/x.csv", Body=b"a\n1\n")
    proxy = FlakyProxy(local.endpoint, failures=2)
    try:
        aws = Aws(config, base_session=local.session(localaws.BASE_USER), endpoint_url=proxy.endpoint)
        body = aws.s3("datarefresh-prod-reader").get_object(Bucket="datarefresh-prod", Key="raw/retry/x.csv")
        assert body["Body"].read() == b"a\n1\n"
        assert proxy.served_errors == 2
    finally:
        proxy.close()


def _client_error(code: str, status: int) -> ClientError:
    return ClientError({"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "GetObject")


@pytest.mark.parametrize("code, status, kind, words", [
    ("SlowDown", 503, StorageError, "kept failing"),
    ("InternalError", 500, StorageError, "kept failing"),
    ("NoSuchBucket", 404, TerminalError, "does not exist"),
])
def test_error_mapping_transient_vs_terminal(code, status, kind, words):
    with pytest.raises(kind, match=words) as err:
        with s3_errors("datarefresh-dev-writer", "bucket", "key"):
            raise _client_error(code, status)
    assert err.value.transient is (kind is StorageError)
    assert "s3://bucket/key" in str(err.value)
