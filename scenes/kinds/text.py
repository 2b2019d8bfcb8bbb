from typing import Annotated, Literal

from pydantic import Field, model_validator

from scenes.base import MAX_BULLETS, LongText, SceneBase, ShortText, example
from scenes.card import Card, CardBlock, card_of


class TextScene(SceneBase):
    """A heading with a paragraph and/or bullet points."""

    model_config = example(
        type="text", title="Why Orbit", bullets=["40 grind settings", "Whisper-quiet"], duration=2
    )

    type: Literal["text"]
    title: ShortText | None = None
    body: LongText | None = None
    bullets: Annotated[list[ShortText], Field(max_length=MAX_BULLETS)] | None = None

    @model_validator(mode="after")
    def _has_text(self) -> "TextScene":
        if not (self.title or self.body or self.bullets):
            raise ValueError("needs at least one of title, body, bullets")
        return self

    def card(self) -> Card | None:
        bullets = [
            CardBlock("bullets", bullet, "body", "body", "text", 3,
                      gap_before=0.7 if i == 0 else 0.35, greedy_wrap=True, bullet=True)
            for i, bullet in enumerate(self.bullets or [])
        ]  # fmt: skip
        return card_of(
            CardBlock("title", self.title, "title", "heading", "text", 3, keeps_size=True,
                      accent_rule=True),
            CardBlock("body", self.body, "body", "body", "text", 22, gap_before=0.7,
                      greedy_wrap=True),
            *bullets,
        )  # fmt: skip
