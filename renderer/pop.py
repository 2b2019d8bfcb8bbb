"""The geometry of a "pop" entrance: a card grows about its centre from 80 %, past its size
and back, fading in, over the entrance's frames (drawn by `renderer.graph.pop`).

Pillow draws the settled card once, on a transparent margin wide enough for its smallest
size (`PopIn.padded`); the graph scales that one picture to each frame's size and crops the
card's box out of its middle. The last frame is the picture at its own size, cropped at the
margin: exactly the settled card.
"""

from __future__ import annotations

from dataclasses import dataclass

# The entrance's geometry: the size it starts at, and how far past full size it goes.
POP_FROM = 0.8
POP_OVERSHOOT = 1.06
_EASE_BACK = 1.70158  # ease-out-back: past full size, then back, like a card popping in


@dataclass(frozen=True)
class PopIn:
    """The pop of a card of `size` (its settled picture's), over `frames` frames before the
    settled one; its picture is the card on a transparent `margin` (left and top; right and
    bottom also make the picture's sides even)."""

    frames: int
    size: tuple[int, int]

    @property
    def margin(self) -> tuple[int, int]:
        """Room for the card at POP_FROM of the picture to still cover the card's box."""
        width, height = self.size
        return _room(width), _room(height)

    @property
    def padded(self) -> tuple[int, int]:
        """The picture's size: the card, the margin each side, even."""
        (width, height), (mx, my) = self.size, self.margin
        return width + 2 * mx + width % 2, height + 2 * my + height % 2

    def scale(self, index: int) -> float:
        """How large the card is on frame `index` of the entrance (1 from `frames` on)."""
        if index >= self.frames:
            return 1.0
        t = index / self.frames - 1
        eased = 1 + (_EASE_BACK + 1) * t**3 + _EASE_BACK * t**2
        return min(POP_OVERSHOOT, POP_FROM + (1 - POP_FROM) * eased)

    def boxes(self) -> list[tuple[int, int, int, int]]:
        """Per frame (the settled one last): the picture's scaled size and where the card's
        box lies in it, (width, height, x, y), all even so chroma stays on its grid."""
        (width, height), (mx, my) = self.padded, self.margin
        boxes = []
        for index in range(self.frames + 1):
            scale = self.scale(index)
            w, h = 2 * round(width * scale / 2), 2 * round(height * scale / 2)
            x, y = (mx + (w - width) // 2) & ~1, (my + (h - height) // 2) & ~1
            boxes.append((w, h, x, y))
        return boxes


def _room(side: int) -> int:
    # Scaled to POP_FROM, a side padded by m each side still covers `side` if
    # (side + 2m) * POP_FROM >= side; even, with a pixel or two to spare for rounding.
    return 2 * (int(side * (1 / POP_FROM - 1) / 4) + 2)
