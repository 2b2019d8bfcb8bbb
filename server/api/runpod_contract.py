"""Runpod Serverless's words for Reelfarm jobs: statuses, the `/status` object, the request
envelope (`input`, `webhook`, `policy`, `s3Config`) and the webhook body.

Everything here is a pure function of a `Job` (or of a request body): the one job state
machine is mapped to `IN_QUEUE … TIMED_OUT` only in this module.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

import scenes
from server.errors import ValidationFailed
from server.jobs import ErrorKind, Job, JobState, WebhookEvent
from server.outputs import ClientBucket
from server.outputs.client_bucket import OPTION as OUTPUT_BUCKET_OPTION
from server.outputs.settings import BUCKET_NAME
from server.webhooks import WebhookMessage, check_target_url

# Runpod's own bounds on a job's policy (its documentation and API agree on these).
MIN_EXECUTION_TIMEOUT_MS = 5_000
MIN_TTL_MS = 10_000
MAX_POLICY_MS = 7 * 24 * 3600 * 1000
# `?wait=` of /runsync, in milliseconds (Runpod's default and range).
DEFAULT_WAIT_MS = 90_000
MIN_WAIT_MS = 1_000
MAX_WAIT_MS = 300_000
# `input.webhookUrl`: where today's clients put the callback before `webhook` existed.
INPUT_WEBHOOK_KEY = "webhookUrl"
REQUEST_KEYS = frozenset({"input", "webhook", "policy", "priority", "s3Config"})
POLICY_KEYS = frozenset({"executionTimeout", "ttl", "lowPriority"})
# The public part of a render's result, as `output` of a COMPLETED job.
OUTPUT_KEYS = ("video_url", "poster_url", "duration_s", "width", "height", "size_bytes", "encoder")
CAPTION_OUTPUT_KEYS = ("captions_vtt_url", "captions_srt_url")
# `s3Config`: the client's own bucket for the outputs; its fields and ours.
S3_CONFIG_FIELDS = {
    "accessId": "access_key_id",
    "accessSecret": "secret_access_key",
    "bucketName": "bucket",
    "endpointUrl": "endpoint_url",
}
MAX_S3_CREDENTIAL_CHARS = 1024


class RunpodStatus(StrEnum):
    IN_QUEUE = "IN_QUEUE"
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    TIMED_OUT = "TIMED_OUT"


# What a client may retry (Runpod's rule), and what the SDK treats as final.
RETRYABLE: frozenset[RunpodStatus] = frozenset({RunpodStatus.FAILED, RunpodStatus.TIMED_OUT})


def status_of(job: Job) -> RunpodStatus:
    match job.state:
        case JobState.QUEUED:
            return RunpodStatus.IN_QUEUE
        case JobState.PROCESSING:
            return RunpodStatus.IN_PROGRESS
        case JobState.COMPLETED:
            return RunpodStatus.COMPLETED
        case JobState.CANCELLED:
            return RunpodStatus.CANCELLED
        case JobState.FAILED if job.error_kind is ErrorKind.TIMEOUT:
            return RunpodStatus.TIMED_OUT
        case _:
            return RunpodStatus.FAILED


def completed_output(job: Job) -> dict[str, Any]:
    """The public result; with `s3Config`, the URLs are the objects in the client's bucket."""
    result = job.result or {}
    output = {key: result.get(key) for key in OUTPUT_KEYS}
    # Only for a render with captions: the output of every other job keeps its exact keys.
    output.update({key: result[key] for key in CAPTION_OUTPUT_KEYS if result.get(key)})
    bucket = ClientBucket.from_options(job.options)
    if bucket is not None:
        for kind in ("video", "poster", "captions_vtt", "captions_srt"):
            if result.get(f"{kind}_file"):
                output[f"{kind}_url"] = bucket.object_url(job.id, result[f"{kind}_file"])
    return output


def progress_output(job: Job) -> dict[str, Any]:
    """What an IN_PROGRESS job carries in `output` (Runpod's progress updates)."""
    return {
        "progress": job.progress,
        "frames_done": job.frames_done,
        "frames_total": job.frames_total,
    }


def _ms(seconds: float) -> int:
    return max(0, round(seconds * 1000))


