"""Outputs in an S3-compatible bucket (AWS, MinIO, R2, Ceph…): `<prefix><job id>/video.mp4`.

A download answers a redirect to a presigned GET of the object, valid `presign_s`. boto3 is
blocking, so every call runs in a thread; its clients are safe to share between threads. The
operator's credentials come from boto3's standard chain (`AWS_ACCESS_KEY_ID` /
`AWS_SECRET_ACCESS_KEY`, `AWS_PROFILE`, instance roles); a client's own bucket (Runpod's
`s3Config`) brings its keys with the job, and its objects stay the client's: never deleted.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError

from renderer.assets import is_private_address
from server.outputs.base import Download, OutputError, content_type
from server.outputs.client_bucket import ClientBucket
from server.outputs.settings import S3OutputsConfig

T = TypeVar("T")
# delete_objects takes at most this many keys a call.
DELETE_BATCH = 1000


def _make_client(
    endpoint_url: str,
    region: str,
    addressing_style: str,
    credentials: dict[str, str] | None = None,
) -> Any:
    config = BotoConfig(
        signature_version="s3v4",
        s3={"addressing_style": addressing_style},
        retries={"max_attempts": 3, "mode": "standard"},
        connect_timeout=10,
        read_timeout=60,
    )
    try:
        return boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint_url or None,
            region_name=region or None,
            config=config,
            **(credentials or {}),
        )
    except (BotoCoreError, ValueError) as exc:  # e.g. an endpoint boto3 cannot use
        raise OutputError(f"cannot use the S3 endpoint {endpoint_url or 'of AWS'}: {exc}") from None


class S3Outputs:
    """`connect` makes the boto3 client, on first use and in a worker thread (it reads
    credentials and endpoint data from disk); a store that is only asked to delete a client's
    objects never makes one."""

    def __init__(
        self,
        connect: Callable[[], Any],
        bucket: str,
        *,
        prefix: str = "",
        presign_s: int = 900,
        owns_objects: bool = True,
        check_endpoint: Callable[[], None] = lambda: None,
        secret: str = "",
    ):
        self._connect = connect
        self._made: Any = None
        self._bucket = bucket
        self._prefix = prefix
        self._presign_s = presign_s
        self._owns_objects = owns_objects
        self._check_endpoint = check_endpoint
        self._secret = secret

    @classmethod
    def from_config(cls, s3: S3OutputsConfig) -> S3Outputs:
        return cls(
            lambda: _make_client(s3.endpoint_url, s3.region, s3.addressing_style),
            s3.bucket,
            prefix=s3.prefix,
            presign_s=s3.presign_s,
        )

    @classmethod
    def for_client(cls, bucket: ClientBucket, *, presign_s: int, allow_private: bool) -> S3Outputs:
        """The client's bucket: path-style URLs (as Runpod's workers use), its own keys."""
        credentials = {
            "aws_access_key_id": bucket.access_key_id,
            "aws_secret_access_key": bucket.secret_access_key,
        }

        def check_endpoint() -> None:
            if not allow_private:
                refuse_private_host(bucket.endpoint_url)

        return cls(
            lambda: _make_client(bucket.endpoint_url, "", "path", credentials),
            bucket.bucket,
            presign_s=presign_s,
            owns_objects=False,
            check_endpoint=check_endpoint,
            secret=bucket.secret_access_key,
        )

    @property
    def _client(self) -> Any:
        if self._made is None:
            self._made = self._connect()
        return self._made

    def key(self, job_id: str, name: str) -> str:
        return f"{self._prefix}{job_id}/{name}"

    async def put(self, job_id: str, files: Sequence[Path]) -> None:
        await self._call("upload", lambda: self._upload(job_id, files))

    def _upload(self, job_id: str, files: Sequence[Path]) -> None:
        self._check_endpoint()
        for file in files:
            self._client.upload_file(
                str(file),
                self._bucket,
                self.key(job_id, file.name),
                ExtraArgs={"ContentType": content_type(file)},
            )
        # Uploaded: this node's copies were only the render's scratch.
        for file in files:
            file.unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                file.parent.rmdir()

    async def download(self, job_id: str, name: str) -> Download | None:
        url = await self._call(
            "presign",
            lambda: self._client.generate_presigned_url(
                "get_object",
                Params={"Bucket": self._bucket, "Key": self.key(job_id, name)},
                ExpiresIn=self._presign_s,
            ),
        )
        return Download(url=url)

    async def delete(self, job_id: str) -> None:
        if self._owns_objects:
            await self._call("delete", lambda: self._delete(job_id))

    def _delete(self, job_id: str) -> None:
        pages = self._client.get_paginator("list_objects_v2").paginate(
            Bucket=self._bucket, Prefix=self.key(job_id, "")
        )
        keys = [item["Key"] for page in pages for item in page.get("Contents", [])]
        for start in range(0, len(keys), DELETE_BATCH):
            batch = keys[start : start + DELETE_BATCH]
            self._client.delete_objects(
                Bucket=self._bucket,
                Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True},
            )

    async def _call(self, what: str, body: Callable[[], T]) -> T:
        try:
            return await asyncio.to_thread(body)
        except (BotoCoreError, ClientError, OSError) as exc:
            message = str(exc)
            if self._secret:
                message = message.replace(self._secret, "***")
            raise OutputError(f"S3 {what} to bucket {self._bucket} failed: {message}") from None


def refuse_private_host(endpoint_url: str) -> None:
    """Raise OutputError when the endpoint's host resolves to a private, loopback or
    link-local address (checked again at each call: a name may change where it points)."""
    parts = urlsplit(endpoint_url)
    host = parts.hostname or ""
    try:
        found = socket.getaddrinfo(host, parts.port or 443, proto=socket.IPPROTO_TCP)
    except OSError as exc:
        raise OutputError(f"cannot resolve {host}: {exc.strerror or exc}") from None
    if any(is_private_address(str(info[4][0])) for info in found):
        raise OutputError(f"{host} resolves to a private address")
