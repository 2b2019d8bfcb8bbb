"""Brand overlays checked at submit: a bad one is a 400 naming its field, and no job."""

from __future__ import annotations

from support.serverkit import tiny_spec


async def test_bad_overlays_are_refused_at_submit_with_the_field_named_and_no_job(
    start_server,
) -> None:
    client = (await start_server(ready=False)).client
    cases = {
        "overlays[0].end": [{"type": "progress", "start": 0.5, "end": 0.2}],
        "overlays[0].start": [{"type": "progress", "start": 3}],
        "overlays[1].width_percent": [
            {"type": "progress"}, {"type": "logo", "src": "a.png", "width_percent": 90}],
        "overlays[0]": [{"type": "sticker"}],
        # The asset rules of media: a private address is refused before anything is fetched.
        "overlays[0].src": [{"type": "logo", "src": "http://127.0.0.1/logo.png"}],
    }  # fmt: skip
    for field, overlays in cases.items():
        status, out = await client.post(
            "/api/jobs", {"spec": {**tiny_spec(), "overlays": overlays}}
        )
        assert status == 400, (field, out)
        assert field in [e["field"] for e in out["errors"]], (field, out)
    _, jobs = await client.get("/api/jobs")
    assert jobs["total"] == 0
