"""Progress of long fetches: planned vs done calls, bodies, records.

The library reports into whatever :func:`current` returns; by default nothing listens (logs in
a non-TTY stay quiet). The CLI installs a rich progress bar when it writes to a terminal
(:func:`installed`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class FetchProgress:
    """Counters of one live fetch; ``listener(progress)`` is called after every change."""

    planned: int = 0  # queries planned (grows when a capped query is split)
    done: int = 0  # queries answered (complete pieces)
    calls: int = 0  # HTTP attempts, retries included
    bodies: int = 0  # bodies archived
    records: int = 0  # records in complete pieces
    label: str = ""
    listener: object = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def plan(self, n: int, label: str | None = None) -> None:
        self._bump(planned=n, label=label)

    def call(self) -> None:
        self._bump(calls=1)

    def body(self) -> None:
        self._bump(bodies=1)

    def answered(self, records: int) -> None:
        self._bump(done=1, records=records)

    def _bump(self, label: str | None = None, **inc: int) -> None:
        with self._lock:
            for k, v in inc.items():
                setattr(self, k, getattr(self, k) + v)
            if label is not None:
                self.label = label
        if callable(self.listener):
            self.listener(self)


_current: FetchProgress | None = None


def current() -> FetchProgress:
    """The progress to report into (a silent one when nobody listens)."""
    return _current if _current is not None else FetchProgress()


@contextmanager
def installed(progress: FetchProgress) -> Iterator[FetchProgress]:
    global _current
    before, _current = _current, progress
    try:
        yield progress
    finally:
        _current = before
