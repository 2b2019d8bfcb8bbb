"""`[outputs]`: where finished videos are kept. Read by `server.config` (which builds these from
`config.toml` and the environment) and by the stores; imports nothing of the server's."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

# S3's own rule for bucket names (3-63 lower-case letters, digits, dots and hyphens).
BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
MIN_PRESIGN_S = 1
# SigV4 presigned URLs are valid for at most seven days.
MAX_PRESIGN_S = 7 * 24 * 3600


@dataclass(frozen=True)
class S3OutputsConfig:
    bucket: str = ""
    # Keys are `<prefix><job id>/video.mp4`; e.g. "reelfarm/" to share a bucket.
    prefix: str = ""
    # Empty: AWS itself; otherwise any S3-compatible endpoint (MinIO, R2, Ceph…).
    endpoint_url: str = ""
    region: str = ""
    addressing_style: Literal["auto", "path", "virtual"] = "auto"
    # How long a download's redirect stays valid.
    presign_s: int = 900


@dataclass(frozen=True)
class OutputsConfig:
    # "local": `[storage] data_dir` (shared by every node when it is NFS/EFS); "s3": a bucket.
    # Credentials come from the standard AWS variables or files, never from this file.
    backend: Literal["local", "s3"] = "local"
    # A Runpod request's own bucket (`s3Config`) may name a private or loopback endpoint.
    allow_private_client_endpoints: bool = False
    s3: S3OutputsConfig = field(default_factory=S3OutputsConfig)


def outputs_problems(outputs: OutputsConfig) -> list[str]:
    """One line per problem, each naming its key."""
    s3 = outputs.s3
    problems: list[str] = []
    if outputs.backend == "s3" and not s3.bucket:
        problems.append('outputs.s3.bucket: required when backend = "s3"')
    if s3.bucket and not BUCKET_NAME.fullmatch(s3.bucket):
        problems.append("outputs.s3.bucket: must be 3-63 lower-case letters, digits, '.' or '-'")
    if s3.prefix.startswith("/"):
        problems.append("outputs.s3.prefix: must not start with '/'")
    if s3.endpoint_url:
        parts = urlsplit(s3.endpoint_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            problems.append("outputs.s3.endpoint_url: must be an http(s) URL")
        elif parts.password is not None or parts.username is not None:
            problems.append("outputs.s3.endpoint_url: must not carry credentials")
    if not MIN_PRESIGN_S <= s3.presign_s <= MAX_PRESIGN_S:
        problems.append(f"outputs.s3.presign_s: must be {MIN_PRESIGN_S}-{MAX_PRESIGN_S} seconds")
    return problems


def nest_subtables(values: dict[str, Any], subtables: set[str]) -> dict[str, Any]:
    """`s3_bucket = …` (from `REELFARM_OUTPUTS_S3_BUCKET`) as `s3 = {bucket = …}`, beside
    what `[outputs.s3]` in the file gave."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        sub, _, rest = key.partition("_")
        if key not in subtables and sub in subtables and rest:
            table = out.setdefault(sub, {})
            if isinstance(table, dict):
                table[rest] = value
        elif key in subtables and isinstance(value, dict):
            # The environment's keys (already nested) win over the file's.
            earlier = out.get(key)
            out[key] = {**value, **earlier} if isinstance(earlier, dict) else dict(value)
        else:
            out[key] = value
    return out
