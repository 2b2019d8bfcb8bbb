"""A pool of long-lived, pre-warmed render worker processes, driven from an asyncio loop.

    pool = WorkerPool(2, RenderOptions(), threads_per_render=1)
    await pool.start()                     # every worker imported and encoder-probed
    result = await pool.render(job_id, spec, out_dir, progress, timeout_s=900)
    await pool.stop()

One render per worker (`handle`: a worker's process, pipe and job); renders wait for a free
worker in line (`slots`); the pool notices dead workers and replaces them (`supervisor`).
"""

from renderer.pool.errors import PoolClosed, PoolStartError, RenderTimeout, WorkerLost
from renderer.pool.supervisor import WorkerPool

__all__ = ["PoolClosed", "PoolStartError", "RenderTimeout", "WorkerLost", "WorkerPool"]
