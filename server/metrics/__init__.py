"""Prometheus metrics: one facade that the job state machine, the pool and the app report to.

Every name starts with `reelfarm_` and carries its base unit (`_seconds`, `_bytes`, `_ratio`,
`_total` for counters). No label holds a job id or anything else per job: label values come
from small fixed sets (states, APIs, refusal reasons, route templates), and an unexpected value
past `MAX_LABEL_VALUES` per label is folded into `"other"` so a bug elsewhere cannot blow up
the series count.

Counters change in one place per event: `JobService` calls `job_state_changed` on every move
of the state machine, the admission loop `queue_state` / `admission_state`, the pool
`frames_rendered` with the progress deltas its workers report back. Box and GPU gauges are read
at scrape time by `BoxCollector`, so they are never stale and cost nothing between scrapes.

The cluster view comes from the parts that see it: the node registry's beat sets
`reelfarm_cluster_nodes` (`cluster_seen`), the sweeper counts the renders it takes from nodes
whose lease ran out (`renders_taken_over`), and a Redis job store reports each call to
`redis_call` through `server.store.redis_conn.set_observer`, so the store never imports this
package. On SQLite the Redis round-trip histogram has no series (nothing is timed) and the
Redis error kinds read 0 (created at zero like every known label value); the nodes gauge is 1.

The package, by role:

* `definitions`: the table of every metric (name, type, help, labels, buckets) and the label
  guards;
* `facade`: `Metrics`, the registry built from that table and one method per event;
* `middleware`: the aiohttp middleware that counts requests by route template;
* `collectors`: the box, GPU and build gauges read at scrape time.

Wiring (in the app factory)::

    metrics = Metrics(data_dir=config.storage.data_dir)
    app = web.Application(middlewares=[metrics.middleware, ...])   # outermost: sees final status
    app.router.add_get("/metrics", metrics.handle_metrics)
"""

from server.metrics.facade import Metrics

__all__ = ["Metrics"]
