"""Run `datarefresh ...` command lines as real child processes, fast.

Importing datarefresh with Great Expectations, Presidio and spaCy takes ~11 s per process
on this machine (no bytecode is written), and the fault suite runs dozens of refreshes.
This server imports everything once, runs one warm-up command in-process (it loads the
spaCy model and the GX context, and doubles as the suite's reference run), then forks one
child per command: each child runs the real CLI entry point (`datarefresh.cli.main`) in
its own process, so it can be SIGKILLed at any point, given its own environment, a small
temporary folder or a file size limit.

Protocol (JSON lines): stdin gets {"id", "args", "env", "tmpdir", "fsize", "read_timeout",
"out"}; stdout answers {"id", "pid"} at fork and {"id", "exit"} when the child ends (the
exit code, or minus the signal that killed it). The child writes its stdout and stderr to
`out` and its peak RSS (KiB, at start and at the end) to `out + ".rss"`.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import signal
import sys
import tempfile
import threading


def _child(cmd: dict) -> None:
    fd = os.open(cmd["out"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.environ.update(cmd.get("env") or {})
    if cmd.get("tmpdir"):
        tempfile.tempdir = cmd["tmpdir"]
    if cmd.get("fsize"):
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (cmd["fsize"], cmd["fsize"]))
    if cmd.get("read_timeout"):
        from botocore.config import Config

        import datarefresh.aws

        datarefresh.aws.RETRIES = datarefresh.aws.RETRIES.merge(Config(read_timeout=cmd["read_timeout"]))
    start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    code = 0
    try:
        from datarefresh.cli import main

        if cmd.get("profile"):
            import cProfile

            cProfile.runctx(
                "main(args, prog_name='datarefresh')",
                {"main": main, "args": cmd["args"]},
                {},
                cmd["out"] + ".prof",
            )
        else:
            main(cmd["args"], prog_name="datarefresh")
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # noqa: BLE001 - what an uncaught error looks like to a user
        import traceback

        traceback.print_exc()
        code = 1
    finally:
        with open(cmd["out"] + ".rss", "w") as f:
            json.dump({"start_kib": start, "peak_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}, f)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def serve() -> None:
    warm = json.loads(sys.stdin.readline())
    os.environ.update(warm.get("env") or {})
    import great_expectations  # noqa: F401  - the slow imports, once

    from datarefresh.cli import main

    with contextlib.redirect_stdout(sys.stderr):
        try:
            main(warm["args"], prog_name="datarefresh")
        except SystemExit as exc:
            warm_code = exc.code or 0
    for k in warm.get("env") or {}:
        os.environ.pop(k, None)
    out = sys.stdout
    lock = threading.Lock()

    def say(msg: dict) -> None:
        with lock:
            out.write(json.dumps(msg) + "\n")
            out.flush()

    say({"id": "warm", "exit": warm_code})
    for line in sys.stdin:
        cmd = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _child(cmd)
        say({"id": cmd["id"], "pid": pid})

        def reap(pid=pid, cid=cmd["id"]):
            _, status = os.waitpid(pid, 0)
            say({"id": cid, "exit": os.waitstatus_to_exitcode(status)})

        threading.Thread(target=reap, daemon=True).start()


if __name__ == "__main__":
    serve()
