"""A refresh SIGKILLed at 20 points of its request sequence never leaves a reader on a partial
snapshot, and rerunning it completes with no duplicate or orphaned file.

The kill points are chosen from the reference run's requests (the suite's warm-up refresh):
the requests that read prod, upload a part, write each environment's manifest and move each
pointer, plus ones spread evenly over the reads and uploads to make 20. A point is "the k-th request with this
signature" (method and path, the snapshot id blanked), so it means the same step in any
run. The proxy forwards that request to the server, then kills the process before it sees
the answer (for a pointer move: the pointer moved, the run never knew).

To stay fast, kills are chained: 2 chains of 10 kills, each chain one as-of. Within a chain
every run is the rerun of the previous killed one (same as-of, so the same snapshot id and
the same keys); the points grow along the sequence, and the chain ends with a rerun that is
not killed. After every kill both pointers are checked; after every chain's rerun, the
files too.
"""

from __future__ import annotations

import os
import re
import signal
from collections import Counter

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
from tests.faults.proxy import Fault

KILLS, CHAINS = 20, 2


def phase(req) -> str:
    p = req.path
    if req.method == "POST":
        return "assume role"
    if req.bucket == "datarefresh-prod":
        return "read prod"
    if "current.json" in p:
        return "pointer " + ("move" if req.method == "PUT" else "read")
    if "_manifest.json" in p:
        return "manifest " + ("write" if req.method == "PUT" else "read")
    if "/reports/" in p or p.split("?")[0].split("/")[2:3] == ["reports"]:
        return "report"
    if req.method == "PUT":
        return "upload part"
    if req.method == "DELETE":
        return "delete"
    return "read output"


def kill_points(reference) -> list[tuple[tuple[str, str], int, str]]:
    """20 (signature, occurrence, phase) triples in request order: the first prod read, the
    first upload, every manifest write and pointer move, and the rest spread evenly over
    the reads and uploads (kills after the gates cost a whole
    validation each, so most points are before them)."""
    seen: Counter = Counter()
    occurrence = []
    for r in reference:
        seen[signature(r.method, r.path)] += 1
        occurrence.append((signature(r.method, r.path), seen[signature(r.method, r.path)], phase(r)))
    first: dict[str, int] = {}
    for i, (_, _, ph) in enumerate(occurrence):
        first.setdefault(ph, i)
    must = {first["read prod"], first["upload part"]}
    must |= {i for i, (_, _, ph) in enumerate(occurrence) if ph in ("manifest write", "pointer move")}
    last_upload = max(i for i, (_, _, ph) in enumerate(occurrence) if ph == "upload part")
    rest = [i for i in range(last_upload + 1) if i not in must]
    want = KILLS - len(must)
    chosen = must | {rest[(j * len(rest)) // want + len(rest) // (2 * want)] for j in range(want)}
    assert len(chosen) == KILLS
    return [occurrence[i] for i in sorted(chosen)]


def _run_id(output: str) -> str | None:
    m = re.search(r"run (\d{8}T\d{6}Z-[0-9a-f]{12}):", output)
    return m.group(1) if m else None


def test_sigkill_at_20_points_leaves_complete_snapshots_and_reruns_cleanly(suite, proxy, admin):
    points = kill_points(suite.reference)
    assert {"read prod", "upload part", "manifest write", "pointer move"} <= {ph for _, _, ph in points}
    killed = []
    for c in range(CHAINS):
        as_of = fresh_as_of()
        before = {env: pointer(admin, env)["snapshot_id"] for env in ENVS}
        run_id = None
        for sig, nth, ph in points[c::CHAINS]:
            holder: dict = {}
            count = Counter()

            def kill(holder=holder):
                child = holder["child"]
                assert child.started.wait(30)
                os.kill(child.pid, signal.SIGKILL)
                child.wait(30)

            def rule(req, sig=sig, nth=nth, count=count, kill=kill):
                if signature(req.method, req.path) == sig:
                    count[sig] += 1
                    if count[sig] == nth:
                        return Fault(after=kill)
                return None

            proxy.reset(rule)
            holder["child"] = child = suite.forks.start(["refresh", "--as-of", as_of], suite.env)
            code = child.wait()
            assert code == -signal.SIGKILL, (
                f"kill point {ph} {sig} #{nth} not reached (exit {code}):\n" + child.output[-2000:]
            )
            run_id = run_id or _run_id(child.output)
            killed.append(ph)
            for env in ENVS:
                manifest = assert_complete(admin, env)  # a reader gets a whole snapshot, old or new
                assert manifest["snapshot_id"] in (before[env], run_id), (env, ph)
        proxy.reset()
        rerun = suite.forks.run(["refresh", "--as-of", as_of], suite.env)
        assert rerun.code == 0, rerun.output[-3000:]
        assert _run_id(rerun.output) == run_id
        for env in ENVS:
            assert assert_complete(admin, env)["snapshot_id"] == run_id
            assert_no_stray_files(admin, env)
    assert len(killed) == KILLS
    assert assert_no_raw(admin, CANARIES) > 0
