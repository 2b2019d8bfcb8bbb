"""Where a render attempt writes its files, so that a late attempt never touches the output of
the one that won.

With several nodes on one shared data dir, a node that was frozen past its lease (SIGSTOP, a
long pause) wakes up still rendering a job another node has since taken over. So no attempt
renders into the job's directory: each writes into a directory of its own inside it
(`<data_dir>/jobs/<id>/.attempt-<n>-<node>/`), and its files are moved into place
(`<data_dir>/jobs/<id>/video.mp4`, an atomic rename on one filesystem) only after the node has
read that it still holds the job's lease, right before it saves the result. An attempt that
lost the job is removed unread; the winner removes what earlier attempts left (a dead node's
half-written video), and a late one still writing there then fails to finish, as it should.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from pathlib import Path

from renderer.types import RenderResult
from server.jobs import Job

PREFIX = ".attempt-"


def attempt_dir(job_dir: Path, job: Job, node_id: str) -> Path:
    """This node's directory for `job`'s current attempt (hidden: not one of the outputs)."""
    return job_dir / f"{PREFIX}{job.attempts}-{node_id}"


def prepare(directory: Path) -> None:
    """An empty directory: a leftover of an interrupted attempt of the same name is removed."""
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)


def publish(result: RenderResult, job_dir: Path) -> RenderResult:
    """Move the attempt's poster and caption files, then its video, into `job_dir` (the
    result names them there), and remove every attempt's directory, this one's too: once the
    job reads as completed, its directory holds its outputs only. The video goes last, so
    whoever finds it finds its poster and captions beside it."""
    poster = job_dir / Path(result.poster_path).name
    video = job_dir / Path(result.video_path).name
    captions = {kind: job_dir / Path(path).name for kind, path in result.captions.items()}
    os.replace(result.poster_path, poster)
    for kind, path in result.captions.items():
        os.replace(path, captions[kind])
    os.replace(result.video_path, video)
    for attempt in job_dir.glob(f"{PREFIX}*"):
        discard(attempt)
    return dataclasses.replace(result, video_path=video, poster_path=poster, captions=captions)


def discard(directory: Path) -> None:
    shutil.rmtree(directory, ignore_errors=True)
