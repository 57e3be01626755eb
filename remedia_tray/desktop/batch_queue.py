"""Which folder the tray sorts next: pure bookkeeping, the caller supplies the clock.

Complete files collect per folder (`add`); a folder's batch is due once none of its files is
still arriving. "Sort now" (`force`) goes first, even while paused, and "Sort full" also
regroups what is already sorted. A folder another process is sorting waits `BUSY_RETRY`
seconds (`retry`) and loses nothing; one whose settings are invalid waits until they are fixed
(`hold`). The service holds its lock around every call.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

BUSY_RETRY = 5.0  # seconds before retrying a folder another ReMedia process is sorting


@dataclass(frozen=True)
class Job:
    """One sort to run: a folder and the complete files handed on for it."""

    folder: Path
    paths: frozenset[Path]  # empty for "sort now" / hand-off without a batch
    forced: bool  # "sort now" or a hand-off: the whole folder, even while paused
    full: bool  # regroup the photos already in duplicates/ and similar/ too

    @property
    def arrived_only(self) -> bool:
        """Sort only the files that arrived (their neighbours come from the library index)."""
        return not self.forced and not self.full


class BatchQueue:
    """Ready files per folder, forced and full requests, and retry times (not thread-safe)."""

    def __init__(self) -> None:
        self._ready: dict[Path, set[Path]] = {}
        self._forced: list[Path] = []
        self._full: set[Path] = set()
        self._retry_at: dict[Path, float] = {}
        self._held: set[Path] = set()

    def add(self, folder: Path, paths: Iterable[Path]) -> None:
        """Complete files of `folder`, to sort in its next batch."""
        self._ready.setdefault(folder, set()).update(paths)

    def force(self, folders: Iterable[Path], *, full: bool = False) -> None:
        """Sort these folders next, in this order, each once however often asked."""
        for folder in folders:
            if folder not in self._forced:
                self._forced.append(folder)
            if full:
                self._full.add(folder)

    def forget(self, folder: Path) -> None:
        """A folder no longer watched: its waiting files are not sorted."""
        self._ready.pop(folder, None)

    def waiting(self) -> int:
        """Complete files not yet sorted."""
        return sum(len(paths) for paths in self._ready.values())

    def has_ready(self) -> bool:
        return bool(self._ready)

    def is_ready(self, folder: Path, path: Path) -> bool:
        """`path` waits for the next batch of `folder`."""
        return path in self._ready.get(folder, ())

    def ready_paths(self) -> dict[Path, frozenset[Path]]:
        return {folder: frozenset(paths) for folder, paths in self._ready.items()}

    def next_job(
        self,
        now: float,
        *,
        paused: bool,
        arriving: Callable[[Path], bool],
        held: Callable[[Path], bool] = lambda folder: False,
    ) -> Job | None:
        """The sort to run now, taken off the queue (None: nothing is due).

        `arriving(folder)`: files of the folder are still arriving, so its batch waits.
        `held(folder)`: a folder put on `hold` still may not be sorted, so its files wait;
        "Sort now" still takes it, for the caller to say why again.
        """
        if self._forced:
            folder = self._forced.pop(0)
            return self._take(folder, self._ready.pop(folder, set()), forced=True)
        if paused:
            return None
        for folder, paths in list(self._ready.items()):
            if not paths or self._retry_at.get(folder, 0.0) > now:
                continue
            if folder in self._held:
                if held(folder):
                    continue
                self._held.discard(folder)
            # A burst is one batch: wait until no file of this folder is still arriving.
            if arriving(folder):
                continue
            del self._ready[folder]
            return self._take(folder, paths, forced=False)
        return None

    def _take(self, folder: Path, paths: set[Path], *, forced: bool) -> Job:
        full = folder in self._full
        self._full.discard(folder)
        return Job(folder, frozenset(paths), forced, full)

    def hold(self, job: Job) -> None:
        """The folder may not be sorted now: its files wait, a full sort stays asked for."""
        self._held.add(job.folder)
        self.add(job.folder, job.paths)
        if job.full:
            self._full.add(job.folder)

    def retry(self, job: Job, now: float) -> None:
        """The folder was busy: put the job back, its batch due again in `BUSY_RETRY` s."""
        self.add(job.folder, job.paths)
        self._retry_at[job.folder] = now + BUSY_RETRY
        if job.forced:
            self._forced.append(job.folder)
        if job.full:
            self._full.add(job.folder)
