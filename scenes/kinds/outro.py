from typing import Literal

from scenes.base import SceneBase, ShortText, example
from scenes.card import Card, CardBlock, card_of


class OutroScene(SceneBase):
    """The closing card: a title, a subtitle and a call to action (`text`, e.g. a URL)."""

    model_config = example(
        type="outro", title="Orbit", subtitle="Out now", text="orbit.example.com", duration=2
    )

    type: Literal["outro"]
    title: ShortText | None = None
    subtitle: ShortText | None = None
    text: ShortText | None = None

    def card(self) -> Card | None:
        return card_of(
            CardBlock("title", self.title, "title", "title", "text", 4, scale=0.85,
                      keeps_size=True, accent_rule=True),
            CardBlock("subtitle", self.subtitle, "body", "subtitle", "muted", 3, gap_before=0.5),
            # The call to action sits on a pill in the accent colour.
            CardBlock("text", self.text, "strong", "subtitle", "on_accent", 2, gap_before=1.1,
                      pill=True),
        )  # fmt: skip
