"""Brand overlays as viewers see them: a logo in its corner at its size and opacity, a progress
bar growing frame by frame (on across a segment joint), a lower third entering as the theme's
text does; each only over its range, with both FFmpeg builds."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import support.media as mediatools
from PIL import Image

import renderer.segments
import scenes
import themes
from renderer import AssetError, render
from renderer.plan import build_plan
from renderer.segments import plan_segments

SIZE = (216, 384)
FPS = 30
BUILDS = [
    pytest.param("/usr/bin/ffmpeg", id="system", marks=pytest.mark.skipif(
        shutil.which("/usr/bin/ffmpeg") is None, reason="no system FFmpeg")),
    pytest.param(mediatools.ffmpeg_exe(), id="bundled"),
]  # fmt: skip


def titles(count: int, duration: float = 1.0, theme: str = "default") -> dict:
    scenes_ = [{"type": "title", "title": f"S{i}", "duration": duration} for i in range(count)]
    return {"theme": theme, "fps": FPS, "scenes": scenes_}


def frames_of(render_spec, data: dict, **options) -> np.ndarray:
    rendered = render_spec(data, size=SIZE, **options)
    return mediatools.all_frames(rendered.video).astype(np.int16)


def changed(a: np.ndarray, b: np.ndarray, level: int = 24) -> np.ndarray:
    return np.abs(a - b).max(axis=-1) > level


def bbox(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    rows, cols = np.nonzero(mask.any(axis=1))[0], np.nonzero(mask.any(axis=0))[0]
    if not len(rows):
        return None
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


@pytest.fixture
def logo(tmp_path: Path) -> Path:
    """A white 2:1 logo whose left half is opaque and right half transparent: its own alpha
    must survive, and only the opaque half may show."""
    picture = Image.new("RGBA", (200, 100), (255, 255, 255, 255))
    picture.paste((0, 0, 0, 0), (100, 0, 200, 100))
    path = tmp_path / "logo.png"
    picture.save(path)
    return path


@pytest.mark.parametrize(
    ("ffmpeg", "corner"),
    [pytest.param(BUILDS[0].values[0], "top-right", marks=BUILDS[0].marks, id="system"),
     pytest.param(BUILDS[1].values[0], "bottom-left", id="bundled")],
)  # fmt: skip
def test_logo_sits_in_its_corner_at_its_size_with_its_opacity_only_in_its_range(
    render_spec, logo: Path, ffmpeg: str, corner: str
) -> None:
    data = titles(2)
    overlay = {"type": "logo", "src": str(logo), "corner": corner, "width_percent": 20,
               "opacity": 0.5, "start": 0.5, "end": 1.5}  # fmt: skip
    plain = frames_of(render_spec, data, ffmpeg=ffmpeg)
    logoed = frames_of(render_spec, {**data, "overlays": [overlay]}, ffmpeg=ffmpeg)
    width, height = SIZE
    margins = themes.load_theme("default").safe_areas.for_size(SIZE)
    box_w, box_h = width * 0.2, width * 0.2 / 2
    left = width * margins.x if corner.endswith("left") else width * (1 - margins.x) - box_w
    top = (
        height * margins.top if corner.startswith("top") else height * (1 - margins.bottom) - box_h
    )
    for index in (15, 30, 44):
        found = bbox(changed(logoed[index], plain[index]))
        assert found is not None, index
        # The opaque left half of the logo: half its width, all of its height.
        assert found == pytest.approx((left, top, left + box_w / 2, top + box_h), abs=2.5)
    for index in (0, 14, 45, 59):
        assert not changed(logoed[index], plain[index]).any(), index
    x0, y0, x1, y1 = bbox(changed(logoed[30], plain[30]))
    inside = (slice(y0 + 2, y1 - 2), slice(x0 + 2, x1 - 2))
    under, over = plain[30][inside].astype(float), logoed[30][inside].astype(float)
    level = (over - under) / np.maximum(255 - under, 1)
    assert float(np.median(level)) == pytest.approx(0.5, abs=0.06)


def bar_widths(frames: np.ndarray, row: int) -> list[int]:
    """The bar's filled width on each frame: the accent's strong blue along `row`."""
    pixels = frames[:, row]
    blue = (pixels[..., 2] > 180) & (pixels[..., 1] > 130)
    return [int(count) for count in blue.sum(axis=1)]


@pytest.mark.parametrize("ffmpeg", BUILDS)
def test_progress_bar_grows_frame_by_frame_and_on_across_a_segment_joint(
    render_spec, ffmpeg: str
) -> None:
    data = {**titles(7, 0.4), "overlays": [
        {"type": "progress", "height_percent": 3, "start": 0.3, "end": 2.5}]}  # fmt: skip
    spec = scenes.parse_spec(data)
    plan = build_plan(spec, themes.load_theme("default"), size=SIZE)
    joints = [segment.first_frame for segment in plan_segments(plan)[1:]]
    assert joints, "seven scenes are rendered in segments"
    frames = frames_of(render_spec, data, ffmpeg=ffmpeg)
    widths = bar_widths(frames, SIZE[1] - 6)
    first, end = 9, 75  # 0.3 s and 2.5 s at 30 fps
    assert widths[:first] == [0] * first and widths[end:] == [0] * (len(widths) - end)
    for frame in range(first, end):
        wanted = SIZE[0] * (frame - first + 1) / (end - first)
        assert abs(widths[frame] - wanted) <= 2, (frame, widths[frame], wanted)
    steps = np.diff(widths[first:end])
    assert steps.min() >= 2 and steps.max() <= 4  # every frame grows, the joint included
    assert any(first < joint < end for joint in joints)
    # Nothing but the bar: above it the picture is the scenes'.
    plain = frames_of(render_spec, titles(7, 0.4), ffmpeg=ffmpeg)
    assert not changed(frames[:, : SIZE[1] - 14], plain[:, : SIZE[1] - 14]).any()


LOWER_THIRD = {"type": "lower-third", "title": "Ana Lima", "subtitle": "Founder 🚀",
               "start": 0.5, "end": 1.8}  # fmt: skip


@pytest.fixture
def theme_dir(tmp_path: Path) -> Path:
    """Themes that differ from the default in their text entrance alone."""
    folder = tmp_path / "themes"
    folder.mkdir()
    for name, animation in (("popping", "pop"), ("sliding", "slide-up"), ("still", "none")):
        text = f'extends = "default"\ntext_animation = "{animation}"\ntext_animation_s = 0.4\n'
        (folder / f"{name}.toml").write_text(text)
    return folder


@pytest.mark.parametrize("theme", ["default", "popping", "sliding", "still"])
def test_lower_third_enters_with_the_theme_shows_in_its_range_and_fades_out(
    render_spec, photo: Path, theme_dir: Path, theme: str
) -> None:
    # A still photo under it, so every change in the picture is the plate's.
    still = {"type": "image", "src": str(photo), "motion": "none", "duration": 2}
    data = {"theme": theme, "fps": FPS, "scenes": [still]}
    plain = frames_of(render_spec, data, theme_dirs=(theme_dir,))
    plated = frames_of(render_spec, {**data, "overlays": [LOWER_THIRD]}, theme_dirs=(theme_dir,))
    first, end = 15, 54
    found = bbox(changed(plated[40], plain[40]))
    assert found is not None
    x0, y0, x1, y1 = found
    margins = themes.load_theme("default").safe_areas.for_size(SIZE)
    # In the lower third of the frame, above the safe area's bottom.
    assert y0 > SIZE[1] * 0.55 and y1 <= SIZE[1] * (1 - margins.bottom) + 8
    assert (x1 - x0) > SIZE[0] * 0.2
    box = (slice(y0, y1), slice(x0, x1))

    def strength(index: int) -> float:
        return float(np.abs(plated[index] - plain[index])[box].mean())

    def away_from_settled(index: int) -> float:
        return float(np.abs(plated[index] - plated[40])[box].mean())

    for index in (0, first - 1):
        assert not changed(plated[index], plain[index]).any(), index
    # After it, only what the encoder carries over from the frames it was on.
    assert strength(end) < 0.1 * strength(40) and strength(59) < 0.1 * strength(40)

    settled = strength(40)
    assert away_from_settled(39) < 0.05 * settled
    if theme == "still":  # no entrance: settled from its first frame (as the encoder has it)
        assert away_from_settled(first) < 0.15 * settled
    else:
        # An entrance starts from nothing (a fade or a pop from clear): a few frames in it
        # shows, and is still far from the settled plate.
        assert changed(plated[first + 3], plain[first + 3], level=8).any()
        assert away_from_settled(first + 3) > 0.5 * settled
    assert strength(end - 2) < 0.6 * strength(40)  # fading out


def test_overlays_in_segments_match_one_graph(render_spec, logo: Path, monkeypatch) -> None:
    """A lower third entering and a logo spanning a segment joint look exactly as they do in
    one graph."""
    data = {**titles(7, 0.4), "overlays": [
        {"type": "logo", "src": str(logo), "corner": "top-left"},
        {**LOWER_THIRD, "start": 1.6, "end": 2.6},
        {"type": "progress", "position": "top"}]}  # fmt: skip
    plan = build_plan(scenes.parse_spec(data), themes.load_theme("default"), size=SIZE)
    joints = [segment.first_frame for segment in plan_segments(plan)[1:]]
    assert any(48 < joint < 48 + 18 for joint in joints), joints  # during the entrance
    parts = frames_of(render_spec, data)
    monkeypatch.setattr(renderer.segments, "SINGLE_GRAPH_MAX_SCENES", 10)
    whole = frames_of(render_spec, data)
    assert len(parts) == len(whole) == 84
    worst = max(float(np.abs(a - b).mean()) for a, b in zip(parts, whole, strict=True))
    assert worst < 1.0


def test_a_logo_that_is_not_an_image_fails_the_render_naming_its_field(
    tmp_path: Path, options
) -> None:
    bad = tmp_path / "logo.png"
    bad.write_text("not a picture")
    data = {**titles(1), "overlays": [{"type": "progress"}, {"type": "logo", "src": str(bad)}]}
    with pytest.raises(AssetError) as caught:
        render(scenes.parse_spec(data), tmp_path / "out", options)
    assert caught.value.field == "overlays[1].src"


def test_overlay_times_are_planned_in_whole_frames() -> None:
    data = {**titles(2), "overlays": [
        {"type": "progress", "start": 0.51}, {"type": "logo", "src": "x.png", "end": 1.49},
        {"type": "lower-third", "title": "T", "start": 1.9}]}  # fmt: skip
    plan = build_plan(scenes.parse_spec(data), themes.load_theme("default"), size=SIZE)
    bar, mark, plate = plan.overlays
    assert (bar.start_frame, bar.end_frame) == (15, 60)
    assert (mark.start_frame, mark.end_frame) == (0, 45)
    # Three frames on screen: the entrance takes at most half of them.
    assert (plate.start_frame, plate.end_frame, plate.enter_frames) == (57, 60, 1)
    assert bar.filled_px(14) == 0 and bar.filled_px(59) == SIZE[0] and bar.filled_px(60) == 0
