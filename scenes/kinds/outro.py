from typing import Literal

from scenes.base import SceneBase, ShortText


class OutroScene(SceneBase):
    """The closing card: a title, a subtitle and a call to action (`text`, e.g. a URL)."""

    type: Literal["outro"]
    title: ShortText | None = None
    subtitle: ShortText | None = None
    text: ShortText | None = None

    def text_fields(self) -> dict[str, str | list[str]]:
        fields = {"title": self.title, "subtitle": self.subtitle, "text": self.text}
        return {k: v for k, v in fields.items() if v}
