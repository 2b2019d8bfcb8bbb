"""The built-in transitions frame by frame, on both FFmpeg builds: each frame is what xfade
would show (its formulas, restated here), the first frame is the outgoing scene, and there are
exactly as many frames as the transition covers."""

from __future__ import annotations

import shutil
import subprocess

import ffmpeg
import numpy as np
import pytest
import support.media as mediatools

import scenes
import themes
from renderer.ffmpeg import find_ffmpeg
from renderer.graph.transitions import transition
from renderer.plan import RenderPlan, build_plan

WIDTH, HEIGHT = 120, 200
FPS = 30
BUILDS = ["bundled", *(["system"] if shutil.which("ffmpeg") else [])]
# Flat test scenes, raw Y, U, V: far apart on every plane.
DARK = (50, 90, 160)
LIGHT = (200, 170, 100)


def _plan(kind: str, frames: int) -> RenderPlan:
    still = {"type": "title", "title": "x", "duration": 2}
    spec = {
        "fps": FPS,
        "transition": {"type": kind, "duration": frames / FPS},
        "scenes": [still, still],
    }
    plan = build_plan(scenes.parse_spec(spec), themes.load_theme("default"), size=(WIDTH, HEIGHT))
    assert plan.transitions[0].frames == frames
    return plan


def _scene(source: str, frames: int, lum: str, cb: str = "128", cr: str = "128"):
    """A synthetic scene: `frames` frames drawn by geq, tagged as the renderer's scenes are."""
    return (
        ffmpeg.input(f"{source}:s={WIDTH}x{HEIGHT}:r={FPS}", f="lavfi")
        .filter("format", pix_fmts="yuv420p")
        .filter("geq", lum=lum, cb=cb, cr=cr)
        .filter("setparams", range="tv", colorspace="bt709", color_primaries="bt709")
        .filter("trim", end_frame=frames)
        .filter("settb", expr=f"1/{FPS}")
        .filter("setpts", expr="N")
    )


def _flat(source: str, frames: int, colour: tuple[int, int, int]):
    return _scene(source, frames, *(str(value) for value in colour))


