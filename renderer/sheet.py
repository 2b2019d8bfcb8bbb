"""A contact sheet of every theme: its background, effect and a sample title card, named."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

from PIL import Image, ImageDraw

from renderer.effects import effect_frame
from renderer.fonts import has_raqm, load_font
from renderer.text import draw_background, draw_card
from scenes.kinds.title import TitleScene
from themes import list_themes, load_theme
from themes.fonts import FAMILIES, font_path

MAX_COLUMNS = 4
SHEET_BACKGROUND = (24, 24, 27)
SAMPLE = TitleScene(type="title", duration=3, title="Your story, told well", subtitle="Sample")


def contact_sheet(dirs: Sequence[Path], out: Path, *, tile: tuple[int, int] = (270, 480)) -> Path:
    """Draw one tile per theme (built-ins and those in `dirs`) in a grid; write a PNG to `out`."""
    names = list_themes(dirs)
    width, height = tile
    label_h = max(36, round(height * 0.12))
    gap = max(8, width // 20)
    columns = min(MAX_COLUMNS, len(names))
    rows = math.ceil(len(names) / columns)
    sheet = Image.new(
        "RGB",
        (gap + columns * (width + gap), gap + rows * (height + label_h + gap)),
        SHEET_BACKGROUND,
    )
    for index, name in enumerate(names):
        theme = load_theme(name, dirs)
        x = gap + (index % columns) * (width + gap)
        y = gap + (index // columns) * (height + label_h + gap)
        sheet.paste(_tile(theme, tile), (x, y))
        _label(sheet, (x, y + height), width, label_h, name, theme.description)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        sheet.save(tmp, format="PNG")
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


def _tile(theme, size: tuple[int, int]) -> Image.Image:
    frame = draw_background(theme, size).convert("RGBA")
    effect = effect_frame(theme, size, t=1.0)
    if effect is not None:
        frame.alpha_composite(effect)
    sample = SAMPLE.model_copy(update={"subtitle": theme.name.replace("-", " ").title()})
    card = draw_card(sample, theme, size)
    if card is not None:
        frame.alpha_composite(card)
    return frame.convert("RGB")


def _label(
    sheet: Image.Image, origin: tuple[int, int], width: int, height: int, name: str, about: str
) -> None:
    draw = ImageDraw.Draw(sheet)
    regular = str(font_path(FAMILIES["noto-sans"]))
    name_font = load_font(regular, max(10, round(height * 0.36)), 700, has_raqm())
    about_font = load_font(regular, max(8, round(height * 0.24)), 400, has_raqm())
    x, y = origin
    draw.text((x, y + height * 0.08), name, font=name_font, fill=(250, 250, 250))
    text = about
    while text and about_font.getlength(text) > width:
        text = text[:-2].rstrip() + "…"
    draw.text((x, y + height * 0.56), text, font=about_font, fill=(161, 161, 170))
