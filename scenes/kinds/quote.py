from typing import Literal

from scenes.base import LongText, SceneBase, ShortText


class QuoteScene(SceneBase):
    """A quotation set large, with its author underneath."""

    type: Literal["quote"]
    text: LongText
    author: ShortText | None = None

    def text_fields(self) -> dict[str, str | list[str]]:
        return {k: v for k, v in {"text": self.text, "author": self.author}.items() if v}
