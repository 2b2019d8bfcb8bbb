"""The Runpod adapter's pure parts: status words, the request envelope, the rate limiter's
arithmetic and bounds, and the stream's bounds — on real `Job` snapshots, no server."""

from __future__ import annotations

import pytest

from server.api.runpod_contract import (
    RunpodStatus,
    lifetime_over,
    parse_run_request,
    status_body,
    status_of,
    webhook_message,
)
from server.api.runpod_ratelimit import RateLimiter
from server.api.runpod_stream import MAX_CHUNKS_PER_JOB, StreamFeeds
from server.errors import ValidationFailed
from server.jobs import Api, ErrorKind, Job, JobState, WebhookEvent
from server.service import ProgressEvent

RESULT = {
    "video_url": "http://h/api/jobs/j/video",
    "poster_url": "http://h/api/jobs/j/poster",
    "duration_s": 1.0,
    "width": 160,
    "height": 284,
    "fps": 10,
    "frames": 10,
    "size_bytes": 5000,
    "encoder": "libx264",
    "render_s": 0.3,
    "video_file": "video.mp4",
}


def _job(state: JobState = JobState.QUEUED, **changes: object) -> Job:
    return Job(id="j", spec={"scenes": []}, api=Api.RUNPOD, state=state, queued_at=100.0).evolve(
        **changes
    )


@pytest.mark.parametrize(
    ("state", "kind", "expected"),
    [
        (JobState.QUEUED, None, RunpodStatus.IN_QUEUE),
        (JobState.PROCESSING, None, RunpodStatus.IN_PROGRESS),
        (JobState.COMPLETED, None, RunpodStatus.COMPLETED),
        (JobState.CANCELLED, ErrorKind.CANCELLED, RunpodStatus.CANCELLED),
        (JobState.FAILED, ErrorKind.TIMEOUT, RunpodStatus.TIMED_OUT),
        (JobState.FAILED, ErrorKind.RENDER, RunpodStatus.FAILED),
        (JobState.FAILED, ErrorKind.EXPIRED, RunpodStatus.FAILED),
        (JobState.FAILED, ErrorKind.WORKER_LOST, RunpodStatus.FAILED),
    ],
)
def test_every_state_maps_to_one_runpod_word(
    state: JobState, kind: ErrorKind | None, expected: RunpodStatus
) -> None:
    assert status_of(_job(state, error_kind=kind)) is expected


def test_status_body_times_output_and_error() -> None:
    done = _job(JobState.COMPLETED, started_at=102.5, finished_at=104.0, result=RESULT, error="old")
    assert status_body(done, now=500.0) == {
        "id": "j",
        "status": "COMPLETED",
        "delayTime": 2500,
        "executionTime": 1500,
        "output": {k: RESULT[k] for k in ("video_url", "poster_url", "duration_s")}
        | {"width": 160, "height": 284, "size_bytes": 5000, "encoder": "libx264"},
    }
    queued = status_body(_job(), now=101.0)
    assert queued == {"id": "j", "status": "IN_QUEUE", "delayTime": 1000, "executionTime": 0}
    failed = _job(JobState.FAILED, error_kind=ErrorKind.TIMEOUT, error="took too long")
    assert status_body(failed, now=101.0)["error"] == "took too long"


def test_webhook_is_the_status_object_plus_input_and_webhook_once_final() -> None:
    job = _job(JobState.COMPLETED, started_at=101.0, finished_at=102.0, result=RESULT)
    assert webhook_message(job, WebhookEvent.COMPLETED) is None  # no webhook asked for
    job = job.evolve(webhook_url="https://example.com/hook")
    assert webhook_message(job.evolve(state=JobState.PROCESSING), WebhookEvent.STARTED) is None
    message = webhook_message(job, WebhookEvent.COMPLETED)
    assert message is not None and message.url == "https://example.com/hook"
    assert message.payload == {
        **status_body(job, 102.0),
        "input": {"scenes": []},
        "webhook": "https://example.com/hook",
    }


