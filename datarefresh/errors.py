"""One exception root for the whole project.

Terminal errors mean "retrying will not help" (bad config, bad input, a failed
gate, access denied); transient errors mean "try again" (throttling, 5xx,
connection resets). The Airflow adapter maps terminal errors to fail-without-retry.
"""

from __future__ import annotations


class DataRefreshError(Exception):
    """Root of every error datarefresh raises on purpose."""

    transient = False

    def __reduce__(self):
        # Errors cross process boundaries (process pools, Celery workers, Airflow task
        # results). The default pickling calls cls(*args), which fails for subclasses with
        # keyword-only arguments; rebuild from the formatted args and attributes instead.
        return (_rebuild, (type(self), self.args, self.__dict__.copy()))


def _rebuild(cls: type[DataRefreshError], args: tuple, state: dict) -> DataRefreshError:
    err = cls.__new__(cls)
    Exception.__init__(err, *args)
    err.__dict__.update(state)
    return err


def raised_at(exc: BaseException) -> str:
    """The innermost datarefresh frame of an exception's traceback as module:function, for
    messages about errors whose own text is withheld (it may quote a data value)."""
    import traceback

    frames = [
        f for f in traceback.extract_tb(exc.__traceback__) if "/datarefresh/" in f.filename.replace("\\", "/")
    ]
    if not frames:
        return "a library"
    f = frames[-1]
    module = f.filename.replace("\\", "/").rsplit("/datarefresh/", 1)[1].removesuffix(".py").replace("/", ".")
    return f"datarefresh.{module}:{f.name}"


class TerminalError(DataRefreshError):
    """Retrying will not help."""


class TransientError(DataRefreshError):
    """A retry with backoff may succeed."""

    transient = True


class ConfigError(TerminalError):
    """The configuration is invalid; names the file and the key."""

    def __init__(self, message: str, *, file: str | None = None, key: str | None = None):
        self.file, self.key = file, key
        where = ", ".join(p for p in (file and f"file {file}", key and f"key {key}") if p)
        super().__init__(f"{where}: {message}" if where else message)


class InputError(TerminalError):
    """A data file cannot be read as declared; names the file and, if known, the line (1 = first line)."""

    def __init__(self, message: str, *, file: str, row: int | None = None):
        self.file, self.row = file, row
        where = f"{file}" + (f", line {row}" if row is not None else "")
        super().__init__(f"{where}: {message}")


class PolicyError(TerminalError):
    """The data does not match the policy (fail closed); names table and column."""

    def __init__(self, message: str, *, table: str, column: str | None = None):
        self.table, self.column = table, column
        where = f"table {table}" + (f", column {column}" if column else "")
        super().__init__(f"{where}: {message}")


class SecretError(TerminalError):
    """No pseudonym key is available (the key itself is never part of a message)."""


class AccessDeniedError(TerminalError):
    """A role was refused an S3 action; names role, bucket and key."""


class LocalDiskError(TerminalError):
    """The local temporary folder is full (or a file size limit was hit)."""


class PublishConflictError(TerminalError):
    """Another publish moved the environment's pointer first."""


class StorageError(TransientError):
    """S3 kept failing after retries (throttling, 5xx, connection resets)."""
