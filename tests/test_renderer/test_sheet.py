"""The contact sheet: one tile per theme, each showing the theme's own background."""

from __future__ import annotations

import numpy as np
from PIL import Image

from renderer.sheet import MAX_COLUMNS, SHEET_BACKGROUND, contact_sheet
from themes import list_themes, load_theme, rgb

TILE = (90, 160)


def tile_origins(count: int, tile: tuple[int, int]) -> list[tuple[int, int]]:
    width, height = tile
    label_h = max(36, round(height * 0.12))
    gap = max(8, width // 20)
    columns = min(MAX_COLUMNS, count)
    return [
        (gap + (i % columns) * (width + gap), gap + (i // columns) * (height + label_h + gap))
        for i in range(count)
    ]


def test_one_tile_per_theme_including_operator_themes(theme_dir, tmp_path):
    directory = theme_dir(
        "zz-brand", 'extends = "default"\nbackground = "solid"\n[colors]\nbackground = "#00ff7f"\n'
    )
    names = list_themes([directory])
    out = contact_sheet([directory], tmp_path / "sheets" / "themes.png", tile=TILE)
    assert out == tmp_path / "sheets" / "themes.png"
    with Image.open(out) as sheet:
        image = np.asarray(sheet.convert("RGB")).astype(int)
    origins = tile_origins(len(names), TILE)
    columns = min(MAX_COLUMNS, len(names))
    rows = -(-len(names) // columns)
    # The sheet holds exactly that grid, and nothing lies past it.
    last_x, last_y = origins[columns - 1][0] + TILE[0], origins[-1][1] + TILE[1]
    assert image.shape[1] >= last_x and image.shape[0] >= last_y
    assert image.shape[0] < last_y + TILE[1] // 2 + 40
    assert len({y for _, y in origins}) == rows
    for name, (x, y) in zip(names, origins, strict=True):
        theme = load_theme(name, [directory])
        # The top of each tile shows that theme's background (text sits lower; the median
        # ignores snowflakes and sparkles, the tolerance a vignette's shade).
        top = np.median(image[y + 2 : y + 8, x + TILE[0] // 4 : x + 3 * TILE[0] // 4], axis=(0, 1))
        ends = np.array([rgb(theme.colors.background), rgb(theme.colors.background2)])
        assert (top >= ends.min(axis=0) - 40).all() and (top <= ends.max(axis=0) + 40).all(), name
        # The tile has text on it: it is not a flat fill.
        tile = image[y : y + TILE[1], x : x + TILE[0]]
        assert tile.std() > 5, name
    # The operator's theme is on the sheet with its own colour.
    x, y = origins[names.index("zz-brand")]
    assert tuple(image[y + 2, x + 2]) == (0, 255, 127)
    # Empty slots in the last row are sheet background.
    if len(names) % columns:
        empty_x = origins[len(names) % columns][0]
        assert tuple(image[origins[-1][1] + 5, empty_x + 5]) == SHEET_BACKGROUND


def test_sheet_is_written_atomically(tmp_path):
    out = contact_sheet([], tmp_path / "sheet.png", tile=TILE)
    assert [p.name for p in tmp_path.iterdir()] == ["sheet.png"]
    with Image.open(out) as image:
        assert image.format == "PNG"
