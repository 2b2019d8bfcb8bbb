"""The operator console (`GET /console`) in a real browser: Debian's Chromium, headless, driven
by Playwright. One server and one browser for the module; tiny renders (64x64, 5 fps, 1 s).

Screenshots land in tmp/artefacts/console/; with REELFARM_UPDATE_SCREENSHOT=1 the dashboard
is also written to docs/console.png (the README's picture)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from playwright.sync_api import Error as PlaywrightError
from support.browser import PageWatch, ThreadedServer, chromium
from support.serverkit import API_KEY, BASIC, PASSWORD, ROOT, USER, slow_spec
from support.waiting import wait_until_blocking

from server.state import SCHEDULER, SERVICE

CLIENT_KEY = "client-key-of-someone-else-0123"
CLIENT_BEARER = f"Bearer {CLIENT_KEY}"
ARTEFACTS = ROOT / "tmp" / "artefacts" / "console"
README_SHOT = ROOT / "docs" / "console.png"
HOSTILE = "<img src=x onerror=document.title='pwned'>"
WAIT_MS = 60_000


def tiny(title: str = "Console", **extra: Any) -> dict[str, Any]:
    return {
        "theme": "minimal",
        "width": 64,
        "height": 64,
        "fps": 5,
        "scenes": [{"type": "title", "title": title, "duration": 1}],
        "output": {"quality": "draft"},
        **extra,
    }


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, shared_assets: Path
) -> Iterator[ThreadedServer]:
    auth = {
        "basic_users": [f"{USER}:{PASSWORD}"],
        "api_keys": [API_KEY, CLIENT_KEY],
        "admin_users": [USER],
    }
    data = tmp_path_factory.mktemp("console") / "data"
    with ThreadedServer(data, shared_assets, {"auth": auth, "pool": {"max_concurrent": 2}}) as s:
        yield s


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    with chromium() as b:
        yield b


@pytest.fixture(scope="module")
def operator(browser: Browser, server: ThreadedServer) -> Iterator[tuple[Page, PageWatch]]:
    """The operator's page, open for the whole module (it must never need a reload)."""
    context = browser.new_context(
        http_credentials={"username": USER, "password": PASSWORD},
        viewport={"width": 1280, "height": 800},
    )
    page = context.new_page()
    watch = PageWatch(page, server.base_url)
    response = page.goto(server.base_url + "/console")
    assert response is not None and response.status == 200
    expect(page.locator("#feed-state")).to_have_text("live", timeout=WAIT_MS)
    page.evaluate("window.neverReloaded = true")
    yield page, watch
    context.close()


def submit(server: ThreadedServer, spec: dict[str, Any], auth: str = BASIC, **envelope: Any) -> str:
    status, body = server.client(auth)("POST", "/api/jobs", json={"spec": spec, **envelope})
    assert status == 202, body
    return body["id"]


def api_job(server: ThreadedServer, job_id: str, auth: str = BASIC) -> dict[str, Any]:
    status, body = server.client(auth)("GET", f"/api/jobs/{job_id}")
    assert status == 200, body
    return body


def row(page: Page, table: str, job_id: str, status: str | None = None) -> Any:
    selector = f'{table} tr[data-job-id="{job_id}"]'
    if status:
        selector += f'[data-status="{status}"]'
    return page.locator(selector)


def test_the_console_needs_credentials(server: ThreadedServer, browser: Browser) -> None:
    status, body = server.client(None)("GET", "/console")
    assert status == 401 and body["error"] == "authentication required"
    for path in ("/console/feed", "/console/data/jobs", "/console/static/console.js"):
        assert server.client(None)("GET", path)[0] == 401, path
    context = browser.new_context()  # no credentials: the browser is refused
    try:
        with pytest.raises(PlaywrightError, match="ERR_INVALID_AUTH_CREDENTIALS"):
            context.new_page().goto(server.base_url + "/console")
        assert context.request.get(server.base_url + "/console").status == 401
    finally:
        context.close()


