from typing import Literal

from scenes.base import SceneBase, ShortText, example
from scenes.card import Card, CardBlock, card_of


class TitleScene(SceneBase):
    """A big centred title over the theme's background, with an optional subtitle."""

    model_config = example(
        type="title", title="Meet Orbit", subtitle="The grinder that listens", duration=2
    )

    type: Literal["title"]
    title: ShortText
    subtitle: ShortText | None = None

    def card(self) -> Card | None:
        return card_of(
            CardBlock("title", self.title, "title", "title", "text", 4, keeps_size=True,
                      accent_rule=True),
            CardBlock("subtitle", self.subtitle, "body", "subtitle", "muted", 3, gap_before=0.5),
        )  # fmt: skip
