"""Pixels a viewer sees: each check fails if the layer it looks at were missing."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
import support.media as mediatools
from PIL import Image, ImageDraw

import scenes
import themes
from renderer import text


def _mad(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean(np.abs(a.astype(np.int16) - b.astype(np.int16))))


def test_title_text_is_drawn_inside_its_text_box(render_spec):
    data = {"theme": "default", "scenes": [{"type": "title", "title": "HELLO", "duration": 1.5}]}
    rendered = render_spec(data)
    theme = themes.load_theme("default")
    scene = scenes.parse_spec(data).scenes[0]
    x0, y0, x1, y1 = text.text_box(scene, theme, (180, 320))
    frame = mediatools.frame_at(rendered.video, 1.2)  # after the 0.6 s entrance
    background = np.asarray(text.draw_background(theme, (180, 320)))
    inside = (slice(y0, y1), slice(x0, x1))
    # Bright text where the box is; the plain background everywhere far from it.
    assert _mad(frame[inside], background[inside]) > 25
    assert frame[inside].max() > 200
    assert _mad(frame[:40], background[:40]) < 4


def test_text_entrance_starts_invisible(render_spec):
    data = {"theme": "default", "scenes": [{"type": "title", "title": "HELLO", "duration": 1.5}]}
    rendered = render_spec(data)
    background = np.asarray(text.draw_background(themes.load_theme("default"), (180, 320)))
    first, settled = mediatools.frame(rendered.video, 0), mediatools.frame_at(rendered.video, 1.2)
    assert _mad(first, background) < 2 < _mad(settled, background)


@pytest.mark.parametrize("name", ["default", "minimal", "bold", "neon"])
def test_theme_background_text_and_accent_colours_appear(render_spec, name):
    theme = themes.load_theme(name)
    data = {"theme": name, "scenes": [{"type": "title", "title": "Colour", "duration": 1.2}]}
    rendered = render_spec(data, size=(360, 640), quality="high")
    frame = mediatools.frame_at(rendered.video, 1.0).reshape(-1, 3).astype(int)
    if theme.effect == "none":
        # The top rows match the theme's drawn background: colour conversion is right.
        expected = np.asarray(text.draw_background(theme, (360, 640))).reshape(-1, 3)
        assert np.abs(frame[:3600] - expected[:3600]).mean() < 4
    wanted = [theme.colors.text] + ([theme.colors.accent] if theme.layout.accent_rule else [])
    for colour in wanted:
        distance = np.abs(frame - np.array(themes.rgb(colour))).sum(axis=1)
        assert distance.min() < 40, colour


def _two_photos(shared_assets: Path, transition: str) -> dict:
    return {
        "transition": {"type": transition, "duration": 0.6},
        "scenes": [
            {
                "type": "image",
                "src": str(shared_assets / "cat.jpg"),
                "motion": "none",
                "duration": 1,
            },
            {
                "type": "image",
                "src": str(shared_assets / "coffee.jpg"),
                "motion": "none",
                "duration": 1,
            },
        ],
    }


def test_a_fade_frame_is_a_blend_of_its_neighbours(render_spec, shared_assets):
    rendered = render_spec(_two_photos(shared_assets, "fade"), quality="high")
    frames = mediatools.all_frames(rendered.video)
    assert len(frames) == 60
    before, after = frames[10], frames[50]  # both scenes at rest
    # The 18-frame fade is centred on the cut at frame 30: frames 21..38, halfway at 30.
    middle = frames[30]
    assert _mad(before, after) > 30
    assert _mad(middle, (before.astype(int) + after) // 2) < 6
    assert _mad(middle, before) > 12 and _mad(middle, after) > 12
    assert _mad(frames[20], before) < 3 and _mad(frames[39], after) < 3


def test_a_fade_steps_evenly_frame_by_frame(render_spec, tmp_path):
    """Black into white: each frame of the fade is exactly one step brighter than the last, so
    no frame repeats or skips its opacity (a fade is a blend stepped by per-frame commands)."""
    black = _synthetic(tmp_path / "black.png", lambda draw: None)
    white = tmp_path / "white.png"
    Image.new("RGB", (720, 1280), "white").save(white)
    still = {"type": "image", "motion": "none", "duration": 1}
    data = {
        "transition": {"type": "fade", "duration": 0.6},
        "scenes": [{**still, "src": str(black)}, {**still, "src": str(white)}],
    }
    frames = mediatools.all_frames(render_spec(data, quality="high").video)
    luma = frames[..., 0].astype(float).mean(axis=(1, 2))
    # Between full black and full white (the darkest steps clip to black in RGB).
    ramp = np.nonzero((luma > 2) & (luma < 253))[0]
    assert len(ramp) >= 12 and np.all(np.diff(ramp) == 1), luma
    steps = np.diff(luma[ramp[0] - 1 : ramp[-1] + 2])
    assert steps.min() > 0.6 * steps.mean() and steps.max() < 1.4 * steps.mean(), steps


def test_fadeblack_goes_through_black(render_spec, shared_assets):
    rendered = render_spec(_two_photos(shared_assets, "fadeblack"))
    frames = mediatools.all_frames(rendered.video)
    assert frames[30].mean() < 0.35 * min(frames[10].mean(), frames[50].mean())


def test_snow_moves_between_frames_in_a_winter_render(render_spec):
    def motion(theme: str) -> float:
        data = {"theme": theme, "scenes": [{"type": "title", "title": "Snow", "duration": 1.5}]}
        frames = mediatools.all_frames(render_spec(data, quality="high").video)
        return _mad(frames[36], frames[42])  # both after the text has settled

    assert motion("winter") > 1.0
    assert motion("default") < 0.3


def _synthetic(path: Path, draw_fn, scale: float = 1.0) -> Path:
    """A 720x1280 picture drawn by `draw_fn`, saved at `scale` times that size."""
    image = Image.new("RGB", (720, 1280), "black")
    draw_fn(ImageDraw.Draw(image))
    if scale != 1.0:
        size = (round(720 * scale), round(1280 * scale))
        image = image.resize(size, Image.Resampling.LANCZOS)
    image.save(path)
    return path


# A photo larger than the 180x320 frame is fitted to a larger canvas and scaled down as it
# zooms; a smaller one is fitted to the frame and scaled up.
@pytest.mark.parametrize("scale", [1.0, 0.2], ids=["large-photo", "small-photo"])
@pytest.mark.parametrize("motion", ["zoom-in", "zoom-out"])
def test_zoom_keeps_its_centre_still_and_moves_steadily(render_spec, tmp_path, motion, scale):
    def dot_and_ring(draw: ImageDraw.ImageDraw) -> None:
        draw.ellipse((360 - 14, 640 - 14, 360 + 14, 640 + 14), fill="white")
        draw.rectangle((160, 240, 560, 1040), outline="white", width=8)

    src = _synthetic(tmp_path / "target.png", dot_and_ring, scale)
    data = {"scenes": [{"type": "image", "src": str(src), "motion": motion, "duration": 1}]}
    frames = mediatools.all_frames(render_spec(data, quality="high").video)[..., 0].astype(float)
    widths, centres = [], []
    for luma in frames:
        window = luma[140:180, 70:110]  # around the frame's centre (90, 160)
        weights = np.clip(window - 60, 0, None)
        ys, xs = np.indices(window.shape)
        total = weights.sum()
        centres.append((70 + (xs * weights).sum() / total, 140 + (ys * weights).sum() / total))
        columns = np.nonzero(luma[160] > 128)[0]  # the rectangle's left and right sides
        widths.append(columns.max() - columns.min())
    # No shake: the centre of the zoom stays within half a pixel of the frame's centre.
    assert np.abs(np.array(centres) - (89.5, 159.5)).max() < 0.5
    # No jitter: the picture only ever grows (zoom-in) or shrinks (zoom-out), never back.
    steps = np.diff(widths) * (1 if motion == "zoom-in" else -1)
    assert steps.min() >= 0
    assert abs(widths[-1] - widths[0]) > 0.1 * widths[0]


# A photo smaller than the frame is zoomed straight from the part of it that shows: that
# part must be the one a still of it shows, for a wide photo (its height fills the frame)
# and a narrow one (its width does).
@pytest.mark.parametrize("size", [(300, 160), (120, 300)], ids=["wide", "narrow"])
def test_zoom_on_a_small_photo_starts_from_the_still_framing(render_spec, tmp_path, size):
    width, height = size
    image = Image.new("RGB", size, "black")
    draw = ImageDraw.Draw(image)
    # Dots off the centre, left and right of it, inside what a 180x320 frame shows.
    for x, y in ((width // 2 - 20, height // 2 - 30), (width // 2 + 15, height // 2 + 25)):
        draw.ellipse((x - 4, y - 4, x + 4, y + 4), fill="white")
    src = tmp_path / "dots.png"
    image.save(src)

    def first_frame(motion: str) -> np.ndarray:
        data = {"scenes": [{"type": "image", "src": str(src), "motion": motion, "duration": 1}]}
        return mediatools.frame(render_spec(data, quality="high").video, 0)[..., 0].astype(float)

    def dots(luma: np.ndarray) -> list[tuple[float, float]]:
        found = []
        for half in (luma[:, :90], luma[:, 90:]):  # one dot in each half of the frame
            weights = np.clip(half - 60, 0, None)
            ys, xs = np.indices(half.shape)
            total = weights.sum()
            found.append(((xs * weights).sum() / total, (ys * weights).sum() / total))
        return found

    # Within the pixel that centring on yuv420p's even chroma grid can move either one by.
    still, zoomed = dots(first_frame("none")), dots(first_frame("zoom-in"))
    assert np.abs(np.array(still) - np.array(zoomed)).max() < 1.5


@pytest.mark.parametrize(
    ("motion", "axis", "shift"),
    [("pan-right", 1, 1), ("pan-left", 1, -1), ("pan-down", 0, 2), ("pan-up", 0, -2)],
)
def test_pan_moves_the_same_whole_pixels_every_frame(render_spec, tmp_path, motion, axis, shift):
    rng = np.random.default_rng(3)

    def stripes(draw: ImageDraw.ImageDraw) -> None:
        edge = 0
        while edge < 1280:
            width = int(rng.integers(4, 24))
            box = (edge, 0, edge + width, 1280) if axis == 1 else (0, edge, 720, edge + width)
            draw.rectangle(box, fill=int(rng.integers(0, 255)) * 0x010101)
            edge += width

    src = _synthetic(tmp_path / "stripes.png", stripes)
    data = {"scenes": [{"type": "image", "src": str(src), "motion": motion, "duration": 1}]}
    frames = mediatools.all_frames(render_spec(data, quality="high").video)[..., 0].astype(int)
    # Stripes across the motion: one brightness profile along the motion per frame.
    profiles = (
        frames[:, 100:220, :].mean(axis=1) if axis == 1 else frames[:, :, 40:140].mean(axis=2)
    )

    def moved(a: np.ndarray, b: np.ndarray) -> int:
        errors = {s: np.abs(a[10 + s : 170 + s] - b[10:170]).mean() for s in range(-4, 5)}
        return min(errors, key=errors.get)

    # The camera moves one way, so the picture moves the other, by the same amount each frame.
    shifts = [moved(a, b) for a, b in itertools.pairwise(profiles)]
    assert shifts == [shift] * 29


@pytest.mark.parametrize("animation", ["none", "fade", "slide-up", "pop"])
def test_text_entrances(render_spec, tmp_path, animation):
    # A theme that differs from default only in its entrance, in an operator theme dir.
    (tmp_path / "entrance.toml").write_text(
        f'extends = "default"\ntext_animation = "{animation}"\ntext_animation_s = 0.6\n'
    )
    data = {"theme": "entrance", "scenes": [{"type": "title", "title": "HELLO", "duration": 1.5}]}
    frames = mediatools.all_frames(render_spec(data, theme_dirs=(tmp_path,), quality="high").video)
    background = np.asarray(text.draw_background(themes.load_theme("default"), (180, 320)))

    def ink(frame: np.ndarray) -> tuple[float, float, float]:
        """Amount of text, its vertical centre and its height (rows that differ)."""
        rows = np.nonzero(np.abs(frame.astype(int) - background).max(axis=(1, 2)) > 40)[0]
        amount = float(np.abs(frame.astype(int) - background).sum())
        return (
            (amount, float(rows.mean()), float(rows.max() - rows.min())) if len(rows) else (0, 0, 0)
        )

    first, early, settled = ink(frames[0]), ink(frames[4]), ink(frames[30])
    if animation == "none":
        assert first == pytest.approx(settled, rel=0.05)
        return
    assert first[0] < 0.05 * settled[0]  # every entrance starts (almost) invisible
    assert early[0] < 0.9 * settled[0]  # and is still arriving a few frames in
    if animation == "slide-up":
        assert early[1] > settled[1] + 2  # lower on its way in
    if animation == "pop":
        assert early[2] < settled[2]  # smaller on its way in
    # Settled means settled: the last frames equal frame 30.
    assert _mad(frames[30], frames[-1]) < 1
