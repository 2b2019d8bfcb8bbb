from typing import Literal

from pydantic import Field

from scenes.base import Fit, SceneBase, ShortText, Src


class VideoScene(SceneBase):
    """A video clip, trimmed from `start`, fitted to the frame; muted unless `muted` is false."""

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

    def text_fields(self) -> dict[str, str | list[str]]:
        return {"caption": self.caption} if self.caption else {}

    def media_src(self) -> str | None:
        return self.src
