"""Text cards and theme backgrounds, drawn once per scene with Pillow.

A card is a full-frame RGBA image: transparent except the scene's text and what keeps it
readable (a shadow, glow or outline; a plate behind captions; a scrim over a background photo).
The layout (wrapping, auto-fit inside the safe area, scripts and directions) is
`renderer.cards`; this module draws it.

    card = draw_card(scene, theme, (1080, 1920))     # None when the scene has no text
    x0, y0, x1, y1 = text_box(scene, theme, (1080, 1920))
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from renderer.cards import Box, CardLayout, PlacedRun, Shape, Size, layout_card, luminance
from renderer.ink import draw_runs
from scenes import SceneBase
from themes import Theme, rgb

# ---------------------------------------------------------------- public surface


def draw_background(theme: Theme, size: Size) -> Image.Image:
    """The theme's background, RGB, full frame: its solid colour or its gradient.

    For "blur" themes the renderer blurs the scene's own media; this gradient stands in where a
    scene has none.
    """
    width, height = size
    start = np.array(rgb(theme.colors.background), dtype=np.float32)
    if theme.background == "solid":
        return Image.new("RGB", size, tuple(int(c) for c in start))
    end = np.array(rgb(theme.colors.background2), dtype=np.float32)
    ys = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    xs = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :]
    if theme.gradient == "diagonal":
        t = (xs * width + ys * height) / float(width + height)
    elif theme.gradient == "radial":
        # Distance from the centre, normalised so the corners reach 1.
        t = np.sqrt(((xs - 0.5) * 2) ** 2 + ((ys - 0.5) * 2) ** 2) / np.sqrt(2.0)
    else:
        t = np.broadcast_to(ys, (height, width))
    t = t * t * (3 - 2 * t)  # smoothstep: no hard start or end to the blend
    pixels = start + (end - start) * t[..., None]
    return Image.fromarray(np.clip(pixels + 0.5, 0, 255).astype(np.uint8))


def draw_card(scene: SceneBase, theme: Theme, size: Size) -> Image.Image | None:
    """The scene's text as a full-frame RGBA overlay, or None when the scene has no text."""
    drawn = draw_card_region(scene, theme, size)
    if drawn is None:
        return None
    region, origin = drawn
    card = Image.new("RGBA", size, (0, 0, 0, 0))
    card.paste(region, origin)
    return card


def draw_card_region(
    scene: SceneBase, theme: Theme, size: Size
) -> tuple[Image.Image, tuple[int, int]] | None:
    """The card drawn only where it has ink, with where that region sits in the frame.

    A 1080x1920 RGBA frame is 8 MB to clear and composite, several times per card; the
    region around the text is usually a tenth of it, and the renderer crops to it anyway.
    """
    layout = layout_card(scene, theme, size)
    if layout is None:
        return None
    x0, y0, x1, y1 = _extent(layout, size)
    layout = _moved(layout, -x0, -y0)
    region = (x1 - x0, y1 - y0)
    card = Image.new("RGBA", region, (0, 0, 0, 0))
    for shape in layout.shapes:
        _draw_shape(card, shape)
    # Shadows and glows scale with the text they belong to, so each font size gets its own,
    # and all of them go under all of the text.
    sizes = sorted({run.font[1] for run in layout.runs if not run.on_pill}, reverse=True)
    for px in sizes:
        group = _draw_ink(
            layout, region, lambda r, px=px: not r.on_pill and r.font[1] == px, rules=px == sizes[0]
        )
        under = _text_effect(group, px, theme)
        if under is not None:
            card.alpha_composite(under[0], under[1])
    card.alpha_composite(_draw_ink(layout, region, lambda r: not r.on_pill, rules=True))
    if any(run.on_pill for run in layout.runs):
        card.alpha_composite(_draw_ink(layout, region, lambda r: r.on_pill, rules=False))
    return card, (x0, y0)


def text_box(scene: SceneBase, theme: Theme, size: Size) -> Box:
    """Bounding box (x0, y0, x1, y1) of the card's main text: the title, quote or caption."""
    layout = layout_card(scene, theme, size)
    if layout is None:
        raise ValueError(f"a {getattr(scene, 'type', 'scene')} scene with no text has no text box")
    return layout.ink[layout.main_role]


# ---------------------------------------------------------------- drawing


def _extent(layout: CardLayout, size: Size) -> Box:
    """Everything the card can put ink on: its glyphs, shapes and rules, with room around the
    text for its shadow, glow or outline (and for glyphs that overhang their measured box)."""
    boxes = [*layout.ink.values(), *(shape.box for shape in (*layout.shapes, *layout.rules))]
    largest = max((run.font[1] for run in layout.runs), default=layout.em)
    margin = round(largest * 0.9) + 8
    width, height = size
    # An even origin: PIL rounds half-pixel coordinates to even, so moving the layout by an
    # odd number of pixels could move a rule or a glyph by one.
    return (
        max(0, int(min(b[0] for b in boxes)) - margin) & ~1,
        max(0, int(min(b[1] for b in boxes)) - margin) & ~1,
        min(width, int(np.ceil(max(b[2] for b in boxes))) + margin),
        min(height, int(np.ceil(max(b[3] for b in boxes))) + margin),
    )


