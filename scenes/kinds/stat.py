from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from scenes.base import SceneBase, ShortText, example
from scenes.card import Card, CardBlock, card_of


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value.strip()


# A figure is read at a glance: a number with its unit or sign ("40", "3x", "$1.2M", "98%").
Figure = Annotated[str, Field(max_length=24), AfterValidator(_not_blank)]


class StatScene(SceneBase):
    """A big number or short figure with what it counts, and an optional caption:
    "40" "grind settings", "3x" "faster"."""

    model_config = example(
        type="stat",
        value="40",
        label="grind settings",
        caption="from espresso to cold brew",
        duration=2,
    )

    type: Literal["stat"]
    value: Figure
    label: ShortText
    caption: ShortText | None = None

    def card(self) -> Card | None:
        return card_of(
            CardBlock("value", self.value, "title", "title", "accent", 2, scale=3.0,
                      keeps_size=True),
            CardBlock("label", self.label, "title", "heading", "text", 3, gap_before=0.2,
                      accent_rule=True),
            CardBlock("caption", self.caption, "body", "subtitle", "muted", 4, gap_before=0.6),
        )  # fmt: skip