def test_a_job_submitted_through_the_api_reaches_completed_on_the_page(
    server: ThreadedServer, operator: tuple[Page, PageWatch]
) -> None:
    page, _ = operator
    job_id = submit(server, tiny("Pushed"))
    expect(row(page, "#jobs", job_id, "completed")).to_have_count(1, timeout=WAIT_MS)
    assert page.evaluate("window.neverReloaded") is True
    finished = row(page, "#jobs", job_id)
    expect(finished).to_contain_text("libx264")  # the encoder, as the job reports it
    poster = finished.locator("img.thumb")
    expect(poster).to_have_js_property("complete", True, timeout=WAIT_MS)
    assert poster.evaluate("img => img.naturalWidth") == 64
    page.screenshot(path=str(ARTEFACTS / "dashboard.png"))

    finished.locator("a.job-link").click()
    expect(page.locator("#job-id")).to_have_text(job_id)
    video = page.locator("#job-media video")
    expect(video).to_have_count(1)
    page.wait_for_function(
        "() => document.querySelector('#job-media video').readyState >= 1", timeout=WAIT_MS
    )
    assert abs(video.evaluate("v => v.duration") - 1.0) < 0.3
    expect(page.locator("#job-timeline")).to_contain_text(app_of(server)[SERVICE].node_id)
    assert '"theme": "minimal"' in page.locator("#job-spec").text_content()
    page.screenshot(path=str(ARTEFACTS / "job.png"))
    page.goto(server.base_url + "/console#/")  # a hash change only: the page stays


def test_a_captioned_job_plays_its_captions_in_the_player(
    server: ThreadedServer, operator: tuple[Page, PageWatch]
) -> None:
    page, _ = operator
    words = [{"text": "spoken", "start": 0.2, "end": 0.8}]
    job_id = submit(server, tiny("Subtitled", captions={"words": words}))
    wait_until_blocking(lambda: api_job(server, job_id)["status"] == "completed", 60)
    page.goto(server.base_url + f"/console#/job/{job_id}")
    track = page.locator("#job-media video track")
    expect(track).to_have_count(1, timeout=WAIT_MS)
    assert track.get_attribute("kind") == "captions"
    # The browser loads the track and reads its one cue: the sidecar, served to the page.
    page.wait_for_function(
        "() => { const t = document.querySelector('#job-media video').textTracks[0];"
        " t.mode = 'hidden'; return t.cues && t.cues.length === 1; }",
        timeout=WAIT_MS,
    )
    cue = page.evaluate(
        "() => { const c = document.querySelector('#job-media video').textTracks[0].cues[0];"
        " return [c.startTime, c.endTime, c.text]; }"
    )
    assert cue == [0.2, 0.8, "spoken"]
    page.goto(server.base_url + "/console#/")


def app_of(server: ThreadedServer) -> Any:
    assert server.server is not None
    return server.server.app


def test_cancel_on_a_rendering_row_stops_it(
    server: ThreadedServer, operator: tuple[Page, PageWatch], shared_assets: Path
) -> None:
    page, _ = operator
    page.goto(server.base_url + "/console#/")
    job_id = submit(server, slow_spec(shared_assets, duration=60))
    running = row(page, "#running", job_id)
    expect(running).to_have_count(1, timeout=WAIT_MS)
    expect(running.locator("progress")).not_to_have_attribute("value", "0", timeout=WAIT_MS)
    running.locator('button[data-action="cancel"]').click()
    expect(row(page, "#jobs", job_id, "cancelled")).to_have_count(1, timeout=WAIT_MS)
    expect(running).to_have_count(0, timeout=WAIT_MS)
    assert api_job(server, job_id)["status"] == "cancelled"

    def render_stopped() -> bool:
        return job_id not in app_of(server)[SCHEDULER].rendering()

    wait_until_blocking(render_stopped, 10, "the render stopped on the node")


def test_retry_on_a_failed_row_queues_it(
    server: ThreadedServer, operator: tuple[Page, PageWatch], shared_assets: Path
) -> None:
    page, _ = operator
    # A file inside the allowed dirs that is no image: accepted at submit, fails to render.
    spec = tiny(scenes=[{"type": "image", "src": str(shared_assets / "README.md"), "duration": 1}])
    job_id = submit(server, spec)
    failed = row(page, "#jobs", job_id, "failed")
    expect(failed).to_have_count(1, timeout=WAIT_MS)
    expect(failed.locator("td.error")).not_to_be_empty()
    with page.expect_response(lambda r: r.url.endswith(f"/{job_id}/retry")) as answer:
        failed.locator('button[data-action="retry"]').click()
    assert answer.value.status == 202
    assert answer.value.json()["status"] == "queued" and answer.value.json()["attempts"] == 0
    # It renders again (and fails again): the page follows it there without a reload.
    expect(row(page, "#jobs", job_id, "failed")).to_have_count(1, timeout=WAIT_MS)
    assert api_job(server, job_id)["attempts"] == 1


