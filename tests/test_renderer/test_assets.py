"""Media sources: submit-time refusals (no network), render-time fetching under limits."""

from __future__ import annotations

import base64
import http.server
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import scenes
from renderer import AssetError, AssetPolicy
from renderer.assets import check_sources, is_private_address, resolve

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
)


@pytest.mark.parametrize(
    "ip",
    [
        "127.0.0.1", "127.8.9.10", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254",
        "0.0.0.0", "100.64.0.1",  # noqa: S104 - an address under test, not a bind "224.0.0.1", "239.255.255.250", "255.255.255.255", "240.0.0.1",
        "::1", "::", "fe80::1", "fc00::1", "fd12:3456::1", "ff02::1", "::ffff:127.0.0.1",
        "::ffff:10.0.0.1", "::ffff:169.254.169.254", "64:ff9b::7f00:1", "2002:7f00:1::1",
        "[::1]", "not an ip", "",
    ],
)  # fmt: skip
def test_private_and_special_addresses_are_private(ip):
    assert is_private_address(ip)


@pytest.mark.parametrize("ip", ["8.8.8.8", "1.1.1.1", "93.184.216.34", "2606:4700::1111"])
def test_public_addresses_are_not(ip):
    assert not is_private_address(ip)


def _spec(*sources: str) -> scenes.Spec:
    return scenes.parse_spec(
        {"scenes": [{"type": "image", "src": src, "duration": 1} for src in sources]}
    )


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/a.jpg",
        "http://[::1]:8080/a.jpg",
        "http://169.254.169.254/latest/meta-data/",
        "https://10.0.0.5/x.png",
        "http://0.0.0.0/",
        "http://[::ffff:127.0.0.1]/",
        "http://2130706433/",  # 127.0.0.1 as one decimal number
        "http://0x7f.1/",  # 127.0.0.1 in hex, shortened
        "http://localhost/a.jpg",
        "http://192.168.1.20:9000/a.jpg",
    ],
)
def test_literal_private_urls_are_refused_at_submit(url):
    errors = check_sources(_spec("https://example.com/ok.jpg", url), AssetPolicy())
    assert [e.path for e in errors] == ["scenes[1].src"]
    assert "refused" in errors[0].message


def test_private_urls_pass_when_the_operator_allows_them():
    assert (
        check_sources(_spec("http://127.0.0.1/a.jpg"), AssetPolicy(allow_private_urls=True)) == []
    )


@pytest.mark.parametrize(
    ("src", "message"),
    [
        ("http://user:pw@example.com/a.jpg", "credentials"),
        ("data:image/png;base64,!!!notbase64", "not valid base64"),
        ("data:image/png;base64", "no ','"),
        ("/etc/passwd", "allowed_dirs"),
    ],
)
def test_other_sources_are_refused_with_a_reason(src, message):
    errors = check_sources(_spec(src), AssetPolicy())
    assert len(errors) == 1 and errors[0].path == "scenes[0].src"
    assert message in errors[0].message


def test_other_schemes_are_refused_by_the_spec_and_by_resolve(tmp_path):
    with pytest.raises(scenes.SpecError, match=r"scenes\[0\]\.src: must be a path"):
        _spec("ftp://example.com/a.jpg")
    with pytest.raises(AssetError, match="must be a local path"):
        resolve("gopher://example.com/", "f", AssetPolicy(cache_dir=tmp_path))


def test_every_media_field_is_checked_with_its_path():
    spec = scenes.parse_spec(
        {
            "scenes": [
                {"type": "title", "title": "t", "duration": 1, "background": "http://10.0.0.1/b.jpg",
                 "voiceover": "http://10.0.0.1/v.m4a"},
                {"type": "video", "src": "http://10.0.0.1/c.mp4", "duration": 1},
            ],
            "audio": {"music": "http://10.0.0.1/m.mp3", "voiceover": "http://10.0.0.1/v.mp3"},
        }
    )  # fmt: skip
    paths = [e.path for e in check_sources(spec, AssetPolicy())]
    assert paths == [
        "scenes[0].background",
        "scenes[0].voiceover",
        "scenes[1].src",
        "audio.music",
        "audio.voiceover",
    ]


def test_data_uri_size_is_bounded():
    uri = "data:image/png;base64," + base64.b64encode(PNG * 100).decode()
    assert check_sources(_spec(uri), AssetPolicy(max_bytes=len(PNG) * 1000)) == []
    errors = check_sources(_spec(uri), AssetPolicy(max_bytes=len(PNG) * 10))
    assert "larger than" in errors[0].message


# --- local files -------------------------------------------------------------------------


@pytest.fixture
def media_root(tmp_path: Path) -> Path:
    root = tmp_path / "media"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "a.png").write_bytes(PNG)
    (tmp_path / "secret.png").write_bytes(PNG)
    os.symlink(tmp_path / "secret.png", root / "escape.png")
    return root


def test_local_files_must_be_inside_allowed_dirs(media_root):
    policy = AssetPolicy(allowed_dirs=(media_root,))
    assert resolve(str(media_root / "sub" / "a.png"), "f", policy) == media_root / "sub" / "a.png"
    assert resolve("sub/a.png", "f", policy) == media_root / "sub" / "a.png"
    for outside in ("../secret.png", str(media_root.parent / "secret.png"), "escape.png"):
        with pytest.raises(AssetError, match="allowed_dirs") as caught:
            resolve(outside, "scenes[3].src", policy)
        assert caught.value.field == "scenes[3].src"
    assert check_sources(_spec("sub/a.png", "../secret.png"), policy)[0].path == "scenes[1].src"


