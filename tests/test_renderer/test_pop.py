"""The "pop" entrance, drawn by the graph from one picture, on both FFmpeg builds: the card
grows about its centre as `PopIn.scale` says, fades in over the first half, and settles on
exactly the card a render without an entrance shows."""

from __future__ import annotations

import itertools
import shutil

import numpy as np
import pytest

import themes
from renderer import text
from renderer.ffmpeg import find_ffmpeg
from renderer.pop import POP_FROM, POP_OVERSHOOT, PopIn
from tests.support import media as mediatools
from tests.test_renderer.conftest import TINY

BUILDS = ["bundled", *(["system"] if shutil.which("ffmpeg") else [])]
FPS = 30
POP_FRAMES = 15  # 0.5 s


@pytest.mark.parametrize("size", [(812, 578), (101, 37), (2, 2)])
def test_every_frame_crops_the_card_box_from_inside_the_scaled_picture(size):
    pop = PopIn(POP_FRAMES, size)
    width, height = pop.padded
    assert width % 2 == 0 and height % 2 == 0
    boxes = pop.boxes()
    assert len(boxes) == POP_FRAMES + 1
    assert boxes[-1] == (width, height, *pop.margin)  # settled: the picture itself, uncut
    for w, h, x, y in boxes:
        assert w % 2 == h % 2 == x % 2 == y % 2 == 0
        assert x >= 0 and y >= 0 and x + size[0] <= w and y + size[1] <= h
    scales = [pop.scale(index) for index in range(POP_FRAMES + 1)]
    assert scales[0] == pytest.approx(POP_FROM)
    assert max(scales) <= POP_OVERSHOOT and max(scales) > 1  # past full size, then back
    assert scales[-1] == 1


def _ink(frame: np.ndarray, background: np.ndarray) -> tuple[float, float, float]:
    """The text's width, horizontal centre and amount (columns that differ)."""
    differs = np.abs(frame.astype(int) - background).max(axis=2) > 60
    columns = np.nonzero(differs.any(axis=0))[0]
    if not len(columns):
        return 0.0, 0.0, 0.0
    return float(columns.max() - columns.min()), float(columns.mean()), float(differs.sum())


@pytest.mark.parametrize("build", BUILDS)
def test_pop_grows_about_its_centre_fades_in_and_settles_on_the_card(build, render_spec, tmp_path):
    for name, animation in (("popping", "pop"), ("still", "none")):
        (tmp_path / f"{name}.toml").write_text(
            f'extends = "default"\ntext_animation = "{animation}"\n'
            f"text_animation_s = {POP_FRAMES / FPS}\n"
        )
    rendered = {}
    for name in ("popping", "still"):
        data = {"theme": name, "fps": FPS,
                "scenes": [{"type": "title", "title": "HELLO", "duration": 1.0}]}  # fmt: skip
        out = render_spec(data, theme_dirs=(tmp_path,), quality="high",
                          ffmpeg=find_ffmpeg(build).path)  # fmt: skip
        rendered[name] = mediatools.all_frames(out.video)
    popping, still = rendered["popping"], rendered["still"]
    background = np.asarray(text.draw_background(themes.load_theme("default"), TINY))
    settled_width, settled_centre, settled_amount = _ink(still[0], background)
    pop = PopIn(POP_FRAMES, (2, 2))  # the scale is the card's whatever its size
    for index in range(4, POP_FRAMES):
        width, centre, _ = _ink(popping[index], background)
        assert width == pytest.approx(settled_width * pop.scale(index), abs=3), index
        assert centre == pytest.approx(settled_centre, abs=1.5), index
    amounts = [_ink(frame, background)[2] for frame in popping[: POP_FRAMES // 2 + 1]]
    assert amounts[0] < 0.05 * settled_amount  # from nothing
    assert all(a < b for a, b in itertools.pairwise(amounts[1:]))  # fading in
    # Settled means the card a render without an entrance shows, from the entrance's end.
    for index in range(POP_FRAMES + 1, len(popping)):
        assert np.abs(popping[index].astype(int) - still[index]).mean() < 0.5, index
