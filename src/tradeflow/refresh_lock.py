"""One refresh at a time per home, and what `tradeflow status` says of the one running or cut short.

:func:`held` holds ``$TRADEFLOW_HOME/refresh.lock`` (a file lock: the OS releases it when the process dies, even
by ``kill -9``) for a whole refresh, fetch to reports; a second refresh of the home fails at once, naming the first.
While it is held, ``refresh.lock.holder`` says who holds it (pid, host, start); a refresh that ends, well or
badly, removes it. A holder line whose process is gone is a refresh that was killed: :func:`state` tells the two
apart without touching the lock.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from filelock import FileLock, Timeout

from tradeflow.errors import TradeflowError
from tradeflow.processes import alive

LOCK = "refresh.lock"
HOLDER = LOCK + ".holder"


@contextmanager
def held(home: Path) -> Iterator[None]:
    """Hold ``home``'s refresh lock for the block; when another refresh holds it, fail at once, naming it."""
    home.mkdir(parents=True, exist_ok=True)
    lock, holder = FileLock(str(home / LOCK)), home / HOLDER
    try:
        lock.acquire(timeout=0)
    except Timeout:
        who = _read(holder)
        raise TradeflowError(f"another refresh is running on TRADEFLOW_HOME={home} ({who or 'process not recorded yet'}):"
                             " wait for it to finish, then run again") from None
    try:
        holder.write_text(f"pid {os.getpid()} on {socket.gethostname()}, started "
                          f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}\n", encoding="utf-8")
        yield
    finally:
        holder.unlink(missing_ok=True)
        lock.release()


@dataclass(frozen=True)
class RefreshState:
    running: bool  # False: its process is gone (killed, or the machine restarted) before the refresh ended
    holder: str  # "pid 123 on host, started 2026-12-08T02:00:00Z"


def state(home: Path) -> RefreshState | None:
    """The refresh running on ``home`` now, or the last one cut short (None: neither). Told from the holder line's
    process, never by taking the lock (a refresh starting at that moment would find it held)."""
    holder = _read(home / HOLDER)
    match = re.fullmatch(r"pid (\d+) on (\S+), started .*", holder)
    if not match:
        return None
    pid, host = int(match[1]), match[2]
    running = host != socket.gethostname() or alive(pid)  # another machine's process: this one cannot tell
    if _read(home / HOLDER) != holder:  # it ended (or another began) while we looked
        return state(home)
    return RefreshState(running, holder)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError:
        return ""
