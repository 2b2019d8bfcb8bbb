"""Which cached files (effect masks, theme backgrounds) an earlier version left, and may go.

Each kind names its files `<kind>-v<version>-…`; names from before versions were written into
them match a kind's legacy pattern and count as version 0. A file is stale when its version is
older than this one's and nothing has used it for `UNUSED_FOR_S` (a temporary file left by a
write that never finished is stale after as long, whatever its version): nodes of two versions may
share one cache dir during a rolling upgrade, and a render of the older one may be about to open
a file it found a moment ago (a segmented render opens it again for every segment). A file's
last use is the later of its access time (the kernel's `relatime` moves it at least daily on a
read) and its modification time, which a render of this version moves when it finds the file
(`mark_used`), so mounts without access times keep what this version uses too.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from pathlib import Path

# relatime refreshes an access time only when it is a day old: two days unused is really unused.
UNUSED_FOR_S = 2 * 86400
# A render moves a found file's modification time at most this often.
MARK_EVERY_S = 86400


def prefix(kind: str, version: int) -> str:
    """How the names of `kind`'s files of `version` start: what `stale_files` reads back."""
    return f"{kind}-v{version}-"


def stale_files(
    directory: Path,
    kind: str,
    current: int,
    legacy: re.Pattern[str],
    now: float | None = None,
) -> list[Path]:
    """Files in `directory` of a version of `kind` older than `current`, unused for a while,
    and writes of any version abandoned as long ago (a worker killed mid-write leaves its
    temporary file, which starts with a dot). Newer versions' files are kept."""
    versioned = re.compile(rf"{re.escape(kind)}-v(\d+)-")  # `prefix`, read back
    now = time.time() if now is None else now
    stale = []
    for path in Path(directory).glob("*"):
        if path.name.startswith(f".{kind}-"):
            version = -1  # a write, which takes seconds: after days, abandoned
        elif found := versioned.match(path.name):
            version = int(found.group(1))
        else:
            version = 0 if legacy.fullmatch(path.name) else None
        if version is None or version >= current:
            continue
        with contextlib.suppress(FileNotFoundError):  # another run removed it first
            if now - _last_used(path) > UNUSED_FOR_S:
                stale.append(path)
    return sorted(stale)


def mark_used(path: Path, now: float | None = None) -> None:
    """Note that a render uses `path` (its modification time), at most once a day; a read-only
    cache simply keeps its times."""
    now = time.time() if now is None else now
    with contextlib.suppress(OSError):
        if now - path.stat().st_mtime > MARK_EVERY_S:
            os.utime(path)


def _last_used(path: Path) -> float:
    status = path.stat()
    return max(status.st_atime, status.st_mtime)
