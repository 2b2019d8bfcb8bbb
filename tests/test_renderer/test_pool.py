"""The pre-warmed worker pool, with real renders at 160x284."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import psutil
import pytest
from support.waiting import wait_until

from renderer.pool import PoolClosed, PoolStartError, RenderTimeout, WorkerLost, WorkerPool
from renderer.types import AssetError, RenderError, RenderOptions

PoolFactory = Callable[..., Awaitable[WorkerPool]]


def tiny_spec(seconds: float = 2.0, image: Path | None = None) -> dict[str, Any]:
    """A real reel at 160x284: a title, then a photo with slow zoom when `image` is given."""
    scenes: list[dict[str, Any]] = [{"type": "title", "title": "Pool", "duration": seconds / 2}]
    if image is not None:
        scenes.append({"type": "image", "src": str(image), "duration": seconds / 2})
    else:
        scenes[0]["duration"] = seconds
    return {"width": 160, "height": 284, "fps": 30, "scenes": scenes}


def long_spec(image: Path) -> dict[str, Any]:
    """Minutes of video at 480x854: a render that is still going whenever a test acts on it,
    even on a machine several times faster than this one (tens of seconds here)."""
    return {**tiny_spec(240.0, image), "width": 480, "height": 854}


def alive(pid: int) -> bool:
    """Whether a process runs; a zombie (dead, waiting to be reaped by init) does not."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def ffmpeg_below(pid: int) -> list[psutil.Process]:
    """FFmpeg processes anywhere below process `pid`."""
    try:
        below = psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    found = []
    for process in below:
        try:
            if "ffmpeg" in process.name():
                found.append(process)
        except psutil.NoSuchProcess:
            continue
    return found


def no_progress(done: int, total: int) -> None:
    pass


async def ffmpeg_running(pool: WorkerPool) -> list[psutil.Process]:
    """Wait until some worker has FFmpeg running, and return those FFmpeg processes."""
    found: list[psutil.Process] = []

    def look() -> bool:
        found[:] = [p for pid in pool.worker_pids for p in ffmpeg_below(pid)]
        return bool(found)

    await wait_until(look, 10)
    return found


async def test_start_warms_every_worker(make_pool: PoolFactory, render_options) -> None:
    # The default preference tries NVENC first: on a box without it the trial encode fails
    # and the workers settle on libx264.
    pool = await make_pool(2, options=RenderOptions(assets=render_options.assets), nice=7)
    assert pool.ready
    assert (pool.size, pool.idle, pool.busy) == (2, 2, 0)
    assert pool.encoder in ("libx264", "h264_nvenc")
    own_nice = psutil.Process().nice()
    for pid in pool.worker_pids:
        worker = psutil.Process(pid)
        assert worker.ppid() == os.getpid()
        assert os.getpgid(pid) == pid  # leads its own process group
        assert worker.nice() == min(19, own_nice + 7)


async def test_render_reports_progress_in_the_loop_thread(
    make_pool: PoolFactory, photo: Path, tmp_path: Path
) -> None:
    pool = await make_pool(1)
    seen: list[tuple[int, int, int]] = []

    def progress(done: int, total: int) -> None:
        seen.append((done, total, threading.get_ident()))

    result = await pool.render("job-1", tiny_spec(2, photo), tmp_path / "out", progress, 60)
    assert (result.width, result.height, result.fps, result.frames) == (160, 284, 30, 60)
    assert abs(result.duration_s - 2.0) < 0.1
    assert result.video_path.is_file() and result.video_path.stat().st_size == result.size_bytes
    assert result.poster_path.is_file()
    assert seen, "no progress reported"
    assert seen[-1][:2] == (60, 60)
    dones = [done for done, _, _ in seen]
    assert dones == sorted(dones)
    assert {ident for _, _, ident in seen} == {threading.get_ident()}
    assert (pool.idle, pool.busy) == (1, 0)


async def test_two_renders_run_at_once_on_two_workers(
    make_pool: PoolFactory, photo: Path, tmp_path: Path
) -> None:
    pool = await make_pool(2)
    busy_seen: list[int] = []

    async def one(name: str) -> tuple[float, float]:
        started = asyncio.get_running_loop().create_future()
        task = pool.render(
            name,
            tiny_spec(2, photo),
            tmp_path / name,
            lambda d, t: busy_seen.append(pool.busy),
            60,
            on_started=lambda: started.done() or started.set_result(time.monotonic()),
        )
        await task
        return started.result(), time.monotonic()

    (start_a, end_a), (start_b, end_b) = await asyncio.gather(one("a"), one("b"))
    assert start_b < end_a and start_a < end_b  # the two renders overlapped
    assert max(busy_seen) == 2
    assert (pool.idle, pool.busy) == (2, 0)


