"""Where finished videos live, behind one seam (`OutputStore`): `local` (`[storage] data_dir`,
a shared filesystem when several nodes serve it) or `s3` (an S3-compatible bucket), chosen by
`[outputs] backend`; a job may name its client's own bucket instead (Runpod's `s3Config`).

Every render is written on the node that renders it (`local.job_dir`), then handed to the store
with `put`; downloads ask the store (`download`: a local file to stream or a presigned URL to
redirect to), and retention deletes a job's outputs with `delete`.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from server.outputs.base import Download, OutputError, OutputStore
from server.outputs.client_bucket import ClientBucket
from server.outputs.local import LocalOutputs, job_dir
from server.outputs.settings import OutputsConfig

__all__ = [
    "ClientBucket",
    "Download",
    "OutputError",
    "OutputStore",
    "OutputsConfig",
    "job_dir",
    "open_store",
    "store_for_job",
]


def open_store(outputs: OutputsConfig, data_dir: Path) -> OutputStore:
    """The operator's store, from `[outputs]`."""
    if outputs.backend == "s3":
        # Imported only when used: boto3 takes a while to import.
        from server.outputs.s3 import S3Outputs

        return S3Outputs.from_config(outputs.s3)
    return LocalOutputs(data_dir)


def store_for_job(
    options: Mapping[str, Any], configured: OutputStore, outputs: OutputsConfig
) -> OutputStore:
    """The client's own bucket when the job names one, otherwise the operator's store."""
    bucket = ClientBucket.from_options(options)
    if bucket is None:
        return configured
    return _client_store(bucket, outputs.s3.presign_s, outputs.allow_private_client_endpoints)


# One store per client bucket, kept while in use: a boto3 client takes tens of milliseconds to
# make (it reads endpoint data from disk), too much for every download of a job.
@functools.lru_cache(maxsize=64)
def _client_store(bucket: ClientBucket, presign_s: int, allow_private: bool) -> OutputStore:
    from server.outputs.s3 import S3Outputs

    return S3Outputs.for_client(bucket, presign_s=presign_s, allow_private=allow_private)
