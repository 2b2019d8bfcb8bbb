from typing import Literal

from scenes.base import SceneBase, ShortText


class TitleScene(SceneBase):
    """A big centred title over the theme's background, with an optional subtitle."""

    type: Literal["title"]
    title: ShortText
    subtitle: ShortText | None = None

    def text_fields(self) -> dict[str, str | list[str]]:
        return {k: v for k, v in {"title": self.title, "subtitle": self.subtitle}.items() if v}
