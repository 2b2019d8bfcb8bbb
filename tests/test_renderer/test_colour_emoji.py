"""Colour emoji in cards: whole sequences in one run of the colour font, measured as drawn,
drawn in their own colours on the text's baseline, and monochrome where the font is missing."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import support.media as mediatools
from PIL import Image

import scenes
import themes.fonts
from renderer import fonts, ink
from renderer.cards import layout as card_layout
from renderer.cards import layout_card
from renderer.cards.linebreak import Measure
from renderer.cards.model import PlacedRun
from renderer.ink import draw_runs
from renderer.text import draw_card
from scenes.kinds.title import TitleScene
from themes import load_theme

SIZE = (360, 640)
FAMILY = "👨\u200d👩\u200d👧"
FLAG = "🇫🇷"
needs_colour_font = pytest.mark.skipif(
    themes.fonts.colour_emoji_path() is None, reason="fonts-noto-color-emoji is not installed"
)
needs_raqm = pytest.mark.skipif(not fonts.has_raqm(), reason="Pillow has no raqm here")


def title(text: str) -> TitleScene:
    return TitleScene(type="title", duration=2, title=text)


def saturation(rgba: np.ndarray) -> np.ndarray:
    """HSV saturation of each pixel, 0 for black."""
    rgb = rgba[..., :3].astype(np.float32)
    top = rgb.max(axis=-1)
    return np.where(top > 0, (top - rgb.min(axis=-1)) / np.maximum(top, 1), 0.0)


def run_boxes(scene: TitleScene, theme_name: str, size=SIZE) -> list[tuple[PlacedRun, tuple]]:
    """Each placed run of the scene's card with its ink box in frame pixels."""
    layout = layout_card(scene, load_theme(theme_name), size)
    assert layout is not None
    boxes = []
    for run in layout.runs:
        if not run.text.strip():
            continue
        font = fonts.load_font(*run.font, layout.raqm)
        kwargs = {"direction": run.direction} if run.direction else {}
        x0, y0, x1, y1 = font.getbbox(run.text, anchor="ls", **kwargs)
        box = (run.x + x0, run.baseline + y0, run.x + x1, run.baseline + y1)
        boxes.append((run, tuple(round(v) for v in box)))
    return boxes


def is_colour(run: PlacedRun) -> bool:
    return fonts.bitmap_strike(run.font[0]) is not None


def crop(pixels: np.ndarray, box: tuple) -> np.ndarray:
    x0, y0, x1, y1 = box
    return pixels[max(0, y0) : y1, max(0, x0) : x1]


def forget_installed_fonts() -> None:
    fonts.forget_installed_fonts()
    card_layout._layout.cache_clear()


