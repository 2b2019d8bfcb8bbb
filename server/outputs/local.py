"""Outputs in `[storage] data_dir`: `<data_dir>/jobs/<id>/video.mp4`. With several nodes,
`data_dir` is a filesystem every node mounts (NFS, EFS), so any node serves any video."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from server.outputs.base import Download, OutputError


def job_dir(data_dir: Path, job_id: str) -> Path:
    """Where a job's render is written on this node (and, for `local`, kept)."""
    return data_dir / "jobs" / job_id


class LocalOutputs:
    def __init__(self, data_dir: Path):
        self._data_dir = data_dir

    async def put(self, job_id: str, files: Sequence[Path]) -> None:
        # A render is published into the job's directory already; anything elsewhere moves
        # in (a rename on one filesystem).
        target = job_dir(self._data_dir, job_id)
        try:
            await asyncio.to_thread(_move_into, target, files)
        except OSError as exc:
            raise OutputError(f"cannot write {target}: {exc.strerror or exc}") from None

    async def download(self, job_id: str, name: str) -> Download | None:
        path = job_dir(self._data_dir, job_id) / name
        return Download(path=path) if await asyncio.to_thread(path.is_file) else None

    async def delete(self, job_id: str) -> None:
        await asyncio.to_thread(shutil.rmtree, job_dir(self._data_dir, job_id), True)


def _move_into(target: Path, files: Sequence[Path]) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for file in files:
        if file.parent != target:
            os.replace(file, target / file.name)