def delay_ms(job: Job, now: float) -> int:
    """Time in the queue before the (latest) start; so far, while still queued."""
    queued_at = job.queued_at or job.created_at
    if job.started_at is not None:
        return _ms(job.started_at - queued_at)
    return _ms((job.finished_at or now) - queued_at)


def execution_ms(job: Job, now: float) -> int:
    """Time rendering; so far, while rendering; 0 when it never started."""
    if job.started_at is None:
        return 0
    return _ms((job.finished_at or now) - job.started_at)


def status_body(job: Job, now: float | None = None) -> dict[str, Any]:
    """The `/status/{id}` object: `output` when COMPLETED (progress while IN_PROGRESS),
    `error` (a string) when FAILED or TIMED_OUT."""
    now = time.time() if now is None else now
    status = status_of(job)
    body: dict[str, Any] = {
        "id": job.id,
        "status": status.value,
        "delayTime": delay_ms(job, now),
        "executionTime": execution_ms(job, now),
    }
    if status is RunpodStatus.COMPLETED:
        body["output"] = completed_output(job)
    elif status is RunpodStatus.IN_PROGRESS:
        body["output"] = progress_output(job)
    elif status in RETRYABLE:
        body["error"] = job.error or "the render failed"
    return body


def lifetime_over(job: Job, now: float | None = None) -> bool:
    """A Runpod job's `ttl` covers queue and render, counted from when it was (re)queued;
    past it the job is gone for the client (`/status` answers 404)."""
    lifetime_s = job.options.get("lifetime_s")
    if not isinstance(lifetime_s, int | float) or lifetime_s <= 0:
        return False
    now = time.time() if now is None else now
    return now > (job.queued_at or job.created_at) + lifetime_s


def webhook_message(job: Job, event: WebhookEvent) -> WebhookMessage | None:
    """Runpod's webhook: the `/status` object plus `input` and `webhook`, once the job is
    final (completed, failed, timed out or cancelled); nothing when it starts."""
    if not job.webhook_url or event is WebhookEvent.STARTED:
        return None
    payload = status_body(job, job.finished_at)
    payload["input"] = job.spec
    payload["webhook"] = job.webhook_url
    return WebhookMessage(job.webhook_url, payload)


@dataclass(frozen=True, slots=True)
class RunRequest:
    """A `/run` or `/runsync` body, checked; times in seconds."""

    spec: dict[str, Any]
    webhook_url: str | None
    webhook_field: str  # the client's name for it, for errors
    priority: Any  # checked by the service (0-9), named `priority`
    ttl_s: float
    execution_timeout_s: float | None
    low_priority: bool
    output_bucket: ClientBucket | None = None

    def options(self) -> dict[str, Any]:
        """Per-job extras: the service expires a queued job after `ttl_s`; the scheduler
        stops a render at `execution_timeout_s` and when `lifetime_s` runs out."""
        options: dict[str, Any] = {"ttl_s": self.ttl_s, "lifetime_s": self.ttl_s}
        if self.execution_timeout_s is not None:
            options["execution_timeout_s"] = self.execution_timeout_s
        if self.low_priority:
            options["low_priority"] = True
        if self.output_bucket is not None:
            options[OUTPUT_BUCKET_OPTION] = self.output_bucket.as_option()
        return options


