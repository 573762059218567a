"""The optional parts of datarefresh and one clear error when one is not installed.

`pip install datarefresh` is the library and the CLI (sanitize, plan, refresh, pull, status, iam);
`[airflow]` adds the DAG's runtime, `[localaws]` the local S3/IAM/STS server behind `datarefresh
localaws` and `datarefresh demo`, `[dev]` both plus the test tools. pyproject.toml's
optional-dependencies are the one list: they are read back from the installed package's metadata,
so checking imports nothing (importing Airflow or moto costs seconds).
"""

from __future__ import annotations

import re
from importlib import metadata

from datarefresh.errors import TerminalError

_REQUIREMENT = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[([^\]]*)\])?")
_ONLY_EXTRA = re.compile(r"""\s*extra\s*==\s*["']([^"']+)["']\s*""")


class MissingExtraError(TerminalError):
    """A command needs an optional dependency group that is not installed."""


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared(dist: str, extra: str) -> list[tuple[str, list[str]]]:
    """(distribution, its extras) that `dist` requires for `extra`. Only plain `extra == "..."`
    markers count: our own extras and moto's `server` have no other kind."""
    out = []
    for req in metadata.requires(dist) or []:
        spec, _, marker = req.partition(";")
        m = _ONLY_EXTRA.fullmatch(marker)
        if m and _normalize(m.group(1)) == _normalize(extra):
            name = _REQUIREMENT.match(spec)
            if name:
                out.append(
                    (name.group(1), [e.strip() for e in (name.group(2) or "").split(",") if e.strip()])
                )
    return out


def missing(extra: str, dist: str = "datarefresh") -> list[str]:
    """The distributions of `dist[extra]` (and of the extras they ask for in turn) not installed."""
    gone, todo, seen = [], [(dist, extra)], set()
    while todo:
        owner, wanted = todo.pop()
        if (owner, wanted) in seen:
            continue
        seen.add((owner, wanted))
        for name, extras in _declared(owner, wanted):
            try:
                metadata.distribution(name)
            except metadata.PackageNotFoundError:
                gone.append(name)
                continue
            todo += [(name, e) for e in extras]
    return sorted(set(gone))


def require(extra: str, what: str) -> None:
    """Raise MissingExtraError naming the pip command when `datarefresh[extra]` is not installed.
    `what` says what needs it (a command, a feature)."""
    try:
        gone = missing(extra)
    except metadata.PackageNotFoundError:  # datarefresh run from a source tree it was never installed from
        return
    if gone:
        raise MissingExtraError(
            f"{what} needs the [{extra}] extra ({', '.join(gone)} not installed): "
            f"pip install 'datarefresh[{extra}]'"
        )