def test_client_text_is_shown_as_text_and_runs_nothing(
    server: ThreadedServer, operator: tuple[Page, PageWatch]
) -> None:
    page, watch = operator
    job_id = submit(
        server,
        tiny(HOSTILE),
        metadata={"note": HOSTILE},
        webhook_url="http://127.0.0.1:9/" + "%3Cimg%20src=x%3E",
    )
    expect(row(page, "#jobs", job_id, "completed")).to_have_count(1, timeout=WAIT_MS)
    page.goto(server.base_url + f"/console#/job/{job_id}")
    expect(page.locator("#job-spec")).to_contain_text(HOSTILE)
    expect(page.locator("#job-metadata")).to_contain_text(HOSTILE)
    expect(page.locator("#job-webhook")).to_have_text("http://127.0.0.1:9/%3Cimg%20src=x%3E")
    # Its deliveries to a closed port, each with the error it met (shown as text too).
    deliveries = page.locator("#job-deliveries tbody tr")
    expect(deliveries.first).to_contain_text("started")
    assert page.evaluate("document.querySelectorAll('img[src=\"x\"]').length") == 0
    assert page.title() != "pwned" and not watch.dialogs
    page.goto(server.base_url + "/console#/")


def test_the_playground_shows_field_errors_and_renders_a_preview(
    server: ThreadedServer, operator: tuple[Page, PageWatch]
) -> None:
    page, _ = operator
    page.goto(server.base_url + "/console#/playground")
    bad = {"theme": "minimal", "fps": 500, "scenes": [{"type": "title", "duration": 1}]}
    status, refused = server.client(BASIC)("POST", "/api/jobs", json={"spec": bad})
    assert status == 400
    page.locator("#pg-spec").fill(json.dumps(bad))
    page.locator("#pg-check").click()
    shown = page.locator("#pg-errors li")
    expect(shown).to_have_count(len(refused["errors"]), timeout=WAIT_MS)
    texts = shown.all_text_contents()
    for error in refused["errors"]:
        assert f"{error['field']}: {error['message']}" in texts, (texts, refused)
    page.locator("#pg-spec").fill(json.dumps(tiny("Preview")))
    page.locator("#pg-preview").click()
    expect(page.locator("#pg-errors li")).to_have_count(0)
    page.wait_for_function(
        "() => document.querySelector('#pg-media video')?.readyState >= 1",
        timeout=WAIT_MS,
    )
    assert page.locator("#pg-media video").evaluate("v => v.videoWidth") == 64
    page.goto(server.base_url + "/console#/")


def test_an_ordinary_key_sees_only_its_own_jobs(server: ThreadedServer, browser: Browser) -> None:
    mine = submit(server, tiny("Mine"), auth=CLIENT_BEARER)
    theirs = submit(server, tiny("Theirs"))
    as_client = server.client(CLIENT_BEARER)
    _, listed = as_client("GET", "/console/data/jobs")
    assert [j["id"] for j in listed["jobs"]] == [mine]
    assert as_client("GET", f"/console/data/jobs/{theirs}")[0] == 404
    _, everyone = server.client(BASIC)("GET", "/console/data/jobs", params={"limit": "200"})
    assert {mine, theirs} <= {j["id"] for j in everyone["jobs"]}
    context = browser.new_context(extra_http_headers={"Authorization": CLIENT_BEARER})
    try:
        page = context.new_page()
        page.goto(server.base_url + "/console")
        expect(row(page, "#jobs", mine)).to_have_count(1, timeout=WAIT_MS)
        expect(page.locator("#feed-state")).to_have_text("live", timeout=WAIT_MS)
        pushed = submit(server, tiny("Also theirs"))
        mine_too = submit(server, tiny("Mine too"), auth=CLIENT_BEARER)
        expect(row(page, "#jobs", mine_too, "completed")).to_have_count(1, timeout=WAIT_MS)
        wait_until_blocking(
            lambda: api_job(server, pushed)["status"] == "completed", 60, "the other job ended"
        )
        assert page.locator(f'tr[data-job-id="{theirs}"], tr[data-job-id="{pushed}"]').count() == 0
        assert "farm" not in page.locator("#viewer").text_content()
    finally:
        context.close()


