"""Where media comes from: local files, data: URIs and http(s) URLs, each under a policy.

Two stages. `check_sources` runs when a spec is submitted and never touches the network: it
refuses what can be refused from the text alone (paths outside `allowed_dirs`, literal private
IPs, other schemes, oversized data: URIs). `resolve` runs in the worker and turns a source into
a local file: it resolves the host and refuses private addresses (SSRF), connects to the very
address it checked (no second DNS answer), follows redirects by hand and re-checks each hop,
and bounds both the bytes and the time of a download.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import http.client
import ipaddress
import os
import socket
import ssl
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

import scenes
from renderer.types import AssetError, AssetPolicy

MAX_REDIRECTS = 5
CHUNK_BYTES = 64 * 1024
USER_AGENT = "reelfarm-assets/1"

# IPv6 prefixes that embed an IPv4 address a request could reach through a translator.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_SIX_TO_FOUR = ipaddress.ip_network("2002::/16")


def is_private_address(ip: str) -> bool:
    """True for any address that is not plainly public: private, loopback, link-local,
    multicast, reserved, unspecified, shared (CGNAT) — also when embedded in IPv6
    (IPv4-mapped, NAT64, 6to4). Unparseable input counts as private."""
    try:
        address = ipaddress.ip_address(ip.strip("[]").split("%", 1)[0])
    except ValueError:
        return True
    if isinstance(address, ipaddress.IPv6Address):
        embedded: ipaddress.IPv4Address | None = address.ipv4_mapped
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is None and address in _SIX_TO_FOUR:
            embedded = ipaddress.IPv4Address((int(address) >> 80) & 0xFFFFFFFF)
        if embedded is not None and is_private_address(str(embedded)):
            return True
    return (
        not address.is_global
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or address.is_loopback
        or address.is_link_local
        or address.is_private
    )


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
        return _check_url_text(src, policy)
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
            return _download(src, policy)
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
    path = _cache_path(policy, "data", src, _MIME_SUFFIX.get(mime, ""))
    if not path.is_file():
        _write_atomic(path, iter([data]))
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


# --- URLs ---------------------------------------------------------------------------------


def _literal_ip(host: str) -> str | None:
    """The address a host names without DNS: dotted, bracketed v6, or a legacy v4 form
    ("2130706433", "0x7f.1", "127.1") that resolvers would accept."""
    bare = host.strip("[]")
    with contextlib.suppress(ValueError):
        return str(ipaddress.ip_address(bare.split("%", 1)[0]))
    if bare and all(c in "0123456789abcdefxABCDEFX." for c in bare):
        with contextlib.suppress(OSError):
            return socket.inet_ntoa(socket.inet_aton(bare))
    return None


def _check_url_text(url: str, policy: AssetPolicy) -> str | None:
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return f"not a valid URL: {exc}"
    if parts.scheme.lower() not in ("http", "https"):
        return "only http and https URLs are allowed"
    if not parts.hostname:
        return "URL has no host"
    if parts.username or parts.password:
        return "URLs with credentials are not allowed"
    if port == 0:
        return "URL port must not be 0"
    literal = _literal_ip(parts.hostname)
    if literal and not policy.allow_private_urls and is_private_address(literal):
        return f"private, loopback or link-local address refused: {parts.hostname}"
    host = parts.hostname.lower().rstrip(".")
    if not policy.allow_private_urls and (host == "localhost" or host.endswith(".localhost")):
        return f"private, loopback or link-local address refused: {parts.hostname}"
    return None


def _download(url: str, policy: AssetPolicy) -> Path:
    problem = _check_url_text(url, policy)
    if problem:
        raise AssetError(problem)
    path = _cache_path(policy, "url", url, _url_suffix(url))
    if path.is_file() and path.stat().st_size <= policy.max_bytes:
        return path
    deadline = time.monotonic() + policy.download_timeout_s
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        response, connection = _open(current, policy, deadline)
        try:
            if response.status in (301, 302, 303, 307, 308):
                location = response.getheader("Location")
                if not location:
                    raise AssetError(f"redirect without a Location from {_short(current)}")
                current = urllib.parse.urljoin(current, location)
                problem = _check_url_text(current, policy)
                if problem:
                    raise AssetError(f"redirected to a refused URL: {problem}")
                continue
            if response.status != 200:
                raise AssetError(f"HTTP {response.status} from {_short(current)}")
            length = response.getheader("Content-Length")
            if length and length.isdigit() and int(length) > policy.max_bytes:
                raise AssetError(f"larger than {policy.max_bytes} bytes: {_short(url)}")
            _write_atomic(path, _read_bounded(response, policy.max_bytes, deadline, url))
            return path
        finally:
            connection.close()
    raise AssetError(f"more than {MAX_REDIRECTS} redirects: {_short(url)}")


def _open(
    url: str, policy: AssetPolicy, deadline: float
) -> tuple[http.client.HTTPResponse, http.client.HTTPConnection]:
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    https = parts.scheme.lower() == "https"
    port = parts.port or (443 if https else 80)
    address = _pick_address(host, port, policy, deadline)
    remaining = max(0.1, deadline - time.monotonic())
    connection: http.client.HTTPConnection
    if https:
        connection = _PinnedHTTPSConnection(host, port, address, timeout=remaining)
    else:
        connection = _PinnedHTTPConnection(host, port, address, timeout=remaining)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    try:
        connection.request("GET", target, headers={"User-Agent": USER_AGENT, "Accept": "*/*"})
        return connection.getresponse(), connection
    except (OSError, http.client.HTTPException, ssl.SSLError) as exc:
        connection.close()
        reason = "timed out" if isinstance(exc, TimeoutError) else str(exc) or type(exc).__name__
        raise AssetError(f"unreachable: {_short(url)} ({reason})") from None


def _pick_address(host: str, port: int, policy: AssetPolicy, deadline: float) -> str:
    literal = _literal_ip(host)
    if literal:
        addresses = [literal]
    else:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise AssetError(f"unreachable: cannot resolve {host} ({exc})") from None
        addresses = [str(info[4][0]) for info in infos]
    if not addresses:
        raise AssetError(f"unreachable: {host} has no address")
    if not policy.allow_private_urls:
        refused = [a for a in addresses if is_private_address(a)]
        if refused:
            raise AssetError(f"{host} resolves to a private address ({refused[0]}): refused")
    if time.monotonic() > deadline:
        raise AssetError(f"unreachable: {host} (timed out)")
    return addresses[0]


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the address that was checked, whatever DNS says a moment later."""

    def __init__(self, host: str, port: int, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        # Certificates are checked against the host name, not the pinned address.
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def _read_bounded(
    response: http.client.HTTPResponse, max_bytes: int, deadline: float, url: str
) -> Iterator[bytes]:
    received = 0
    while True:
        if time.monotonic() > deadline:
            raise AssetError(f"unreachable: {_short(url)} (download timed out)")
        try:
            # read1: whatever has arrived, so a trickling server cannot outlast the deadline.
            chunk = response.read1(CHUNK_BYTES)
        except (OSError, http.client.HTTPException) as exc:
            raise AssetError(f"unreachable: {_short(url)} ({exc or 'read failed'})") from None
        if not chunk:
            return
        received += len(chunk)
        if received > max_bytes:
            raise AssetError(f"larger than {max_bytes} bytes: {_short(url)}")
        yield chunk


# --- cache --------------------------------------------------------------------------------


def _url_suffix(url: str) -> str:
    suffix = PurePosixPath(urllib.parse.urlsplit(url).path).suffix.lower()
    return suffix if suffix.isascii() and 1 < len(suffix) <= 6 and suffix[1:].isalnum() else ""


def _cache_path(policy: AssetPolicy, kind: str, key: str, suffix: str) -> Path:
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:40]
    return Path(policy.cache_dir) / "assets" / f"{kind}-{digest}{suffix}"


def _write_atomic(path: Path, chunks: Iterator[bytes]) -> None:
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


def _short(url: str) -> str:
    return url if len(url) <= 120 else url[:117] + "..."
