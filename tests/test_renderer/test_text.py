"""Text cards and backgrounds: pixels where the text should be, palettes, scripts, auto-fit."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from renderer import fonts
from renderer.text import draw_background, draw_card, draw_card_region, text_box
from scenes.kinds.image import ImageScene
from scenes.kinds.outro import OutroScene
from scenes.kinds.quote import QuoteScene
from scenes.kinds.text import TextScene
from scenes.kinds.title import TitleScene
from scenes.kinds.video import VideoScene
from themes import list_themes, load_theme, rgb

TALL = (180, 320)
SIZES = [(360, 640), (432, 540), (480, 480), (640, 360)]  # 9:16, 4:5, 1:1, 16:9


def title(text: str, **extra) -> TitleScene:
    return TitleScene(type="title", duration=2, title=text, **extra)


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image).astype(np.int16)


def has_colour(rgba: np.ndarray, colour: str, tolerance: int = 10, min_alpha: int = 250) -> bool:
    target = np.array(rgb(colour))
    close = np.abs(rgba[..., :3] - target).max(axis=-1) <= tolerance
    return bool((close & (rgba[..., 3] >= min_alpha)).sum() >= 3)


def test_title_has_text_pixels_inside_its_box():
    theme = load_theme("default")
    scene = title("Hello world", subtitle="A subtitle")
    card = draw_card(scene, theme, TALL)
    assert card is not None and card.mode == "RGBA" and card.size == TALL
    x0, y0, x1, y1 = text_box(scene, theme, TALL)
    assert 0 <= x0 < x1 <= TALL[0] and 0 <= y0 < y1 <= TALL[1]
    assert (x1 - x0) > TALL[0] * 0.3 and (y1 - y0) > 8
    rgba = pixels(card)
    inside = rgba[y0:y1, x0:x1]
    # Solid glyph pixels in the title's colour, and transparent gaps between them.
    text_pixels = (np.abs(inside[..., :3] - rgb(theme.colors.text)).max(-1) < 10) & (
        inside[..., 3] > 240
    )
    assert text_pixels.sum() > 0.08 * inside.shape[0] * inside.shape[1]
    # The rest of the frame is transparent: the card is an overlay, not a picture.
    assert (rgba[..., 3] == 0).mean() > 0.6
    assert rgba[: y0 - 20, :, 3].max() == 0


def test_scene_without_text_has_no_card():
    theme = load_theme("default")
    scene = ImageScene(type="image", duration=2, src="photo.jpg")
    assert draw_card(scene, theme, TALL) is None
    with pytest.raises(ValueError, match="no text"):
        text_box(scene, theme, TALL)


@pytest.mark.parametrize("name", list_themes())
def test_every_palette_colour_appears(name):
    theme = load_theme(name)
    size = (360, 640)
    background = pixels(draw_background(theme, size).convert("RGBA"))
    assert has_colour(background, theme.colors.background, tolerance=3)
    if theme.background in ("gradient", "blur"):
        assert has_colour(background, theme.colors.background2, tolerance=3)
    else:
        assert (background == background[0, 0]).all()  # a solid background is one colour
    outro = OutroScene(
        type="outro",
        duration=2,
        title="Thank you",
        subtitle="Follow for more",
        text="reelfarm.example",
    )
    card = pixels(draw_card(outro, theme, size))
    assert has_colour(card, theme.colors.text)
    assert has_colour(card, theme.colors.muted)
    assert has_colour(card, theme.colors.accent)  # the call to action's pill


def test_gradient_runs_from_background_to_background2():
    theme = load_theme("winter")
    image = pixels(draw_background(theme, TALL).convert("RGB"))
    assert np.abs(image[0, 0] - rgb(theme.colors.background)).max() <= 2
    assert np.abs(image[-1, 0] - rgb(theme.colors.background2)).max() <= 2


SCRIPTS = {
    "cjk": "你好世界",
    "japanese": "こんにちは",
    "korean": "안녕하세요",
    "arabic": "مرحبا بالعالم",
    "hebrew": "שלום עולם",
    "cyrillic": "Привет мир",
    "emoji": "🎉🚀❤",
    "devanagari": "नमस्ते",
}


@pytest.mark.parametrize("theme_name", ["bold", "default"])  # Bebas Neue has no Cyrillic at all
@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_scripts_draw_glyphs_not_boxes(theme_name, script):
    theme = load_theme(theme_name)
    size = (360, 640)
    text = SCRIPTS[script]
    real = draw_card(title(text), theme, size)
    # Private-use characters no font has: what the text would look like if fallback failed.
    tofu = draw_card(title("\U0010fffd" * len(text)), theme, size)
    real_alpha = pixels(real)[..., 3] > 128
    tofu_alpha = pixels(tofu)[..., 3] > 128
    assert real_alpha.sum() > 50
    differing = (real_alpha ^ tofu_alpha).sum()
    assert differing > 0.3 * max(real_alpha.sum(), tofu_alpha.sum())
    # And each character is drawn by a font that has it.
    chain = fonts.chain_for(theme.fonts.title.family)
    for run in fonts.split_runs(text.upper() if theme.fonts.title.uppercase else text, chain):
        for char in run.text:
            if not char.isspace():
                assert ord(char) in fonts.coverage(run.path), (char, run.path)


def test_arabic_is_shaped_and_right_to_left():
    theme = load_theme("default")
    chain = fonts.chain_for("noto-sans")
    runs = fonts.split_runs("مرحبا 2024 hello", chain)
    ordered = [run.text.strip() for run in fonts.visual_order(runs) if run.text.strip()]
    # Right to left: the Arabic word starts on the right, then the number, then the Latin word
    # (each of those two read left to right on their own).
    assert ordered == ["hello", "2024", "مرحبا"]
    mixed = fonts.visual_order(fonts.split_runs("hello مرحبا 2024 world", chain))
    assert [run.text.strip() for run in mixed if run.text.strip()] == [
        "hello",
        "2024",
        "مرحبا",
        "world",
    ]
    assert all(run.direction == "rtl" for run in runs if "م" in run.text)
    # Shaping joins the letters: the shaped word is narrower than its isolated letters.
    arabic = next(run for run in runs if run.direction == "rtl")
    for raqm in {fonts.has_raqm(), False}:
        font = fonts.load_font(arabic.path, 48, 400, raqm)
        shaped, direction = fonts.shaped_text(arabic, raqm)
        kwargs = {"direction": direction} if direction else {}
        joined = font.getlength(shaped, **kwargs)
        isolated = sum(
            font.getlength(ch, **({"direction": "rtl"} if raqm else {})) for ch in arabic.text
        )
        assert joined < isolated * 0.97, raqm
    card = draw_card(title("مرحبا بالعالم"), theme, TALL)
    assert card is not None and pixels(card)[..., 3].max() == 255


def test_arabic_without_raqm_matches_raqm_rendering():
    if not fonts.has_raqm():
        pytest.skip("only comparable where Pillow has raqm")
    run = fonts.Run("مرحبا", fonts.chain_for("noto-sans")[1], level=1)
    images = []
    for raqm in (True, False):
        font = fonts.load_font(run.path, 64, 400, raqm)
        text, direction = fonts.shaped_text(run, raqm)
        image = Image.new("L", (400, 120))
        kwargs = {"direction": direction} if direction else {}
        ImageDraw.Draw(image).text((20, 90), text, font=font, fill=255, anchor="ls", **kwargs)
        images.append(np.asarray(image) > 128)
    overlap = (images[0] & images[1]).sum() / max(1, (images[0] | images[1]).sum())
    assert overlap > 0.6


def safe_rect(theme, size):
    margins = theme.safe_areas.for_size(size)
    w, h = size
    return w * margins.x, h * margins.top, w * (1 - margins.x), h * (1 - margins.bottom)


LONG_TITLE = ("An extraordinarily long headline that goes on and on " * 4).strip()[:200]
LONG_BODY = ("Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod. " * 14)[
    :1000
]


@pytest.mark.parametrize(
    ("theme_name", "size"),
    [
        ("default", SIZES[0]),
        ("bold", SIZES[1]),
        ("editorial", SIZES[2]),
        ("bold", SIZES[3]),
        ("editorial", SIZES[0]),
        ("minimal", SIZES[3]),
    ],
)
def test_long_text_is_fitted_inside_the_safe_area(theme_name, size):
    theme = load_theme(theme_name)
    x0, y0, x1, y1 = safe_rect(theme, size)
    scenes = [
        title(LONG_TITLE, subtitle=LONG_TITLE),
        TextScene(
            type="text", duration=2, title=LONG_TITLE, body=LONG_BODY, bullets=[LONG_TITLE] * 8
        ),
        QuoteScene(type="quote", duration=2, text=LONG_BODY, author=LONG_TITLE),
        TitleScene(type="title", duration=2, title="Pneumonoultramicroscopicsilicovolcanoconiosis"),
    ]
    for scene in scenes:
        bx0, by0, bx1, by1 = text_box(scene, theme, size)
        assert x0 - 1 <= bx0 < bx1 <= x1 + 1, (scene.type, (bx0, bx1), (x0, x1))
        assert y0 - 1 <= by0 < by1 <= y1 + 1, (scene.type, (by0, by1), (y0, y1))
        # Every pixel in the text colour lies inside the safe area, not just the main block.
        rgba = pixels(draw_card(scene, theme, size))
        solid = (np.abs(rgba[..., :3] - rgb(theme.colors.text)).max(-1) < 8) & (rgba[..., 3] > 200)
        ys, xs = np.nonzero(solid)
        assert len(xs) > 0
        assert xs.min() >= x0 - 2 and xs.max() <= x1 + 2, scene.type
        assert ys.min() >= y0 - 2 and ys.max() <= y1 + 2, scene.type


def test_text_is_wrapped_not_shrunk_when_it_can_wrap():
    theme = load_theme("default")
    size = (360, 640)
    short = text_box(title("Short"), theme, size)
    wrapped = text_box(title("A headline of several words that wraps"), theme, size)
    # Same font size (same cap height per line), more lines.
    assert (wrapped[3] - wrapped[1]) > 1.8 * (short[3] - short[1])


@pytest.mark.parametrize("kind", [ImageScene, VideoScene])
@pytest.mark.parametrize("theme_name", ["default", "neon", "minimal"])
def test_caption_sits_in_the_lower_third_on_a_plate(kind, theme_name):
    theme = load_theme(theme_name)
    scene = kind(
        type=kind.model_fields["type"].annotation.__args__[0],
        duration=2,
        src="clip",
        caption="A caption that is readable over any photo",
    )
    size = (360, 640)
    x0, y0, x1, y1 = text_box(scene, theme, size)
    assert y0 > size[1] * 0.5
    assert y1 <= safe_rect(theme, size)[3] + 1
    rgba = pixels(draw_card(scene, theme, size))
    # Around the caption, the plate (or band) covers the photo with the theme's background.
    ring = rgba[max(0, y0 - 4) : y1 + 4, x0:x1]
    plate = (np.abs(ring[..., :3] - rgb(theme.colors.background)).max(-1) < 12) & (
        ring[..., 3] > 60
    )
    assert plate.mean() > 0.2


@pytest.mark.parametrize("theme_name", ["default", "neon", "bold", "minimal"])
def test_text_is_readable_over_a_white_and_a_black_photo(theme_name):
    theme = load_theme(theme_name)
    scene = ImageScene(type="image", duration=2, src="photo.jpg", caption="Readable caption")
    card = draw_card(scene, theme, (360, 640))
    x0, y0, x1, y1 = text_box(scene, theme, (360, 640))
    for photo in ((255, 255, 255), (0, 0, 0)):
        frame = Image.new("RGBA", (360, 640), (*photo, 255))
        frame.alpha_composite(card)
        region = np.asarray(frame.convert("L"), dtype=np.float32)[y0:y1, x0:x1]
        # Light and dark both present: the text stands out from whatever is behind it.
        assert np.percentile(region, 95) - np.percentile(region, 5) > 90, photo


def test_scrim_behind_text_over_a_background_photo():
    theme = load_theme("default")
    plain = pixels(draw_card(title("Over a photo"), theme, TALL))
    over = pixels(draw_card(title("Over a photo", background="photo.jpg"), theme, TALL))
    assert plain[5, 5, 3] == 0
    assert over[5, 5, 3] > 60
    assert np.abs(over[5, 5, :3] - rgb(theme.colors.background)).max() <= 2


def test_cards_are_cached_per_scene_and_theme():
    theme = load_theme("default")
    scene = title("Cached")
    assert text_box(scene, theme, TALL) == text_box(title("Cached"), theme, TALL)
    first = draw_card(scene, theme, TALL)
    second = draw_card(scene, theme, TALL)
    assert first is not second  # a fresh image each time: callers may draw on it
    assert np.array_equal(pixels(first), pixels(second))


@pytest.mark.parametrize("theme_name", list_themes())
def test_a_card_region_holds_all_its_ink(theme_name):
    """Cards are drawn only around their text: shadows, glows and outlines must fade out
    inside that region, or its edge would cut them off in a straight line."""
    theme = load_theme(theme_name)
    scenes = [
        title("Reach the edge", subtitle="with a subtitle under it"),
        OutroScene(type="outro", duration=2, title="Thanks", text="reelfarm.example"),
        QuoteScene(type="quote", duration=2, text="Short words, big glow.", author="Someone"),
    ]  # fmt: skip
    for size in [(1080, 1920), *SIZES]:
        for scene in scenes:
            drawn = draw_card_region(scene, theme, size)
            assert drawn is not None
            alpha = np.asarray(drawn[0].getchannel("A"))
            (left, top), (height, width) = drawn[1], alpha.shape
            # An edge of the region may carry ink only where it is also the frame's edge.
            edges = {
                "top": (alpha[0], top == 0),
                "bottom": (alpha[-1], top + height == size[1]),
                "left": (alpha[:, 0], left == 0),
                "right": (alpha[:, -1], left + width == size[0]),
            }
            for name, (line, at_frame_edge) in edges.items():
                assert at_frame_edge or line.max() == 0, (scene.type, size, name)
