"""`localaws up` decides whether a server already runs by a health path the wrapper answers itself:
moto's /moto-api/data.json (the old check) dumps every resource, megabytes once the demo is seeded,
and took longer than the check's timeout on a busy machine, so a second, empty server was started."""

from datarefresh.devtools.localaws_server import HEALTH_PATH, with_backdate


def test_the_health_path_is_answered_without_moto():
    def moto(environ, start_response):
        raise AssertionError("the health check reached moto")

    seen = {}
    body = with_backdate(moto)(
        {"PATH_INFO": HEALTH_PATH, "REQUEST_METHOD": "GET"}, lambda s, h: seen.update(s=s)
    )
    assert seen["s"] == "200 OK" and b"".join(body) == b"ok"


def test_other_paths_still_reach_moto():
    calls = []

    def moto(environ, start_response):
        calls.append(environ["PATH_INFO"])
        return [b"moto"]

    assert with_backdate(moto)({"PATH_INFO": "/datarefresh-dev", "REQUEST_METHOD": "GET"}, None) == [b"moto"]
    assert calls == ["/datarefresh-dev"]
