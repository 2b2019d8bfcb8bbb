"""Card layout: a scene kind's text card (`scenes.card.Card`) in a theme's styles, wrapped,
fitted and placed for one frame size; `renderer.text` draws the result."""

from renderer.cards.layout import layout_card
from renderer.cards.model import Box, CardLayout, PlacedRun, Shape, Size
from renderer.cards.place import luminance, on_colour

__all__ = [
    "Box",
    "CardLayout",
    "PlacedRun",
    "Shape",
    "Size",
    "layout_card",
    "luminance",
    "on_colour",
]
