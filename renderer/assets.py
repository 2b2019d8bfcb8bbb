"""Where media comes from: local files, data: URIs and http(s) URLs, each under a policy.

Two stages. `check_sources` runs when a spec is submitted and never touches the network: it
refuses what can be refused from the text alone (paths outside `allowed_dirs`, literal private
IPs, other schemes, oversized data: URIs). `resolve` runs in the worker and turns a source into
a local file; URLs are fetched by `renderer.downloads`, which keeps to the same rules.
"""

from __future__ import annotations

import base64
import binascii
import os
import urllib.parse
from pathlib import Path

import scenes
from renderer.asset_cache import cache_path, write_atomic
from renderer.downloads import check_url_text, download, is_private_address
from renderer.types import AssetError, AssetPolicy

# is_private_address belongs to this module's surface: webhook targets are checked with it.
__all__ = ["check_sources", "is_private_address", "resolve"]


def check_sources(spec: scenes.Spec, policy: AssetPolicy) -> list[scenes.FieldError]:
    """Every source in `spec` that `policy` refuses, found without network access."""
    errors = []
    for field, src in spec.media_sources():
        problem = _check_source(src, policy)
        if problem:
            errors.append(scenes.FieldError(field, problem))
    return errors


def _check_source(src: str, policy: AssetPolicy) -> str | None:
    kind = _kind(src)
    if kind == "data":
        try:
            size = len(_decode_data_uri(src, policy.max_bytes))
        except AssetError as exc:
            return exc.message
        return None if size else "data: URI is empty"
    if kind == "url":
        return check_url_text(src, policy)
    if kind == "file":
        try:
            _local_path(src, policy)
        except AssetError as exc:
            return exc.message
        return None
    return "must be a local path, a data: URI or an http(s) URL"


def resolve(src: str, field: str, policy: AssetPolicy) -> Path:
    """A local file holding `src`: the file itself, a decoded data: URI, or a download.

    Downloads and data: URIs land in `policy.cache_dir`, named by the hash of the source, so a
    second render of the same URL reads the disk. Raises AssetError naming `field`.
    """
    try:
        kind = _kind(src)
        if kind == "file":
            return _local_path(src, policy)
        if kind == "data":
            return _cache_data_uri(src, policy)
        if kind == "url":
            return download(src, policy)
        raise AssetError("must be a local path, a data: URI or an http(s) URL")
    except AssetError as exc:
        raise AssetError(exc.message, field) from None


# --- kinds --------------------------------------------------------------------------------


def _kind(src: str) -> str:
    head = src[:12].lower()
    if head.startswith("data:"):
        return "data"
    if head.startswith(("http://", "https://")):
        return "url"
    if head.startswith("file://"):
        return "file"
    # "C:\..." and plain paths have no scheme (a one-letter "scheme" is a drive).
    scheme, sep, _ = src.partition(":")
    if sep and len(scheme) > 1 and scheme.isalnum() and "/" not in scheme:
        return "other"
    return "file"


# --- local files --------------------------------------------------------------------------


def _local_path(src: str, policy: AssetPolicy) -> Path:
    raw = urllib.parse.unquote(urllib.parse.urlsplit(src).path) if src.startswith("file:") else src
    if not policy.allow_any_local and not policy.allowed_dirs:
        raise AssetError("local files are not allowed here ([assets] allowed_dirs is empty)")
    path = Path(raw).expanduser() if policy.allow_any_local else Path(raw)
    if path.is_absolute():
        candidates = [path]
    elif policy.base_dir is not None:
        candidates = [policy.base_dir / path]
    elif policy.allow_any_local:
        candidates = [path]
    else:
        # A relative path on the server is relative to each allowed dir in turn.
        candidates = [Path(directory) / path for directory in policy.allowed_dirs]
    # realpath first: "..", and symlinks pointing out of an allowed dir, are judged by target.
    real = [Path(os.path.realpath(candidate)) for candidate in candidates]
    permitted = [p for p in real if policy.allow_any_local or _inside_allowed(p, policy)]
    if not permitted:
        raise AssetError(f"not inside [assets] allowed_dirs: {raw}")
    for candidate in permitted:
        if candidate.is_file():
            return candidate
    if any(candidate.exists() for candidate in permitted):
        raise AssetError(f"not a file: {raw}")
    raise AssetError(f"not found: {raw}")


def _inside_allowed(path: Path, policy: AssetPolicy) -> bool:
    for directory in policy.allowed_dirs:
        root = Path(os.path.realpath(directory))
        if path == root or root in path.parents:
            return True
    return False


# --- data: URIs ---------------------------------------------------------------------------


def _decode_data_uri(src: str, max_bytes: int) -> bytes:
    header, sep, payload = src[5:].partition(",")
    if not sep:
        raise AssetError("data: URI has no ',' before its data")
    # Base64 is 4 characters per 3 bytes: refuse by length before decoding anything.
    is_base64 = header.lower().endswith(";base64")
    if (len(payload) * 3 // 4 if is_base64 else len(payload) // 3) > max_bytes:
        raise AssetError(f"data: URI is larger than {max_bytes} bytes")
    try:
        if is_base64:
            data = base64.b64decode("".join(payload.split()), validate=True)
        else:
            data = urllib.parse.unquote_to_bytes(payload)
    except (binascii.Error, ValueError):
        raise AssetError("data: URI is not valid base64") from None
    if len(data) > max_bytes:
        raise AssetError(f"data: URI is larger than {max_bytes} bytes")
    return data


def _cache_data_uri(src: str, policy: AssetPolicy) -> Path:
    data = _decode_data_uri(src, policy.max_bytes)
    if not data:
        raise AssetError("data: URI is empty")
    mime = src[5:].partition(",")[0].split(";")[0].lower()
    path = cache_path(policy, "data", src, _MIME_SUFFIX.get(mime, ""))
    if not path.is_file():
        write_atomic(path, iter([data]))
    return path


_MIME_SUFFIX = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "image/gif": ".gif",
    "video/mp4": ".mp4",
    "video/quicktime": ".mov",
    "video/webm": ".webm",
    "audio/mpeg": ".mp3",
    "audio/mp4": ".m4a",
    "audio/aac": ".aac",
    "audio/wav": ".wav",
    "audio/x-wav": ".wav",
    "audio/ogg": ".ogg",
}
