"""A real S3 API for the output-store tests: moto's server on loopback, an ephemeral port."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
from moto.server import ThreadedMotoServer

from support.serverkit import free_port


@dataclass
class S3Fixture:
    endpoint: str
    client: Any  # a boto3 S3 client on the moto server

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        found = self.client.list_objects_v2(Bucket=bucket, Prefix=prefix)
        return sorted(item["Key"] for item in found.get("Contents", []))


@contextmanager
def moto_s3(*buckets: str) -> Iterator[S3Fixture]:
    """moto's S3 server with `buckets` made, and a client of it; stopped on exit."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    client = boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test-key",
        aws_secret_access_key="test-secret",
    )
    try:
        for bucket in buckets:
            client.create_bucket(Bucket=bucket)
        yield S3Fixture(endpoint, client)
    finally:
        client.close()
        server.stop()
