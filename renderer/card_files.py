"""The text cards of a render, drawn by Pillow into its temporary directory.

Each card is cropped to its ink and written once as a PNG; a "pop" entrance is drawn as an
image sequence that ends with the settled card. Fades and slides are left to FFmpeg.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image

import themes
from renderer import text
from renderer.graph import CardLayer
from renderer.plan import RenderPlan, ScenePlan
from renderer.types import RenderError

# PNG compression level for cards: they are read once, so writing fast beats writing small.
PNG_LEVEL = 1
# Entrance geometry, as fractions: how far a card slides up, how small a "pop" starts.
SLIDE_FRACTION = 0.04
POP_FROM = 0.8
POP_OVERSHOOT = 1.06


def draw_card(
    plan: RenderPlan, scene: ScenePlan, theme: themes.Theme, tmp_dir: Path
) -> CardLayer | None:
    """The scene's card cropped to its ink, written once (or as pop frames)."""
    if scene.text is None:
        return None
    try:
        drawn = text.draw_card_region(scene.scene, theme, plan.size)
    except (OSError, ValueError) as exc:
        raise RenderError(f"cannot draw the text: {exc}", scene.field) from None
    if drawn is None:
        return None
    animation, steps = scene.text.animation, scene.text.animation_frames
    cropped = crop_to_ink(*drawn, plan.size, steps if animation == "pop" else 0)
    if cropped is None:
        return None
    frames, x0, y0 = cropped
    pattern = tmp_dir / f"card-{scene.index}-%03d.png"
    for number, frame in enumerate(frames):
        frame.save(str(pattern) % number, compress_level=PNG_LEVEL)
    fades = animation in ("fade", "slide-up")
    return CardLayer(
        pattern,
        len(frames),
        x0,
        y0,
        fade_frames=steps if fades else 0,
        slide_px=round(SLIDE_FRACTION * plan.size[1]) if animation == "slide-up" else 0,
    )


def crop_to_ink(
    card: Image.Image, origin: tuple[int, int], size: tuple[int, int], pop_steps: int = 0
) -> tuple[list[Image.Image], int, int] | None:
    """`card`, drawn at `origin` in a frame of `size`, cropped to its ink at an even origin
    (yuv420p overlays land on even pixels, so it does not shift by one): its pictures and
    where they go. With `pop_steps`, the crop has room for the pop's overshoot and the pop's
    frames come first, ending on the settled card. None when the card has no ink."""
    inked = card.getchannel("A").getbbox()
    if inked is None:
        return None
    left, top = origin
    # From here on in frame coordinates; `card` is cropped with its origin's offset.
    ink = (inked[0] + left, inked[1] + top, inked[2] + left, inked[3] + top)
    x0, y0, x1, y1 = ink
    if pop_steps:
        grow_x = round((x1 - x0) * (POP_OVERSHOOT - 1) / 2) + 1
        grow_y = round((y1 - y0) * (POP_OVERSHOOT - 1) / 2) + 1
        x0, y0, x1, y1 = x0 - grow_x, y0 - grow_y, x1 + grow_x, y1 + grow_y
    x0, y0 = max(0, x0) & ~1, max(0, y0) & ~1
    x1, y1 = min(size[0], x1), min(size[1], y1)
    settled = card.crop((x0 - left, y0 - top, x1 - left, y1 - top))
    if not pop_steps:
        return [settled], x0, y0
    glyphs = card.crop(inked)
    centre = ((ink[0] + ink[2]) / 2 - x0, (ink[1] + ink[3]) / 2 - y0)
    frames = [pop_frame(glyphs, settled.size, centre, i / pop_steps) for i in range(pop_steps)]
    return [*frames, settled], x0, y0


def pop_frame(
    inked: Image.Image, canvas: tuple[int, int], centre: tuple[float, float], progress: float
) -> Image.Image:
    """The card at `progress` of a pop: scaled about its centre, overshooting, fading in."""
    overshoot = 1.70158  # ease-out-back: past full size, then back, like a card popping in
    t = progress - 1
    eased = 1 + (overshoot + 1) * t**3 + overshoot * t**2
    scale = min(POP_OVERSHOOT, POP_FROM + (1 - POP_FROM) * eased)
    width = max(1, round(inked.width * scale))
    height = max(1, round(inked.height * scale))
    grown = _with_opacity(inked, min(1.0, progress * 2)).resize(
        (width, height), Image.Resampling.BILINEAR
    )
    frame = Image.new("RGBA", canvas, (0, 0, 0, 0))
    left, top = round(centre[0] - width / 2), round(centre[1] - height / 2)
    # At a frame edge the canvas could not grow: what overshoots it is cut off.
    grown = grown.crop((max(0, -left), max(0, -top), width, height))
    frame.alpha_composite(grown, (max(0, left), max(0, top)))
    return frame


def _with_opacity(image: Image.Image, opacity: float) -> Image.Image:
    faded = image.copy()
    faded.putalpha(image.getchannel("A").point(lambda value: round(value * opacity)))
    return faded
