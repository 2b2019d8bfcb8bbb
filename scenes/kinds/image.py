from typing import Literal

from scenes.base import Fit, Motion, SceneBase, ShortText, Src


class ImageScene(SceneBase):
    """A photo filling the frame, with optional Ken Burns motion and a caption."""

    type: Literal["image"]
    src: Src
    motion: Motion = "zoom-in"
    fit: Fit = "cover"
    caption: ShortText | None = None

    def text_fields(self) -> dict[str, str | list[str]]:
        return {"caption": self.caption} if self.caption else {}

    def media_src(self) -> str | None:
        return self.src