def test_policy_in_milliseconds_becomes_options_in_seconds() -> None:
    run = parse_run_request(
        {"input": {"scenes": [], "webhookUrl": "https://e.com/h"}, "policy": {"ttl": 60_000}},
        default_ttl_s=86_400,
        max_execution_s=900,
    )
    assert run.spec == {"scenes": []} and run.webhook_url == "https://e.com/h"
    assert run.webhook_field == "input.webhookUrl"
    assert run.options() == {"ttl_s": 60.0, "lifetime_s": 60.0}
    # An execution timeout above the operator's render timeout is capped at it.
    capped = parse_run_request(
        {"input": {"a": 1}, "webhook": "https://e.com/w", "policy": {"executionTimeout": 3.6e6}},
        default_ttl_s=86_400,
        max_execution_s=900,
    )
    assert capped.webhook_field == "webhook"
    assert capped.options() == {"ttl_s": 86_400, "lifetime_s": 86_400, "execution_timeout_s": 900}
    with pytest.raises(ValidationFailed) as refused:
        parse_run_request(
            {"input": {"a": 1}, "policy": {"ttl": 9_999, "executionTimeout": True}},
            default_ttl_s=1,
            max_execution_s=1,
        )
    assert [e.path for e in refused.value.errors] == ["policy.ttl", "policy.executionTimeout"]


def test_lifetime_counts_from_the_latest_queueing() -> None:
    job = _job(options={"lifetime_s": 10.0})
    assert not lifetime_over(job, now=110.0) and lifetime_over(job, now=110.1)
    assert not lifetime_over(job.evolve(queued_at=200.0), now=205.0)  # retried
    assert not lifetime_over(_job(), now=1e12)  # no lifetime: other APIs' jobs


def test_rate_limiter_refills_per_caller_and_forgets_the_oldest() -> None:
    limiter = RateLimiter(max_callers=2)
    assert [limiter.acquire("a", 2, now=0.0) for _ in range(3)] == [None, None, 1]
    assert limiter.acquire("a", 2, now=0.49) == 1  # 0.98 of a token
    assert limiter.acquire("a", 2, now=0.5) is None
    assert limiter.acquire("slow", 0.25, now=0.0) is None
    assert limiter.acquire("slow", 0.25, now=1.0) == 3  # 0.25 of 1 token: 3 s to go
    assert limiter.acquire("b", 2, now=0.5) is None  # a third caller: "a" is forgotten
    assert [limiter.acquire("a", 2, now=0.5) for _ in range(3)] == [None, None, 1]
    assert all(limiter.acquire("c", 0, now=0.0) is None for _ in range(100))


def test_stream_keeps_whole_percents_bounded_and_the_final_output_once() -> None:
    feeds = StreamFeeds(max_jobs=2)
    running = _job(JobState.PROCESSING, started_at=101.0)
    feeds.on_state_change(running, JobState.QUEUED)
    for frame in range(1, 1001):  # 0.1 % a step: one chunk per whole percent
        feeds.on_progress(ProgressEvent("j", frame / 10, frame, 1000))
    chunks = feeds.take(running)
    assert [c["output"]["progress"] for c in chunks] == [0.1] + [float(p) for p in range(1, 101)]
    assert feeds.take(running) == []
    # A render started over (requeued) reports from 0 again; an unread stream stays bounded.
    for _ in range(2):
        feeds.on_state_change(running, JobState.QUEUED)
        for percent in range(1, 101):
            feeds.on_progress(ProgressEvent("j", float(percent), percent, 100))
    chunks = feeds.take(running)
    assert len(chunks) == MAX_CHUNKS_PER_JOB and chunks[-1]["output"]["progress"] == 100.0

    done = running.evolve(state=JobState.COMPLETED, finished_at=102.0, result=RESULT)
    feeds.on_state_change(done, JobState.PROCESSING)
    assert [c["output"]["video_url"] for c in feeds.take(done)] == [RESULT["video_url"]]
    assert feeds.take(done) == []

    for other in ("x", "y"):  # two more jobs: "j" is forgotten, and read from the job again
        feeds.take(_job(JobState.QUEUED).evolve(id=other))
    assert len(feeds.take(done)) == 1

    cancelled = _job(JobState.CANCELLED).evolve(id="x")
    feeds.on_progress(ProgressEvent("x", 50.0, 5, 10))
    assert feeds.take(cancelled) == []