def parse_run_request(
    body: dict[str, Any],
    *,
    default_ttl_s: float,
    max_execution_s: float,
    allow_private_buckets: bool = False,
) -> RunRequest:
    """Check the envelope; the spec itself (`input`) is checked by the service. Raises
    `ValidationFailed` naming every field at fault by the client's names."""
    errors: list[scenes.FieldError] = []
    for key in sorted(set(body) - REQUEST_KEYS):
        errors.append(scenes.FieldError(key, "unknown field"))
    output_bucket = (
        _client_bucket(body["s3Config"], allow_private_buckets, errors)
        if "s3Config" in body
        else None
    )
    spec = body.get("input")
    if not isinstance(spec, dict) or not spec:
        errors.append(scenes.FieldError("input", "required: a Reelfarm spec (a JSON object)"))
        spec = {}
    webhook_url, webhook_field = body.get("webhook"), "webhook"
    if webhook_url is None and INPUT_WEBHOOK_KEY in spec:
        webhook_url, webhook_field = spec[INPUT_WEBHOOK_KEY], f"input.{INPUT_WEBHOOK_KEY}"
    policy = body.get("policy", {})
    if not isinstance(policy, dict):
        errors.append(scenes.FieldError("policy", "must be a JSON object"))
        policy = {}
    for key in sorted(set(policy) - POLICY_KEYS):
        errors.append(scenes.FieldError(f"policy.{key}", "unknown field"))
    ttl_ms = _milliseconds(policy, "ttl", MIN_TTL_MS, errors)
    timeout_ms = _milliseconds(policy, "executionTimeout", MIN_EXECUTION_TIMEOUT_MS, errors)
    low_priority = policy.get("lowPriority", False)
    if not isinstance(low_priority, bool):
        errors.append(scenes.FieldError("policy.lowPriority", "must be true or false"))
    if errors:
        raise ValidationFailed(errors)
    return RunRequest(
        spec={k: v for k, v in spec.items() if k != INPUT_WEBHOOK_KEY},
        webhook_url=webhook_url,
        webhook_field=webhook_field,
        priority=body.get("priority", 0),
        ttl_s=ttl_ms / 1000 if ttl_ms is not None else default_ttl_s,
        # The operator's render_timeout_s stays the ceiling: one client cannot hold a slot
        # longer than the server allows any render.
        execution_timeout_s=min(timeout_ms / 1000, max_execution_s) if timeout_ms else None,
        low_priority=low_priority,
        output_bucket=output_bucket,
    )


def _client_bucket(
    raw: object, allow_private: bool, errors: list[scenes.FieldError]
) -> ClientBucket | None:
    """`s3Config`, checked; no message quotes a value (two of them are credentials)."""
    if not isinstance(raw, dict):
        errors.append(scenes.FieldError("s3Config", "must be a JSON object"))
        return None
    found = len(errors)
    for key in sorted(set(raw) - set(S3_CONFIG_FIELDS)):
        errors.append(scenes.FieldError(f"s3Config.{key}", "unknown field"))
    values: dict[str, str] = {}
    for key, name in S3_CONFIG_FIELDS.items():
        value = raw.get(key)
        if not isinstance(value, str) or not value or len(value) > MAX_S3_CREDENTIAL_CHARS:
            errors.append(
                scenes.FieldError(
                    f"s3Config.{key}", f"required: 1-{MAX_S3_CREDENTIAL_CHARS} characters"
                )
            )
        else:
            values[name] = value
    if "bucket" in values and not BUCKET_NAME.fullmatch(values["bucket"]):
        message = "must be 3-63 lower-case letters, digits, '.' or '-'"
        errors.append(scenes.FieldError("s3Config.bucketName", message))
    if "endpoint_url" in values:
        problem = check_target_url(values["endpoint_url"], allow_private=allow_private)
        if problem is None and "@" in urlsplit(values["endpoint_url"]).netloc:
            problem = "must not carry credentials (give them as accessId and accessSecret)"
        if problem:
            errors.append(scenes.FieldError("s3Config.endpointUrl", problem))
    return ClientBucket(**values) if len(errors) == found else None


def _milliseconds(
    policy: dict[str, Any], key: str, minimum: int, errors: list[scenes.FieldError]
) -> float | None:
    value = policy.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        errors.append(scenes.FieldError(f"policy.{key}", "must be a number of milliseconds"))
        return None
    if not minimum <= value <= MAX_POLICY_MS:
        errors.append(
            scenes.FieldError(f"policy.{key}", f"must be {minimum}-{MAX_POLICY_MS} milliseconds")
        )
        return None
    return float(value)


def client_field_errors(exc: ValidationFailed, webhook_field: str) -> ValidationFailed:
    """The service's errors with Runpod's field names: the spec lives under `input`."""
    envelope = {"priority", "metadata", "Idempotency-Key"}
    renamed = []
    for error in exc.errors:
        if error.path == "webhook_url":
            path = webhook_field
        elif error.path in envelope:
            path = error.path
        else:
            path = f"input.{error.path}" if error.path else "input"
        renamed.append(scenes.FieldError(path, error.message))
    return ValidationFailed(renamed)