@pytest.fixture
def without_colour_font(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """As on a machine without fonts-noto-color-emoji."""
    monkeypatch.setattr(themes.fonts, "colour_emoji_path", lambda: None)
    forget_installed_fonts()
    yield
    monkeypatch.undo()
    forget_installed_fonts()


def drawn_alone(text: str, px: int = 48, raqm: bool | None = None) -> np.ndarray:
    """`text` drawn as the card would set it, alone on a transparent canvas: its alpha."""
    raqm = fonts.has_raqm() if raqm is None else raqm
    measure = Measure(fonts.chain_for("noto-sans"), px, 400, raqm, "ltr")
    canvas = Image.new("RGBA", (px * 8, px * 2), (0, 0, 0, 0))
    x, placed = float(px), []
    for run in fonts.visual_order(measure.runs(text)):
        shaped, direction = fonts.shaped_text(run, raqm)
        placed.append(PlacedRun(x, px * 1.4, shaped, direction, (run.path, px, 400), "#ffffff"))
        kwargs = {"direction": direction} if direction else {}
        x += measure.font(run.path).getlength(shaped, **kwargs)
    draw_runs(canvas, placed, raqm)
    return np.asarray(canvas)


def ink_width(rgba: np.ndarray) -> int:
    columns = np.nonzero((rgba[..., 3] > 40).any(axis=0))[0]
    return int(columns[-1] - columns[0] + 1) if len(columns) else 0


@needs_colour_font
def test_title_card_draws_emoji_in_colour_and_text_in_white():
    scene = title("Hello 🎉🔥")
    card = np.asarray(draw_card(scene, load_theme("default"), SIZE))
    boxes = run_boxes(scene, "default")
    emoji = [box for run, box in boxes if is_colour(run)]
    words = [box for run, box in boxes if not is_colour(run)]
    assert len(emoji) == 1 and words
    inside = crop(card, emoji[0])
    strong = (saturation(inside) > 0.5) & (inside[..., 3] > 200)
    assert strong.mean() > 0.2, strong.mean()
    # The word keeps the theme's white: its solid pixels are unsaturated and bright.
    text = crop(card, words[0])
    solid = text[text[..., 3] > 250]
    assert len(solid) > 50
    assert saturation(solid).max() < 0.1 and solid[:, :3].mean() > 200


@needs_colour_font
def test_emoji_sit_on_the_text_baseline_at_the_texts_size():
    scene = title("Hello 🎉")
    boxes = dict((is_colour(run), (run, box)) for run, box in run_boxes(scene, "default"))
    (word, _), (emoji, emoji_box) = boxes[False], boxes[True]
    card = np.asarray(draw_card(scene, load_theme("default"), SIZE))
    # Rows with the emoji's ink, looked for well above and below its measured box.
    x0, y0, x1, y1 = emoji_box
    window = crop(card, (x0, y0 - 8, x1, y1 + 8))
    rows = np.nonzero((window[..., 3] > 200).any(axis=1))[0] + y0 - 8
    drawn_top, drawn_bottom = rows[0], rows[-1]
    px = emoji.font[1]
    assert emoji.baseline == word.baseline
    # Noto Color Emoji stands 0.93 em above the baseline and 0.25 em below it; the drawn glyph
    # fills most of that box, which is where layout measured it.
    assert emoji_box[1] - 2 <= drawn_top < word.baseline - 0.6 * px
    assert word.baseline < drawn_bottom <= emoji_box[3] + 2
    assert abs((emoji_box[2] - emoji_box[0]) - 136 * px / 109) <= 1.5


@needs_colour_font
@needs_raqm
@pytest.mark.parametrize("sequence", [FAMILY, "👍🏽", FLAG, "1️⃣", "🧑\u200d⚕️", "❤️"])
def test_a_whole_emoji_sequence_is_one_run_and_one_glyph(sequence):
    chain = fonts.chain_for("noto-sans")
    runs = fonts.split_runs(f"a {sequence} b", chain)
    assert [run.text for run in runs] == ["a ", sequence, " b"]
    assert fonts.bitmap_strike(runs[1].path) is not None
    measure = Measure(chain, 48, 400, True, "ltr")
    one = measure.width("🎉")
    assert measure.width(sequence) == pytest.approx(one, rel=0.02)
    assert ink_width(drawn_alone(sequence)) < 1.25 * ink_width(drawn_alone("🎉"))


@needs_colour_font
@needs_raqm
def test_the_zwj_family_draws_one_glyph_not_three():
    single, family = drawn_alone("👨"), drawn_alone(FAMILY)
    assert ink_width(family) < 1.25 * ink_width(single)
    # Not just the first person: the family glyph differs from the man alone.
    assert np.abs(family.astype(int) - single.astype(int)).mean() > 1


@needs_colour_font
@needs_raqm
def test_a_flag_pair_draws_one_flag():
    flag = drawn_alone(FLAG)
    assert ink_width(flag) < 1.25 * ink_width(drawn_alone("🎉"))
    solid = flag[flag[..., 3] > 250][:, :3].astype(int)
    blue = (solid[:, 2] > 150) & (solid[:, 0] < 100)
    red = (solid[:, 0] > 180) & (solid[:, 1] < 90) & (solid[:, 2] < 90)
    assert blue.sum() > 50 and red.sum() > 50


@needs_colour_font
def test_widths_layout_measures_match_what_is_drawn():
    chain = fonts.chain_for("noto-sans")
    for px in (20, 48, 150):
        measure = Measure(chain, px, 400, fonts.has_raqm(), "ltr")
        # Each emoji added to a run moves its ink's right edge by the width layout measured,
        # whether it joins the same run or follows a space (a run of its own).
        for more in ("🍓🍓🍓", "🍓 🍓 🍓"):
            grown = ink_width(drawn_alone("🍓" + more, px)) - ink_width(drawn_alone("🍓", px))
            assert abs(grown - measure.width(more)) <= 1.5, (px, more)
        # And one emoji is about as wide as the font's design says (1.25 em).
        assert measure.width("🎉") == pytest.approx(px * 2550 / 2048, rel=0.01)


@needs_colour_font
def test_mixed_scripts_and_emoji_draw_no_boxes():
    text = "Hi 你好 مرحبا 🎉"
    scene = title(text)
    card = np.asarray(draw_card(scene, load_theme("default"), SIZE))
    boxes = run_boxes(scene, "default")
    paths = {run.font[0] for run, _ in boxes}
    assert len(paths) == 4  # Latin, CJK, Arabic, colour emoji
    ignorable = {"\u200d", "\ufe0f"}  # shaped away by HarfBuzz, not drawn glyphs
    for run, box in boxes:
        for char in run.text:
            if not char.isspace() and char not in ignorable:
                assert ord(char) in fonts.coverage(run.font[0]), (char, run.font[0])
        assert (crop(card, box)[..., 3] > 200).sum() > 20, run.text
    emoji_box = next(box for run, box in boxes if is_colour(run))
    assert (saturation(crop(card, emoji_box)) > 0.5).mean() > 0.2


def test_without_the_colour_font_emoji_fall_back_to_monochrome(without_colour_font):
    chain = fonts.chain_for("noto-sans")
    assert all(fonts.bitmap_strike(path) is None for path in chain)
    assert chain[-1].endswith("NotoEmoji[wght].ttf")
    scene = title("Hello 🎉🔥")
    card = np.asarray(draw_card(scene, load_theme("default"), SIZE))
    emoji = [box for run, box in run_boxes(scene, "default") if run.font[0] == chain[-1]]
    assert len(emoji) == 1
    inside = crop(card, emoji[0])
    assert (inside[..., 3] > 250).sum() > 50  # drawn, in the text's white
    assert ((saturation(inside) > 0.5) & (inside[..., 3] > 200)).sum() == 0


@needs_colour_font
def test_the_basic_layout_engine_draws_colour_emoji_too(monkeypatch):
    monkeypatch.setattr(card_layout, "has_raqm", lambda: False)
    card_layout._layout.cache_clear()
    try:
        scene = title("Hello 🎉 " + FAMILY + " " + FLAG)
        card = np.asarray(draw_card(scene, load_theme("default"), SIZE))
        assert layout_card(scene, load_theme("default"), SIZE).raqm is False
    finally:
        card_layout._layout.cache_clear()
    assert ((saturation(card) > 0.5) & (card[..., 3] > 200)).sum() > 200


@needs_colour_font
def test_a_rendered_title_shows_its_emoji_in_colour(render_spec):
    size = (216, 384)
    data = {"theme": "minimal", "scenes": [{"type": "title", "title": "Go 🍓🎉", "duration": 1}]}
    rendered = render_spec(data, size=size)
    assert mediatools.count_frames(rendered.video) == round(mediatools.probe(rendered.video).fps)
    frame = mediatools.frame_at(rendered.video, 0.5)
    scene = scenes.parse_spec(data).scenes[0]
    boxes = run_boxes(scene, "minimal", size)
    emoji = next(box for run, box in boxes if is_colour(run))
    word = next(box for run, box in boxes if not is_colour(run))
    assert (saturation(crop(frame, emoji)) > 0.5).mean() > 0.15
    # The warm-white background and the dark word stay neutral.
    assert (saturation(crop(frame, word)) > 0.5).mean() < 0.02
    assert (saturation(frame[: size[1] // 3]) > 0.5).sum() == 0


@needs_colour_font
def test_emoji_runs_are_drawn_once_and_reused():
    scene = title("Cached 🍓🍓")
    draw_card(scene, load_theme("default"), SIZE)
    before = ink.bitmap_run.cache_info()
    again = np.asarray(draw_card(scene, load_theme("default"), SIZE))
    after = ink.bitmap_run.cache_info()
    assert after.misses == before.misses and after.hits > before.hits
    emoji = next(box for run, box in run_boxes(scene, "default") if is_colour(run))
    assert (saturation(crop(again, emoji)) > 0.5).mean() > 0.2


@needs_colour_font
def test_an_emoji_reaching_past_the_picture_is_cut_not_refused():
    path = themes.fonts.colour_emoji_path()
    canvas = Image.new("RGBA", (40, 40), (0, 0, 0, 0))
    raqm = fonts.has_raqm()
    run = PlacedRun(-20.0, 30.0, "🍓", "ltr" if raqm else None, (str(path), 40, 400), "#ffffff")
    draw_runs(canvas, [run], raqm)
    alpha = np.asarray(canvas)[..., 3]
    assert alpha[:, :10].max() > 200  # the strawberry's right half, at the left edge
    assert alpha[:, 30:].max() == 0
