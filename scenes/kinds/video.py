from typing import Literal

from pydantic import Field

from scenes.base import Fit, SceneBase, ShortText, Src, example
from scenes.card import Card, CardBlock, card_of
from scenes.visuals import ClipVisual, Visual


class VideoScene(SceneBase):
    """A video clip, trimmed from `start`, fitted to the frame; muted unless `muted` is false."""

    model_config = example(
        type="video", src="clips/pour.mp4", start=1, caption="Precision burrs", duration=2
    )

    type: Literal["video"]
    src: Src
    start: float = Field(default=0, ge=0, le=3600, description="seconds into the clip")
    fit: Fit = "cover"
    muted: bool = True
    volume: float = Field(default=1.0, ge=0, le=2)
    when_short: Literal["loop", "freeze"] = Field(
        default="loop",
        description="what to do when the clip is shorter than the scene: play it again from "
        "`start`, or hold its last frame",
    )
    caption: ShortText | None = None

    def card(self) -> Card | None:
        caption = CardBlock("caption", self.caption, "strong", "caption", "text", 3)
        return card_of(caption, placement="caption")

    def visual(self, field: str) -> Visual:
        return ClipVisual(
            self.src, f"{field}.src", self.start, self.fit, self.muted, self.volume, self.when_short
        )

    def media(self) -> dict[str, str]:
        return {"src": self.src, **super().media()}