def test_missing_local_file_is_reported_as_not_found(media_root):
    with pytest.raises(AssetError, match=r"not found: sub/nope\.png") as caught:
        resolve("sub/nope.png", "scenes[0].src", AssetPolicy(allowed_dirs=(media_root,)))
    assert str(caught.value) == "scenes[0].src: not found: sub/nope.png"


def test_cli_policy_takes_any_file_relative_to_the_spec(media_root):
    policy = AssetPolicy(allow_any_local=True, base_dir=media_root / "sub")
    assert resolve("../../secret.png", "f", policy) == media_root.parent / "secret.png"
    assert resolve(f"file://{media_root}/sub/a.png", "f", policy) == media_root / "sub" / "a.png"


def test_data_uri_is_decoded_into_the_cache(tmp_path):
    uri = "data:image/png;base64," + base64.b64encode(PNG).decode()
    path = resolve(uri, "f", AssetPolicy(cache_dir=tmp_path))
    assert path.read_bytes() == PNG and path.suffix == ".png"
    assert path.is_relative_to(tmp_path)


# --- downloads ---------------------------------------------------------------------------


class _Handler(http.server.BaseHTTPRequestHandler):
    routes: dict[str, tuple[int, dict[str, str], bytes, float]] = {}
    hits: list[str] = []

    def do_GET(self) -> None:
        self.hits.append(self.path)
        status, headers, body, delay = self.routes.get(self.path, (404, {}, b"no", 0.0))
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        if "Content-Length" not in headers and delay == 0:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if delay:
            for byte in body:  # a trickle: one byte per `delay`
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(delay)
        else:
            self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[tuple[str, type[_Handler]]]:
    handler = type("Handler", (_Handler,), {"routes": {}, "hits": []})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", handler
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def _allowing(tmp_path: Path, **kw) -> AssetPolicy:
    return AssetPolicy(allow_private_urls=True, cache_dir=tmp_path / "cache", **kw)


def test_download_lands_in_the_cache_and_is_reused(server, tmp_path):
    base, handler = server
    handler.routes["/pic.png"] = (200, {"Content-Type": "image/png"}, PNG, 0.0)
    first = resolve(f"{base}/pic.png", "f", _allowing(tmp_path))
    second = resolve(f"{base}/pic.png", "f", _allowing(tmp_path))
    assert first == second and first.read_bytes() == PNG and first.suffix == ".png"
    assert handler.hits == ["/pic.png"]
    assert [p.name for p in first.parent.iterdir()] == [first.name]  # no partial files


def test_loopback_download_is_refused_by_default(server, tmp_path):
    base, handler = server
    handler.routes["/pic.png"] = (200, {}, PNG, 0.0)
    with pytest.raises(AssetError, match="refused") as caught:
        resolve(f"{base}/pic.png", "scenes[2].src", AssetPolicy(cache_dir=tmp_path))
    assert caught.value.field == "scenes[2].src"
    assert handler.hits == []


def test_redirects_are_followed_and_each_hop_is_checked(server, tmp_path):
    base, handler = server
    handler.routes["/a"] = (302, {"Location": "/b"}, b"", 0.0)
    handler.routes["/b"] = (301, {"Location": f"{base}/pic.png"}, b"", 0.0)
    handler.routes["/pic.png"] = (200, {}, PNG, 0.0)
    assert resolve(f"{base}/a", "f", _allowing(tmp_path)).read_bytes() == PNG
    handler.routes["/evil"] = (302, {"Location": "file:///etc/passwd"}, b"", 0.0)
    with pytest.raises(AssetError, match="redirected to a refused URL"):
        resolve(f"{base}/evil", "f", _allowing(tmp_path))
    handler.routes["/loop"] = (302, {"Location": "/loop"}, b"", 0.0)
    with pytest.raises(AssetError, match="more than 5 redirects"):
        resolve(f"{base}/loop", "f", _allowing(tmp_path))
    assert handler.hits.count("/loop") == 6


def test_a_host_resolving_to_a_private_address_is_refused(tmp_path, monkeypatch):
    # DNS is the network; a rebinding answer is the case this guards against.
    def private_answer(host, port, *args, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", port))]

    monkeypatch.setattr(socket, "getaddrinfo", private_answer)
    with pytest.raises(AssetError, match=r"resolves to a private address \(10.0.0.7\)"):
        resolve("https://media.example.com/a.jpg", "f", AssetPolicy(cache_dir=tmp_path))


def test_size_limit_holds_with_and_without_content_length(server, tmp_path):
    base, handler = server
    handler.routes["/big"] = (200, {}, b"x" * 5000, 0.0)
    handler.routes["/chunked"] = (200, {"Connection": "close"}, b"x" * 5000, 0.0001)
    for path in ("/big", "/chunked"):
        with pytest.raises(AssetError, match="larger than 1000 bytes"):
            resolve(f"{base}{path}", "f", _allowing(tmp_path, max_bytes=1000))
    assert not [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]


def test_download_time_is_bounded(server, tmp_path):
    base, handler = server
    handler.routes["/slow"] = (
        200,
        {"Content-Length": "400", "Connection": "close"},
        b"y" * 400,
        0.01,
    )
    started = time.monotonic()
    with pytest.raises(AssetError, match="timed out"):
        resolve(f"{base}/slow", "f", _allowing(tmp_path, download_timeout_s=0.5))
    assert time.monotonic() - started < 3


def test_http_errors_and_closed_ports_are_unreachable(server, tmp_path):
    base, _ = server
    with pytest.raises(AssetError, match="HTTP 404"):
        resolve(f"{base}/missing.jpg", "f", _allowing(tmp_path))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    with pytest.raises(AssetError, match="unreachable"):
        resolve(f"http://127.0.0.1:{closed}/a.jpg", "f", _allowing(tmp_path))
