"""Fetched media on disk: downloads and decoded data: URIs, named by the hash of their source,
so a second render of the same source reads the disk."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

from renderer.types import AssetPolicy


def cache_path(policy: AssetPolicy, kind: str, key: str, suffix: str) -> Path:
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:40]
    return Path(policy.cache_dir) / "assets" / f"{kind}-{digest}{suffix}"


def write_atomic(path: Path, chunks: Iterator[bytes]) -> None:
    # Concurrent workers fetching the same URL each write their own file; the last rename wins.
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.{time.monotonic_ns()}.part")
    try:
        with partial.open("wb") as out:
            for chunk in chunks:
                out.write(chunk)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