async def test_a_job_starts_within_300ms_of_a_slot_freeing(
    make_pool: PoolFactory, photo: Path, tmp_path: Path
) -> None:
    pool = await make_pool(1)
    # A render on an idle warm worker: from the call to the worker's "started".
    called = time.monotonic()
    started: list[float] = []
    await pool.render(
        "first", tiny_spec(1), tmp_path / "first", no_progress, 60,
        on_started=lambda: started.append(time.monotonic()),
    )  # fmt: skip
    assert started[0] - called < 0.3

    # A render queued behind a busy worker: from the slot freeing to the worker's "started".
    freed: list[float] = []
    second_started: list[float] = []

    async def first() -> None:
        await pool.render("a", tiny_spec(2, photo), tmp_path / "a", no_progress, 60)
        freed.append(time.monotonic())

    async def second() -> None:
        await pool.render(
            "b", tiny_spec(1), tmp_path / "b", no_progress, 60,
            on_started=lambda: second_started.append(time.monotonic()),
        )  # fmt: skip

    first_task = asyncio.create_task(first())
    await wait_until(lambda: pool.busy == 1, 10)
    await asyncio.gather(first_task, second())
    assert 0 <= second_started[0] - freed[0] < 0.3


async def test_cancel_stops_a_running_render_within_2s_and_the_pool_serves_on(
    make_pool: PoolFactory, photo: Path, tmp_path: Path
) -> None:
    pool = await make_pool(1)
    task = asyncio.create_task(
        pool.render("long", long_spec(photo), tmp_path / "long", no_progress, 120)
    )
    ffmpegs = await ffmpeg_running(pool)
    cancelled_at = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert time.monotonic() - cancelled_at < 2.0
    assert not any(alive(p.pid) for p in ffmpegs)
    assert pool.busy == 0
    # The same worker (or its replacement) takes the next job.
    await wait_until(lambda: pool.idle == 1, 10)
    result = await pool.render("next", tiny_spec(1), tmp_path / "next", no_progress, 60)
    assert result.frames == 30


async def test_kill_9_of_a_worker_mid_render(
    make_pool: PoolFactory, photo: Path, tmp_path: Path
) -> None:
    restarts: list[str] = []
    pool = await make_pool(1, on_worker_restart=restarts.append)
    task = asyncio.create_task(
        pool.render("doomed", long_spec(photo), tmp_path / "doomed", no_progress, 120)
    )
    ffmpegs = await ffmpeg_running(pool)
    (victim,) = pool.worker_pids
    os.kill(victim, signal.SIGKILL)
    with pytest.raises(WorkerLost):
        await task
    # FFmpeg died with its worker: nothing is left rendering for a job nobody waits on.
    await wait_until(lambda: not any(alive(p.pid) for p in ffmpegs), 5)
    # A fresh warm worker took its place and renders.
    await wait_until(lambda: pool.idle == 1 and pool.worker_pids != (victim,), 10)
    assert restarts and "SIGKILL" in restarts[0]
    assert not alive(victim)
    result = await pool.render("after", tiny_spec(1), tmp_path / "after", no_progress, 60)
    assert result.frames == 30


async def test_timeout_kills_the_render_and_its_ffmpeg(
    make_pool: PoolFactory, photo: Path, tmp_path: Path
) -> None:
    pool = await make_pool(1)
    seen: list[psutil.Process] = []

    def progress(done: int, total: int) -> None:
        if not seen:
            seen.extend(p for pid in pool.worker_pids for p in ffmpeg_below(pid))

    began = time.monotonic()
    with pytest.raises(RenderTimeout):
        await pool.render("slow", long_spec(photo), tmp_path / "slow", progress, 2.0)
    assert time.monotonic() - began < 3.5
    assert seen, "FFmpeg was not running when the render timed out"
    await wait_until(lambda: not any(alive(p.pid) for p in seen), 5)
    await wait_until(lambda: pool.idle == 1, 10)


async def test_render_errors_cross_with_their_field(
    make_pool: PoolFactory, shared_assets: Path, tmp_path: Path
) -> None:
    pool = await make_pool(1)
    bad_duration = {"scenes": [{"type": "title", "title": "x", "duration": -1}]}
    with pytest.raises(RenderError) as caught:
        await pool.render("bad", bad_duration, tmp_path / "bad", no_progress, 60)
    assert caught.value.field == "scenes[0].duration"
    assert caught.value.message == "must be > 0"

    missing = tiny_spec(2, shared_assets / "no-such-photo.jpg")
    with pytest.raises(AssetError) as asset:
        await pool.render("missing", missing, tmp_path / "missing", no_progress, 60)
    assert asset.value.field == "scenes[1].src"
    # Errors are the job's, not the worker's: the same worker is ready for the next one.
    assert pool.idle == 1


