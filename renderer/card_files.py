"""The text cards of a render, drawn by Pillow into its temporary directory.

Each card is cropped to its ink and written once as a PNG; its entrance (a fade, a slide, a
pop) is left to FFmpeg.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageFilter

import themes
from renderer import text
from renderer.graph import CardLayer
from renderer.plan import RenderPlan, ScenePlan
from renderer.pop import POP_OVERSHOOT, PopIn
from renderer.types import RenderError

# PNG compression level for cards: they are read once, so writing fast beats writing small.
PNG_LEVEL = 1
# How far a card slides up on a "slide-up" entrance, as a fraction of the frame's height.
SLIDE_FRACTION = 0.04
# How far a pop picture's edge colours spread into its clear margin.
EDGE_SPREAD_PX = 3


def draw_card(
    plan: RenderPlan, scene: ScenePlan, theme: themes.Theme, tmp_dir: Path
) -> CardLayer | None:
    """The scene's card cropped to its ink (on the pop's margin when it pops), written once."""
    if scene.text is None:
        return None
    try:
        drawn = text.draw_card_region(scene.scene, theme, plan.size)
    except (OSError, ValueError) as exc:
        raise RenderError(f"cannot draw the text: {exc}", scene.field) from None
    if drawn is None:
        return None
    animation, steps = scene.text.animation, scene.text.animation_frames
    pops = animation == "pop" and steps > 0
    cropped = crop_to_ink(*drawn, plan.size, pops)
    if cropped is None:
        return None
    picture, x0, y0 = cropped
    pop = None
    if pops:
        picture, pop = pop_picture(picture, steps)
    path = tmp_dir / f"card-{scene.index}.png"
    picture.save(path, compress_level=PNG_LEVEL)
    fades = animation in ("fade", "slide-up")
    return CardLayer(
        path,
        x0,
        y0,
        fade_frames=steps if fades else 0,
        slide_px=round(SLIDE_FRACTION * plan.size[1]) if animation == "slide-up" else 0,
        pop=pop,
    )


def crop_to_ink(
    card: Image.Image, origin: tuple[int, int], size: tuple[int, int], pop: bool = False
) -> tuple[Image.Image, int, int] | None:
    """`card`, drawn at `origin` in a frame of `size`, cropped to its ink at an even origin
    (yuv420p overlays land on even pixels, so it does not shift by one), and where it goes.
    For a `pop`, the crop has room for the pop's overshoot. None when the card has no ink."""
    inked = card.getchannel("A").getbbox()
    if inked is None:
        return None
    left, top = origin
    # From here on in frame coordinates; `card` is cropped with its origin's offset.
    x0, y0, x1, y1 = (inked[0] + left, inked[1] + top, inked[2] + left, inked[3] + top)
    if pop:
        grow_x = round((x1 - x0) * (POP_OVERSHOOT - 1) / 2) + 1
        grow_y = round((y1 - y0) * (POP_OVERSHOOT - 1) / 2) + 1
        x0, y0, x1, y1 = x0 - grow_x, y0 - grow_y, x1 + grow_x, y1 + grow_y
    x0, y0 = max(0, x0) & ~1, max(0, y0) & ~1
    x1, y1 = min(size[0], x1), min(size[1], y1)
    return card.crop((x0 - left, y0 - top, x1 - left, y1 - top)), x0, y0


def pop_picture(settled: Image.Image, frames: int) -> tuple[Image.Image, PopIn]:
    """The settled card on the pop's transparent margin (see `renderer.graph.pop`), with
    the colour of its edges carried into the clear pixels around them: the graph scales
    the picture with its alpha unmultiplied, and a clear pixel's colour (black, as drawn)
    would otherwise darken the card's rim while it grows."""
    pop = PopIn(frames, settled.size)
    padded = Image.new("RGBA", pop.padded, (0, 0, 0, 0))
    padded.paste(settled, pop.margin)
    # Averages of nearby ink, weighted by its alpha: blur the premultiplied picture, then
    # divide the alpha back out.
    spread = padded.convert("RGBa").filter(ImageFilter.BoxBlur(EDGE_SPREAD_PX)).convert("RGBA")
    clear = padded.getchannel("A").point(lambda value: 255 if value == 0 else 0)
    spread.putalpha(0)
    padded.paste(spread, (0, 0), clear)
    return padded, pop
