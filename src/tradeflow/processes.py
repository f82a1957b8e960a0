"""Whether a process of this machine still runs (for the leftovers of a killed one: a refresh's lock holder line,
a rendering's build folder)."""

from __future__ import annotations

import os


def alive(pid: int) -> bool:
    """True while process ``pid`` exists (another account's process counts: it cannot be signalled, but it runs)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