async def test_resize_grows_at_once_and_shrinks_after_the_busy_jobs(
    make_pool: PoolFactory, photo: Path, tmp_path: Path
) -> None:
    pool = await make_pool(1)
    await pool.resize(2)
    assert (pool.size, pool.idle, len(pool.worker_pids)) == (2, 2, 2)
    # Shrinking an idle pool retires a worker at once.
    await pool.resize(1)
    assert (pool.size, pool.idle, len(pool.worker_pids)) == (1, 1, 1)

    await pool.resize(2)
    renders = [
        asyncio.create_task(
            pool.render(name, tiny_spec(2, photo), tmp_path / name, no_progress, 60)
        )
        for name in ("a", "b")
    ]
    await wait_until(lambda: pool.busy == 2, 10)
    await pool.resize(1)
    # Both jobs keep their workers until they finish; then one worker leaves.
    assert pool.size == 1 and pool.busy == 2
    assert [r.frames for r in await asyncio.gather(*renders)] == [60, 60]
    await wait_until(lambda: pool.idle == 1 and len(pool.worker_pids) == 1, 10)


async def test_stop_ends_every_worker_and_is_idempotent(make_pool: PoolFactory) -> None:
    pool = await make_pool(2)
    pids = pool.worker_pids
    await pool.stop()
    await pool.stop()
    assert not pool.ready
    assert pool.worker_pids == ()
    assert not any(alive(pid) for pid in pids)


async def test_workers_ignore_sigint(make_pool: PoolFactory, tmp_path: Path) -> None:
    pool = await make_pool(1)
    (pid,) = pool.worker_pids
    os.kill(pid, signal.SIGINT)
    # A signal is handled on the worker's next return to user space: certainly before it
    # finishes a render.
    await pool.render("after-int", tiny_spec(1), tmp_path / "out", no_progress, 60)
    assert pool.worker_pids == (pid,)


SERVER = """
import asyncio, json, sys
from pathlib import Path
from renderer.pool import WorkerPool
from renderer.types import AssetPolicy, RenderOptions

async def main():
    spec, out, assets = json.loads(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    options = RenderOptions(prefer=("libx264",), assets=AssetPolicy(allowed_dirs=(assets,)))
    pool = WorkerPool(1, options, threads_per_render=1)
    await pool.start()
    def progress(done, total):
        print("rendering", *pool.worker_pids, flush=True)
    await pool.render("long", spec, out, progress, 120)

asyncio.run(main())
"""


async def test_workers_and_ffmpeg_die_with_a_killed_server(
    photo: Path, shared_assets: Path, tmp_path: Path
) -> None:
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-c", SERVER, json.dumps(long_spec(photo)), str(tmp_path),
        str(shared_assets), stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert server.stdout is not None
        async with asyncio.timeout(30):
            line = await server.stdout.readline()
        word, pid = line.split()
        assert word == b"rendering"
        worker = psutil.Process(int(pid))
        assert worker.ppid() == server.pid
        below = [worker, *ffmpeg_below(worker.pid)]
        assert len(below) >= 2, "FFmpeg was not running"
        server.kill()  # SIGKILL: no cleanup code runs in the server
        await server.wait()
        await wait_until(lambda: not any(alive(p.pid) for p in below), 5)
    finally:
        if server.returncode is None:
            server.kill()
            await server.wait()


async def test_stop_during_a_render_closes_it_as_the_pools_doing(
    make_pool: PoolFactory, photo: Path, tmp_path: Path
) -> None:
    pool = await make_pool(1)
    task = asyncio.create_task(
        pool.render("cut", long_spec(photo), tmp_path / "cut", no_progress, 120)
    )
    ffmpegs = await ffmpeg_running(pool)
    waiting = asyncio.create_task(
        pool.render("queued", tiny_spec(1), tmp_path / "queued", no_progress, 120)
    )
    await pool.stop()
    for render in (task, waiting):
        with pytest.raises(PoolClosed):
            await render
    assert not any(alive(p.pid) for p in ffmpegs)
    with pytest.raises(PoolClosed):
        await pool.render("late", tiny_spec(1), tmp_path / "late", no_progress, 60)


async def test_start_fails_clearly_when_no_worker_can_warm_up(render_options) -> None:
    broken = dataclasses.replace(render_options, ffmpeg="/nonexistent/ffmpeg")
    pool = WorkerPool(1, broken, threads_per_render=1)
    with pytest.raises(PoolStartError, match="/nonexistent/ffmpeg"):
        await pool.start()
    assert not pool.ready
    assert pool.worker_pids == ()


async def test_a_broken_operator_theme_does_not_stop_the_warm_up(
    make_pool: PoolFactory, render_options: RenderOptions, photo: Path, tmp_path: Path
) -> None:
    # Workers draw a card in every theme as they warm up; a theme that does not load is
    # skipped there and fails only the job that asks for it.
    themes_dir = tmp_path / "themes"
    themes_dir.mkdir()
    (themes_dir / "broken.toml").write_text('extends = "no-such-theme"\n')
    options = dataclasses.replace(render_options, theme_dirs=(themes_dir,))
    pool = await make_pool(1, options=options)
    result = await pool.render("ok", tiny_spec(1), tmp_path / "ok", no_progress, 60)
    assert result.frames == 30
    with pytest.raises(RenderError) as caught:
        await pool.render(
            "broken", {**tiny_spec(1), "theme": "broken"}, tmp_path / "broken", no_progress, 60
        )
    assert caught.value.field == "theme"
