"""Media from http(s) URLs, and the rules that keep a download off private networks (SSRF).

`check_url_text` refuses what the text alone gives away (other schemes, credentials, literal
private IPs in any spelling, localhost) and runs when a spec is submitted. `download` runs in
the worker: it resolves the host and refuses private addresses, connects to the very address
it checked (no second DNS answer), follows redirects by hand and re-checks each hop, and
bounds both the bytes and the time of the download.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import socket
import ssl
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from renderer.asset_cache import cache_path, write_atomic
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


def check_url_text(url: str, policy: AssetPolicy) -> str | None:
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


def download(url: str, policy: AssetPolicy) -> Path:
    problem = check_url_text(url, policy)
    if problem:
        raise AssetError(problem)
    path = cache_path(policy, "url", url, _url_suffix(url))
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
                problem = check_url_text(current, policy)
                if problem:
                    raise AssetError(f"redirected to a refused URL: {problem}")
                continue
            if response.status != 200:
                raise AssetError(f"HTTP {response.status} from {_short(current)}")
            length = response.getheader("Content-Length")
            if length and length.isdigit() and int(length) > policy.max_bytes:
                raise AssetError(f"larger than {policy.max_bytes} bytes: {_short(url)}")
            write_atomic(path, _read_bounded(response, policy.max_bytes, deadline, url))
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


def _url_suffix(url: str) -> str:
    suffix = PurePosixPath(urllib.parse.urlsplit(url).path).suffix.lower()
    return suffix if suffix.isascii() and 1 < len(suffix) <= 6 and suffix[1:].isalnum() else ""


def _short(url: str) -> str:
    return url if len(url) <= 120 else url[:117] + "..."