def _draw(build: str, kind: str, frames: int, outgoing, incoming) -> tuple[np.ndarray, ...]:
    """The transition's frames as (Y, U, V) arrays of shape (frames, h, w)."""
    out = transition(_plan(kind, frames), 0, outgoing, incoming)
    args = ffmpeg.output(out, "-", f="rawvideo", pix_fmt="yuv420p", r=FPS).get_args()
    done = subprocess.run(
        [find_ffmpeg(build).path, "-v", "error", *args], capture_output=True, timeout=60
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    luma, chroma = WIDTH * HEIGHT, WIDTH * HEIGHT // 4
    data = np.frombuffer(done.stdout, np.uint8).reshape(-1, luma + 2 * chroma).astype(int)
    assert len(data) == frames  # none dropped, none repeated
    return (
        data[:, :luma].reshape(-1, HEIGHT, WIDTH),
        data[:, luma : luma + chroma].reshape(-1, HEIGHT // 2, WIDTH // 2),
        data[:, luma + chroma :].reshape(-1, HEIGHT // 2, WIDTH // 2),
    )


def _progress(frames: int) -> np.ndarray:
    """xfade's progress per frame: 1 on the first, falling by 1/frames."""
    return 1 - np.arange(frames) / frames


def _smoothstep(edge0: float, edge1: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - edge0) / (edge1 - edge0), 0, 1)
    return t * t * (3 - 2 * t)


@pytest.mark.parametrize("build", BUILDS)
def test_fade_steps_from_outgoing_towards_incoming(build):
    frames = 12
    planes = _draw(
        build,
        "fade",
        frames,
        _flat("color=c=black", frames, DARK),
        _flat("color=c=white", frames, LIGHT),
    )
    p = _progress(frames)
    for plane, a, b in zip(planes, DARK, LIGHT, strict=True):
        assert np.all(plane[0] == a)
        expected = a * p + b * (1 - p)
        assert np.abs(plane.mean(axis=(1, 2)) - expected).max() <= 1.01
        assert plane.std(axis=(1, 2)).max() < 0.01  # every frame uniform


@pytest.mark.parametrize("build", BUILDS)
@pytest.mark.parametrize(("kind", "colour"), [("fadeblack", (0, 128)), ("fadewhite", (255, 128))])
def test_fade_through_a_colour_follows_xfade(build, kind, colour):
    frames = 20
    planes = _draw(
        build,
        kind,
        frames,
        _flat("color=c=black", frames, DARK),
        _flat("color=c=white", frames, LIGHT),
    )
    p = _progress(frames)
    # xfade: mix(mix(A, bg, smoothstep(0.8, 1, p)), mix(bg, B, smoothstep(0.2, 1, p)), p),
    # where mix(x, y, m) = x*m + y*(1-m).
    s1, s2 = _smoothstep(0.8, 1, p), _smoothstep(0.2, 1, p)
    backgrounds = (colour[0], colour[1], colour[1])
    for plane, a, b, bg in zip(planes, DARK, LIGHT, backgrounds, strict=True):
        assert np.all(plane[0] == a)
        expected = (a * s1 + bg * (1 - s1)) * p + (bg * s2 + b * (1 - s2)) * (1 - p)
        assert np.abs(plane.mean(axis=(1, 2)) - expected).max() <= 1.5
    # The outgoing scene is gone into the colour before the incoming one comes out of it.
    assert np.abs(planes[0].mean(axis=(1, 2)) - colour[0]).min() < 10


@pytest.mark.parametrize("build", BUILDS)
def test_dissolve_turns_samples_over_once_each_spread_evenly(build):
    frames = 16
    planes = _draw(
        build,
        "dissolve",
        frames,
        _flat("color=c=black", frames, DARK),
        _flat("color=c=white", frames, LIGHT),
    )
    share_wanted = 1 - _progress(frames)
    for plane, a, b in zip(planes, DARK, LIGHT, strict=True):
        assert np.all(np.isin(plane, (a, b)))  # each sample is one scene's or the other's
        turned = plane == b
        assert not turned[0].any()
        assert np.abs(turned.mean(axis=(1, 2)) - share_wanted).max() < 0.04
        # Once turned, a sample stays turned: a dissolve, not a flicker.
        assert np.all(turned[1:] >= turned[:-1])
    # A 2x2 cell of luma turns with its chroma sample, all at once: no sample shows one
    # scene's brightness in the other's colour.
    luma_turned = planes[0] == LIGHT[0]
    cells = luma_turned.reshape(frames, HEIGHT // 2, 2, WIDTH // 2, 2)
    assert np.all(cells.min(axis=(2, 4)) == cells.max(axis=(2, 4)))
    for chroma, b in zip(planes[1:], LIGHT[1:], strict=True):
        assert np.array_equal(chroma == b, cells[:, :, 0, :, 0])
    # Spread over the whole frame, not a wipe: every 20x20 block is about half turned midway.
    blocks = (planes[0][frames // 2] == LIGHT[0]).reshape(HEIGHT // 20, 20, WIDTH // 20, 20)
    shares = blocks.mean(axis=(1, 3))
    assert shares.min() > 0.3 and shares.max() < 0.7


SLIDES = {
    # kind: (horizontal, outgoing first in the pair that the window moves across)
    "slide-left": (True, True),
    "slide-right": (True, False),
    "slide-up": (False, True),
    "slide-down": (False, False),
}


@pytest.mark.parametrize("build", BUILDS)
@pytest.mark.parametrize("kind", list(SLIDES))
def test_slide_moves_both_scenes_by_xfades_offset(build, kind):
    horizontal, outgoing_first = SLIDES[kind]
    frames = 9
    axis, length = ("X", WIDTH) if horizontal else ("Y", HEIGHT)
    # Ramps along the motion, so a picture moved or cut anywhere shows in the values.
    outgoing_ramp = 16 + np.arange(length) // 2
    incoming_ramp = 150 + np.arange(length) // 4
    luma, _, _ = _draw(
        build,
        kind,
        frames,
        _scene("color=c=black", frames, f"16+floor({axis}/2)"),
        _scene("color=c=white", frames, f"150+floor({axis}/4)"),
    )
    pair = (outgoing_ramp, incoming_ramp) if outgoing_first else (incoming_ramp, outgoing_ramp)
    stacked = np.concatenate(pair)
    for n in range(frames):
        shown = (frames - n) * length // frames  # outgoing still in view, as xfade rounds it
        offset = length - shown if outgoing_first else shown
        seen = luma[n][HEIGHT // 2] if horizontal else luma[n][:, WIDTH // 2]
        assert np.array_equal(seen, stacked[offset : offset + length]), n


@pytest.mark.parametrize("build", BUILDS)
def test_zoom_magnifies_the_centre_then_fades_its_colour_into_the_next_scene(build):
    frames = 14
    side = 19  # of the bright square at the centre
    inside = f"lt(abs(X-{WIDTH // 2}),{side // 2 + 1})*lt(abs(Y-{HEIGHT // 2}),{side // 2 + 1})"
    luma, _, _ = _draw(
        build,
        "zoom",
        frames,
        _scene("color=c=black", frames, f"40+180*{inside}"),
        _flat("color=c=white", frames, (120, 128, 128)),
    )
    p = _progress(frames)
    assert (luma[0] > 130).sum() == side**2  # the first frame is the outgoing one
    for n in np.nonzero(p > 0.5)[0]:
        # xfade shows smoothstep(0.5, 1, p) of the frame: the square grows by its inverse.
        wanted = min(WIDTH, side / _smoothstep(0.5, 1, p[n]))
        width = (luma[n][HEIGHT // 2] > 130).sum()
        assert abs(width - wanted) <= max(2, 0.1 * wanted), n
    for n in np.nonzero(p <= 0.5)[0]:
        # Then the centre's colour, flat, fades into the incoming scene.
        share = 1 - _smoothstep(0, 0.5, p[n])
        assert luma[n].std() < 1.0
        assert abs(luma[n].mean() - (220 * (1 - share) + 120 * share)) <= 1.5, n


TRANSITIONS = ["fade", "fadeblack", "fadewhite", "dissolve", "zoom", *SLIDES]


@pytest.mark.parametrize("kind", TRANSITIONS)
def test_a_rendered_transition_keeps_every_frame_in_place(render_spec, shared_assets, kind):
    """Two 1 s photos at 30 fps and an 18-frame transition centred on the cut (frames
    21..38): 60 frames, the scenes untouched outside it, moving inside it."""
    still = {"type": "image", "motion": "none", "duration": 1}
    data = {
        "transition": {"type": kind, "duration": 0.6},
        "scenes": [
            {**still, "src": str(shared_assets / "cat.jpg")},
            {**still, "src": str(shared_assets / "coffee.jpg")},
        ],
    }
    frames = mediatools.all_frames(render_spec(data, quality="high").video).astype(int)
    assert len(frames) == 60

    def mad(a: np.ndarray, b: np.ndarray) -> float:
        return float(np.abs(a - b).mean())

    assert mad(frames[21], frames[5]) < 2  # the transition starts on the outgoing scene
    assert mad(frames[39], frames[55]) < 2 and mad(frames[20], frames[5]) < 2
    assert mad(frames[30], frames[5]) > 8 and mad(frames[30], frames[55]) > 8
