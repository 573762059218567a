"""Helpers shared by the steps of a refresh (plan, unit, publish)."""

from __future__ import annotations

import errno
import functools
import tempfile

from datarefresh.errors import LocalDiskError
from datarefresh.refresh.table import Progress


def local_disk_errors(step):
    """A full temporary folder fails the step with a clear error instead of a traceback
    (pyarrow, Great Expectations and shutil all raise a bare OSError)."""

    @functools.wraps(step)
    def run(*args, **kwargs):
        try:
            return step(*args, **kwargs)
        except OSError as exc:
            text = str(exc).lower()
            if exc.errno in (errno.ENOSPC, errno.EDQUOT) or "no space left" in text:
                why = "no space left on device"
            elif exc.errno == errno.EFBIG or "file too large" in text:
                why = "a file grew too large for the file size limit"
            else:
                raise
            raise LocalDiskError(
                f"the local temporary folder {tempfile.gettempdir()} is full ({why}) during "
                f"{step.__name__}; free space or point TMPDIR at a larger disk"
            ) from None

    return run


def progress_or_silent(progress: Progress | None) -> Progress:
    """The step's progress callback, or one that says nothing."""
    return progress or (lambda _m: None)
