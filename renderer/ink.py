"""Drawing placed runs of text: the one place cards, captions and lower thirds put glyphs on
a picture, so every script and symbol the font chain covers draws the same everywhere.

Colour emoji come from a bitmap font that FreeType draws only at its strike size (109 px for
Noto Color Emoji): a run of them is drawn there in its own colours, scaled to the text's size
and laid over the picture where the text's own glyphs would sit on the baseline. Cards and
caption pages draw the same words many times, so the scaled runs are kept.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from PIL import Image, ImageDraw

from renderer.cards.model import PlacedRun
from renderer.fonts import BitmapFont, load_font


def draw_runs(image: Image.Image, runs: Iterable[PlacedRun], raqm: bool) -> None:
    """Draw every run of `runs` on `image` (RGBA) at its baseline, in its colour."""
    draw = ImageDraw.Draw(image)
    for run in runs:
        if not run.text.strip():
            continue
        font = load_font(*run.font, raqm)
        if isinstance(font, BitmapFont):
            tile, (left, top) = bitmap_run(font, run.text, run.direction)
            _lay_over(image, tile, round(run.x + left), round(run.baseline + top))
            continue
        kwargs = {"direction": run.direction} if run.direction else {}
        draw.text(
            (run.x, run.baseline), run.text, font=font, fill=run.colour, anchor="ls", **kwargs
        )


# A tile is about 60 kB per emoji at 1080x1920 title sizes: keep a few pages' worth.
@lru_cache(maxsize=128)
def bitmap_run(
    font: BitmapFont, text: str, direction: str | None
) -> tuple[Image.Image, tuple[float, float]]:
    """`text` in the bitmap font at its size, in its own colours, and where its top-left corner
    sits from the pen position on the baseline (the offset `BitmapFont.getbbox` measures).

    Keyed by the font (one per file, size and layout engine), the text and its direction."""
    kwargs = {"direction": direction} if direction else {}
    x0, y0, x1, y1 = font.strike.getbbox(text, anchor="ls", **kwargs)
    drawn = Image.new("RGBA", (max(1, x1 - x0), max(1, y1 - y0)), (0, 0, 0, 0))
    ImageDraw.Draw(drawn).text(
        (-x0, -y0), text, font=font.strike, anchor="ls", embedded_color=True, **kwargs
    )
    scale = font.scale
    size = (max(1, round(drawn.width * scale)), max(1, round(drawn.height * scale)))
    # Pillow resizes RGBA premultiplied, so the emoji's edges do not pick up a dark fringe.
    return drawn.resize(size, Image.Resampling.LANCZOS), (x0 * scale, y0 * scale)


def _lay_over(image: Image.Image, tile: Image.Image, left: int, top: int) -> None:
    """Composite `tile` over `image` at (left, top), cut to the image where it reaches past."""
    cut_left, cut_top = max(0, -left), max(0, -top)
    right = min(tile.width, image.width - left)
    bottom = min(tile.height, image.height - top)
    if right <= cut_left or bottom <= cut_top:
        return
    image.alpha_composite(
        tile, (left + cut_left, top + cut_top), (cut_left, cut_top, right, bottom)
    )
