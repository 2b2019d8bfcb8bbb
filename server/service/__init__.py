"""The job service, by role:

- `job_service`: `JobService`, the surface the adapters, scheduler and sweeper use;
- `machine`: the state machine's commit path, the one place a job changes state;
- `submission`: what is refused at submit and why;
- `actions`: cancel, retry and purge, as a client asks;
- `renders`: a render's end (complete, fail, requeue) and its lease;
- `maintenance`: expiry of queued jobs, orphaned renders, retention;
- `progress`: the progress cache of local renders and callers waiting for a job to end;
- `events`: each API's webhook, formatted into outbox deliveries.
"""

from server.service.job_service import JobService, visible_to
from server.service.machine import Runner
from server.service.progress import ProgressEvent

__all__ = ["JobService", "ProgressEvent", "Runner", "visible_to"]
