"""The local S3/IAM/STS server the integration and fault tests share: started on a free loopback
port, stopped when the fixture that holds it ends (module or session scope, as the caller wants)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from datarefresh.devtools import localaws


@contextmanager
def running(config, workdir: Path) -> Iterator[localaws.LocalAws]:
    server, started = localaws.up(config, workdir, port=0)
    assert started  # a fresh workdir: never an already-running server of another test
    try:
        yield server
    finally:
        localaws.down(workdir)
