from typing import Literal

from scenes.base import LongText, SceneBase, ShortText, example
from scenes.card import Card, CardBlock, card_of


class QuoteScene(SceneBase):
    """A quotation set large, with its author underneath."""

    model_config = example(
        type="quote",
        text="Simplicity is the ultimate sophistication.",
        author="Leonardo da Vinci",
        duration=3,
    )

    type: Literal["quote"]
    text: LongText
    author: ShortText | None = None

    def card(self) -> Card | None:
        author = f"\u2014 {self.author}" if self.author else None
        return card_of(
            CardBlock("mark", "\u201c", "quote", "quote", "accent", 1, scale=2.4,
                      keeps_size=True, ornament=True),
            CardBlock("text", self.text, "quote", "quote", "text", 12),
            CardBlock("author", author, "body", "author", "muted", 2, gap_before=0.9),
        )  # fmt: skip
