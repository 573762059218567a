"""Two refreshes publishing the same environment at once: exactly one wins, the other fails
cleanly, and readers only ever see the winner's complete snapshot."""

from __future__ import annotations

import threading

from tests.faults.conftest import CANARIES
from tests.faults.helpers import ENVS, assert_complete, assert_no_raw, fresh_as_of, keys, pointer
from tests.faults.proxy import Fault


def test_two_runs_publishing_at_once_exactly_one_wins(suite, proxy, admin):
    before = pointer(admin, "dev")
    # Hold the first run's dev pointer move until the second run has read the same pointer and
    # reached its own move; then let the first through, and the second once the first is
    # answered (the local server does not serialise simultaneous conditional writes; S3 does).
    both_there, first_answered = threading.Event(), threading.Event()
    arrived: list[int] = []

    def rule(req):
        if (
            req.method == "PUT"
            and req.bucket == "datarefresh-dev"
            and req.path.endswith("/current.json")
            and len(arrived) < 2
        ):
            arrived.append(req.n)
            if len(arrived) == 1:
                return Fault(wait=lambda: both_there.wait(120))
            both_there.set()
            return Fault(wait=lambda: first_answered.wait(120))
        return None

    def answered(req):
        if arrived and req.n == arrived[0]:
            first_answered.set()

    proxy.reset(rule)
    proxy.on_answer = answered
    a = suite.forks.start(["refresh", "--as-of", fresh_as_of()], suite.env)
    b = suite.forks.start(["refresh", "--as-of", fresh_as_of()], suite.env)
    codes = sorted([a.wait(300), b.wait(300)])
    proxy.reset()
    assert len(arrived) == 2 and codes == [0, 1], (codes, a.output[-2000:], b.output[-2000:])
    winner, loser = (a, b) if a.code == 0 else (b, a)
    assert "another run published first" in loser.output, loser.output[-2000:]
    assert "Traceback" not in loser.output, loser.output[-2000:]
    won = next(
        line.split()[-1] for line in winner.output.splitlines() if line.startswith("dev      published")
    )
    lost = next(line.split()[1].rstrip(":") for line in loser.output.splitlines() if line.startswith("run "))
    assert before["snapshot_id"] not in (won, lost) and won != lost
    for env in ENVS:
        assert assert_complete(admin, env)["snapshot_id"] == won
    # the loser removed its files from the environment it lost
    assert not keys(admin, "datarefresh-dev", f"snapshots/{lost}/")
    assert_no_raw(admin, CANARIES)