def _moved(layout: CardLayout, dx: int, dy: int) -> CardLayout:
    def box(b: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
        return (b[0] + dx, b[1] + dy, b[2] + dx, b[3] + dy)

    return replace(
        layout,
        runs=tuple(replace(r, x=r.x + dx, baseline=r.baseline + dy) for r in layout.runs),
        ink={role: box(b) for role, b in layout.ink.items()},
        shapes=tuple(replace(s, box=box(s.box)) for s in layout.shapes),
        rules=tuple(replace(s, box=box(s.box)) for s in layout.rules),
    )


def _rgba(colour: str, opacity: float) -> tuple[int, int, int, int]:
    return (*rgb(colour), round(255 * opacity))


def _draw_shape(card: Image.Image, shape: Shape) -> None:
    x0, y0, x1, y1 = shape.box
    if shape.kind == "band":
        # A gradient from clear to the plate colour, so the photo fades under the caption.
        top, bottom = max(0, int(y0)), min(card.height, int(np.ceil(y1)))
        if bottom <= top:
            return
        ramp = np.linspace(0.0, 1.0, bottom - top, dtype=np.float32)
        alpha = (np.minimum(ramp * 1.8, 1.0) * 255 * shape.opacity).astype(np.uint8)
        band = np.zeros((bottom - top, card.width, 4), dtype=np.uint8)
        band[..., :3] = rgb(shape.colour)
        band[..., 3] = alpha[:, None]
        card.alpha_composite(Image.fromarray(band), (0, top))
        return
    # Drawn on a layer the size of the shape (not the frame), then blended into the card.
    left, top = max(0, int(x0)), max(0, int(y0))
    right, bottom = min(card.width, int(np.ceil(x1))), min(card.height, int(np.ceil(y1)))
    if right <= left or bottom <= top:
        return
    layer = Image.new("RGBA", (right - left, bottom - top), (0, 0, 0, 0))
    ImageDraw.Draw(layer).rounded_rectangle(
        (x0 - left, y0 - top, x1 - left, y1 - top),
        radius=shape.radius,
        fill=_rgba(shape.colour, shape.opacity),
    )
    card.alpha_composite(layer, (left, top))


def _draw_ink(
    layout: CardLayout, size: Size, include: Callable[[PlacedRun], bool], rules: bool
) -> Image.Image:
    ink = Image.new("RGBA", size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(ink)
    for rule in layout.rules if rules else ():
        draw.rounded_rectangle(rule.box, radius=rule.radius, fill=_rgba(rule.colour, 1.0))
    draw_runs(ink, (run for run in layout.runs if include(run)), layout.raqm)
    return ink


def _text_effect(
    ink: Image.Image, em: int, theme: Theme
) -> tuple[Image.Image, tuple[int, int]] | None:
    """The layer under text of size `em` px that keeps it readable over any photo.

    Returned with where it goes: it covers only the text's neighbourhood, not the frame.
    """
    alpha = ink.getchannel("A")
    bbox = alpha.getbbox()
    if bbox is None:
        return None
    style = theme.layout.text_style
    text_is_light = luminance(theme.colors.text) > 0.4
    shade = "#000000" if text_is_light else "#ffffff"
    # Work on the text's neighbourhood only: blurring a full 1080x1920 frame is the slow part.
    margin = int(em * 0.6) + 4
    x0, y0 = max(0, bbox[0] - margin), max(0, bbox[1] - margin)
    x1, y1 = min(ink.width, bbox[2] + margin), min(ink.height, bbox[3] + margin)
    mask = alpha.crop((x0, y0, x1, y1))
    layer = Image.new("RGBA", mask.size, (0, 0, 0, 0))

    def add(colour: str, blurred: Image.Image, strength: float, offset: tuple[int, int]) -> None:
        scaled = blurred.point(lambda v: min(255, round(v * strength)))
        solid = Image.new("RGBA", mask.size, _rgba(colour, 1.0))
        solid.putalpha(scaled)
        layer.alpha_composite(solid, offset)

    if style == "outline":
        width = max(1, round(em * 0.045))
        grown = mask.filter(ImageFilter.MaxFilter(2 * min(width, 6) + 1))
        for _ in range(max(0, width - 6) // 3):
            grown = grown.filter(ImageFilter.MaxFilter(7))
        add(_outline_colour(theme), grown, 1.0, (0, 0))
    elif style == "glow":
        add(theme.colors.accent, mask.filter(ImageFilter.GaussianBlur(em * 0.18)), 1.6, (0, 0))
        add(theme.colors.accent, mask.filter(ImageFilter.GaussianBlur(em * 0.05)), 1.2, (0, 0))
    tight = mask.filter(ImageFilter.GaussianBlur(max(1.0, em * 0.025)))
    wide = mask.filter(ImageFilter.GaussianBlur(max(2.0, em * 0.12)))
    add(shade, wide, 0.55 if text_is_light else 0.45, (0, round(em * 0.04)))
    add(shade, tight, 0.6 if text_is_light else 0.4, (0, max(1, round(em * 0.02))))
    return layer, (x0, y0)


def _outline_colour(theme: Theme) -> str:
    text_light = luminance(theme.colors.text) > 0.4
    background_light = luminance(theme.colors.background) > 0.4
    if text_light != background_light:
        return theme.colors.background
    return "#000000" if text_light else "#ffffff"


__all__ = ["draw_background", "draw_card", "draw_card_region", "text_box"]
