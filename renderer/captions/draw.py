"""Caption pictures: one band-sized RGBA picture per distinct state of a page.

Each word is drawn once per colour into a tile of its own (its outline and a soft shadow
under it, for any photo behind), and a state's picture is those tiles put together: the lit
word in the highlight colour (karaoke, pop) or on a box of it (highlight), a popping word
scaled about its centre, subtitle lines (plain) on a translucent plate.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from renderer.captions.layout import Band, PlacedWord
from renderer.captions.timing import POP_FRAMES, PageState
from renderer.cards import on_colour
from renderer.ink import draw_runs
from themes import rgb

# A popping word starts this much larger and settles to its size over POP_FRAMES.
POP_GROWTH = 0.3
PLATE_OPACITY = 0.55


@dataclass(frozen=True)
class Colours:
    text: str
    highlight: str
    outline: str


@dataclass
class PagePainter:
    """Draws the states of one laid-out page; word tiles are kept between states."""

    words: list[PlacedWord]
    band: Band
    style: str
    colours: Colours
    raqm: bool
    _tiles: dict[tuple[int, str, bool], tuple[Image.Image, tuple[int, int]]] = field(
        default_factory=dict
    )
    _outlines: dict[int, Image.Image] = field(default_factory=dict)

    def draw(self, state: PageState) -> Image.Image:
        canvas = Image.new("RGBA", (self.band.width, self.band.height), (0, 0, 0, 0))
        if self.style == "plain":
            self._plates(canvas)
        for index in range(state.visible):
            lit = index == state.active
            if lit and self.style == "highlight":
                self._box(canvas, self.words[index])
            # A word on its highlight box needs no outline: the box keeps it readable.
            outlined = not (lit and self.style == "highlight")
            tile, origin = self._tile(index, self._colour(lit), outlined)
            if index == state.visible - 1 and state.pop_step is not None:
                tile, origin = _popped(tile, origin, state.pop_step)
            canvas.alpha_composite(tile, (max(0, origin[0]), max(0, origin[1])))
        return canvas

    def _colour(self, lit: bool) -> str:
        if not lit or self.style == "plain":
            return self.colours.text
        if self.style == "highlight":
            return on_colour(self.colours.highlight)
        return self.colours.highlight

    def _tile(self, index: int, colour: str, outlined: bool) -> tuple[Image.Image, tuple[int, int]]:
        key = (index, colour, outlined)
        if key not in self._tiles:
            self._tiles[key] = self._draw_tile(index, colour, outlined)
        return self._tiles[key]

    def _draw_tile(
        self, index: int, colour: str, outlined: bool
    ) -> tuple[Image.Image, tuple[int, int]]:
        word = self.words[index]
        margin = max(3, round(word.px * 0.16))
        x0, top, x1, bottom = word.box
        left, upper = int(x0) - margin, int(top) - margin
        size = (int(x1 - x0) + 2 * margin + 2, int(bottom - top) + 2 * margin + 2)
        ink = Image.new("RGBA", size, (0, 0, 0, 0))
        runs = [replace(run, x=run.x - left, baseline=run.baseline - upper, colour=colour)
                for run in word.runs]  # fmt: skip
        draw_runs(ink, runs, self.raqm)
        if not outlined:
            return ink, (left, upper)
        # Bold and high-contrast over any photo: an outline, and a shadow under it, the same
        # in every colour the word is drawn in.
        if index not in self._outlines:
            self._outlines[index] = self._outline(ink, word.px)
        tile = self._outlines[index].copy()
        tile.alpha_composite(ink)
        return tile, (left, upper)

    def _outline(self, ink: Image.Image, px: int) -> Image.Image:
        grown = Image.fromarray(
            _dilated(np.asarray(ink.getchannel("A")), max(1, round(px * 0.055)))
        )
        shadow = grown.filter(ImageFilter.GaussianBlur(max(1.0, px * 0.06)))
        layer = Image.new("RGBA", ink.size, (0, 0, 0, 0))
        _add(layer, self.colours.outline, shadow.point(lambda v: v * 6 // 10), (0, 2))
        _add(layer, self.colours.outline, grown, (0, 0))
        return layer

    def _box(self, canvas: Image.Image, word: PlacedWord) -> None:
        x0, top, x1, bottom = word.box
        pad = word.px * 0.14
        ImageDraw.Draw(canvas).rounded_rectangle(
            (x0 - pad, top, x1 + pad, bottom),
            radius=word.px * 0.18,
            fill=(*rgb(self.colours.highlight), 255),
        )

    def _plates(self, canvas: Image.Image) -> None:
        lines: dict[float, list[float]] = {}
        for word in self.words:
            x0, top, x1, bottom = word.box
            box = lines.setdefault(top, [x0, top, x1, bottom])
            box[0], box[2] = min(box[0], x0), max(box[2], x1)
        plate = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
        for x0, top, x1, bottom in lines.values():
            pad = (bottom - top) * 0.22
            ImageDraw.Draw(plate).rounded_rectangle(
                (x0 - pad, top - pad * 0.3, x1 + pad, bottom + pad * 0.3),
                radius=pad,
                fill=(0, 0, 0, round(255 * PLATE_OPACITY)),
            )
        canvas.alpha_composite(plate)


def _dilated(alpha: np.ndarray, radius: int) -> np.ndarray:
    """`alpha` grown by `radius` px in every direction (a square, as two passes of a line)."""
    grown = alpha.copy()
    for shift in range(1, radius + 1):
        np.maximum(grown[:, shift:], alpha[:, :-shift], out=grown[:, shift:])
        np.maximum(grown[:, :-shift], alpha[:, shift:], out=grown[:, :-shift])
    rows = grown.copy()
    for shift in range(1, radius + 1):
        np.maximum(grown[shift:], rows[:-shift], out=grown[shift:])
        np.maximum(grown[:-shift], rows[shift:], out=grown[:-shift])
    return grown


def _add(tile: Image.Image, colour: str, alpha: Image.Image, offset: tuple[int, int]) -> None:
    solid = Image.new("RGBA", tile.size, (*rgb(colour), 255))
    solid.putalpha(alpha)
    tile.alpha_composite(solid, offset)


def _popped(
    tile: Image.Image, origin: tuple[int, int], step: int
) -> tuple[Image.Image, tuple[int, int]]:
    """The tile grown about its centre for frame `step` of a pop, shrinking back to size."""
    scale = 1 + POP_GROWTH * (POP_FRAMES - 1 - step) / POP_FRAMES
    if scale <= 1:
        return tile, origin
    width, height = round(tile.width * scale), round(tile.height * scale)
    grown = tile.resize((width, height), Image.Resampling.BILINEAR)
    return grown, (origin[0] - (width - tile.width) // 2, origin[1] - (height - tile.height) // 2)
