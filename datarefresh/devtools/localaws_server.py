"""moto's server, plus one local-only hook: backdate object versions (the demo's prod history).

Real S3 sets LastModified itself; a demo seeded "now" has no history, so no backfill of a past
date could find a table. `POST /_datarefresh/backdate` with
`{"bucket": ..., "objects": [{"key": ..., "version_id": ...}], "last_modified": ISO}` sets
those versions' LastModified, so that the demo's prod bucket looks like it was written day by
day. It exists only in this loopback test server (never in AWS) and only the demo calls it.
"""

from __future__ import annotations

import datetime as dt
import json
import sys

BACKDATE_PATH = "/_datarefresh/backdate"
# a cheap "is it up" for `localaws up`: moto's /moto-api/data.json dumps every resource (megabytes
# once the demo is seeded, seconds to answer on a busy machine)
HEALTH_PATH = "/_datarefresh/health"


def _backdate(body: dict) -> int:
    from moto.s3.models import s3_backends

    when = dt.datetime.fromisoformat(body["last_modified"]).astimezone(dt.timezone.utc).replace(tzinfo=None)
    wanted = {(o["key"], o["version_id"]) for o in body["objects"]}
    changed = 0
    for account in list(s3_backends):
        for backend in s3_backends[account].values():
            bucket = backend.buckets.get(body["bucket"])
            if bucket is None:
                continue
            for key, versions in bucket.keys.iterlists():
                for v in versions:
                    if (key, v.version_id) in wanted:
                        v.last_modified = when
                        changed += 1
    return changed


def with_backdate(app):
    def wrapped(environ, start_response):
        if environ.get("PATH_INFO") == HEALTH_PATH:
            start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
            return [b"ok"]
        if environ.get("PATH_INFO") == BACKDATE_PATH and environ.get("REQUEST_METHOD") == "POST":
            size = int(environ.get("CONTENT_LENGTH") or 0)
            body = json.loads(environ["wsgi.input"].read(size) or b"{}")
            out = json.dumps({"changed": _backdate(body)}).encode()
            start_response(
                "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(out)))]
            )
            return [out]
        return app(environ, start_response)

    return wrapped


def main(argv: list[str] | None = None) -> None:
    import moto.server as server

    original = server.DomainDispatcherApplication

    def dispatcher(*args, **kwargs):  # moto.server.main builds its app with this name
        return with_backdate(original(*args, **kwargs))

    server.DomainDispatcherApplication = dispatcher  # type: ignore[assignment,misc]
    server.main(argv)


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
