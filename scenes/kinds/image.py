from typing import Literal

from scenes.base import Fit, Motion, SceneBase, ShortText, Src, example
from scenes.card import Card, CardBlock, card_of
from scenes.visuals import StillVisual, Visual


class ImageScene(SceneBase):
    """A photo filling the frame, with optional Ken Burns motion and a caption."""

    model_config = example(
        type="image",
        src="photos/coffee.jpg",
        motion="zoom-in",
        caption="Fresh every morning",
        duration=2,
    )

    type: Literal["image"]
    src: Src
    motion: Motion = "zoom-in"
    fit: Fit = "cover"
    caption: ShortText | None = None

    def card(self) -> Card | None:
        caption = CardBlock("caption", self.caption, "strong", "caption", "text", 3)
        return card_of(caption, placement="caption")

    def visual(self, field: str) -> Visual:
        return StillVisual(self.src, f"{field}.src", self.motion, self.fit)

    def media(self) -> dict[str, str]:
        return {"src": self.src, **super().media()}