def test_actions_from_another_site_are_refused(server: ThreadedServer) -> None:
    call = server.client(BASIC)
    assert call("POST", "/console/data/purge")[0] == 403  # no console header: a plain form post
    forged = {"X-Reelfarm-Console": "1", "Origin": "http://evil.example"}
    assert call("POST", "/console/data/purge", headers=forged)[0] == 403
    cross = {"X-Reelfarm-Console": "1", "Sec-Fetch-Site": "cross-site"}
    assert call("POST", "/console/data/purge", headers=cross)[0] == 403
    status, _ = call("GET", "/console")
    assert status == 200


def test_the_page_sends_csp_and_purges_the_queue_with_a_confirmation(
    server: ThreadedServer, operator: tuple[Page, PageWatch], shared_assets: Path
) -> None:
    page, _ = operator
    page.goto(server.base_url + "/console#/")
    csp = page.request.get(server.base_url + "/console").headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    # Both slots busy, so the next ones wait in the queue.
    blockers = [submit(server, slow_spec(shared_assets, duration=60)) for _ in range(2)]
    queued = [submit(server, tiny(f"Queued {i}")) for i in range(2)]
    expect(row(page, "#queue", queued[1])).to_have_count(1, timeout=WAIT_MS)
    expect(page.locator("#running tbody tr")).to_have_count(2, timeout=WAIT_MS)
    expect(row(page, "#queue", queued[0]).locator("td").first).to_have_text("1")
    page.screenshot(path=str(ARTEFACTS / "busy.png"))
    if os.environ.get("REELFARM_UPDATE_SCREENSHOT") == "1":
        README_SHOT.parent.mkdir(exist_ok=True)
        page.screenshot(path=str(README_SHOT), clip={"x": 0, "y": 0, "width": 1280, "height": 720})
    page.locator("#purge").click()
    page.locator("#purge-yes").click()
    expect(page.locator("#queue tbody tr")).to_have_count(0, timeout=WAIT_MS)
    assert {api_job(server, j)["status"] for j in queued} == {"cancelled"}
    for job_id in blockers:
        server.client(BASIC)("DELETE", f"/api/jobs/{job_id}")


def test_the_page_reconnects_by_itself_after_a_restart(
    server: ThreadedServer, operator: tuple[Page, PageWatch]
) -> None:
    page, _ = operator
    page.goto(server.base_url + "/console#/")
    server.restart()
    expect(page.locator("#feed-state")).to_have_text("live", timeout=WAIT_MS)
    job_id = submit(server, tiny("After the restart"))
    expect(row(page, "#jobs", job_id, "completed")).to_have_count(1, timeout=WAIT_MS)
    assert page.evaluate("window.neverReloaded") is True


def test_nothing_left_the_server_and_no_page_error(operator: tuple[Page, PageWatch]) -> None:
    """Run last: over everything the module did on the operator's page."""
    _, watch = operator
    assert watch.foreign == []
    # The restart refuses the stream's reconnects for a moment; that is the only error allowed.
    errors = [e for e in watch.errors if "ERR_CONNECTION_REFUSED" not in e]
    assert errors == [], watch.failed_responses


def test_operators_must_be_configured_credentials() -> None:
    from server.config import ConfigError, load_config

    auth = {"basic_users": [f"{USER}:{PASSWORD}"], "api_keys": [API_KEY]}
    ok = load_config(overrides={"auth": {**auth, "admin_users": [USER]}}, environ={})
    assert ok.auth.admin_users == (USER,)
    wrong = {**auth, "admin_users": ["nobody"], "admin_keys": ["not-a-configured-key-000"]}
    with pytest.raises(ConfigError) as refused:
        load_config(overrides={"auth": wrong}, environ={})
    text = str(refused.value)
    assert "auth.admin_users[0]" in text and "auth.admin_keys[0]" in text
    assert "not-a-configured-key" not in text  # a key is never echoed back
