"""One progress display for the command line and `pull`: a rich bar on stderr with what is done
of the total and an ETA. On a terminal it redraws in place; in a log (not a terminal) it prints its
final state once, when it stops."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)


class ProgressBar:
    """A context manager: `update(done, total)` (a callback for a known total, as demo_data takes)
    or `advance(amount, note=...)`. `in_bytes` shows the amounts as sizes (MB); `note` is a short
    text after them (pull: files done of files). Nothing is shown when `quiet`."""

    def __init__(
        self, label: str, total: float | None = None, *, in_bytes: bool = False, quiet: bool = False
    ):
        amount = DownloadColumn() if in_bytes else MofNCompleteColumn()
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            amount,
            TextColumn("{task.fields[note]}"),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            disable=quiet,
        )
        self._task = self._progress.add_task(label, total=total, note="")

    def __enter__(self) -> ProgressBar:
        self._progress.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._progress.stop()

    def update(self, done: float, total: float | None = None) -> None:
        self._progress.update(self._task, completed=done, **({"total": total} if total is not None else {}))

    def advance(self, amount: float, note: str | None = None) -> None:
        self._progress.update(self._task, advance=amount, **({"note": note} if note is not None else {}))
