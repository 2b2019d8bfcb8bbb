"""A client's own bucket for a job's outputs (Runpod's `s3Config`), kept in the job's options
so that any node can render the job, even after a restart.

Its secret is stored with the job in the job store, as the job's webhook URL is, and is never
part of any answer, webhook, log line or error: the job's options are shown nowhere, and the
dataclass leaves the secret out of its repr.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

OPTION = "output_bucket"


@dataclass(frozen=True, slots=True)
class ClientBucket:
    endpoint_url: str
    bucket: str
    access_key_id: str = field(repr=False)
    secret_access_key: str = field(repr=False)

    def as_option(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> ClientBucket | None:
        raw = options.get(OPTION)
        if not isinstance(raw, dict):
            return None
        try:
            return cls(**{key: str(raw[key]) for key in cls.__dataclass_fields__})
        except KeyError:
            return None

    def object_url(self, job_id: str, name: str) -> str:
        """Where the object is, as Runpod's workers name an upload to the client's bucket:
        `<endpointUrl>/<bucketName>/<job id>/<file>` (path-style; not signed)."""
        return f"{self.endpoint_url.rstrip('/')}/{self.bucket}/{job_id}/{name}"
