"""The render spec: a theme, a size, a list of scenes, audio and output settings."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BeforeValidator, Field, ValidationInfo, field_validator, model_validator

from scenes.base import Src, StrictModel, Transition
from scenes.captions import Captions, check_within
from scenes.kinds import SCENE_KINDS
from scenes.overlays import Overlays, check_overlay_times, overlay_sources

FORMATS: dict[str, tuple[int, int]] = {
    "reel": (1080, 1920),
    "story": (1080, 1920),
    "portrait": (1080, 1350),
    "square": (1080, 1080),
    "landscape": (1920, 1080),
}
Format = Literal["reel", "story", "portrait", "square", "landscape"]
Quality = Literal["draft", "standard", "high"]

MAX_SCENES = 100
DEFAULT_MAX_DURATION_S = 300.0


def _whole(value: Any) -> Any:
    # JSON has one number type: 1080.0 is the integer 1080 (as JSON Schema says), while
    # parse_spec's strict mode still refuses "1080" and 1080.5.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


Side = Annotated[int, Field(ge=16, le=3840), BeforeValidator(_whole)]
Scene = Annotated[Union[SCENE_KINDS], Field(discriminator="type")]  # noqa: UP007


class Audio(StrictModel):
    """A music bed (looped or cut to length, faded, ducked under speech) and a voiceover."""

    music: Src | None = None
    music_volume: float = Field(default=0.35, ge=0, le=1)
    voiceover: Src | None = None
    voiceover_volume: float = Field(default=1.0, ge=0, le=2)
    fade_in_s: float = Field(default=0.5, ge=0, le=10)
    fade_out_s: float = Field(default=1.0, ge=0, le=10)
    duck: bool = Field(default=True, description="lower the music while a voiceover speaks")


class Output(StrictModel):
    quality: Quality = "standard"


class Spec(StrictModel):
    """A whole video. Its length is exactly the sum of its scenes' durations."""

    theme: str = Field(default="default", pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    format: Format | None = None
    width: Side | None = None
    height: Side | None = None
    fps: Annotated[int, Field(ge=1, le=60), BeforeValidator(_whole)] = 30
    scenes: Annotated[list[Scene], Field(min_length=1, max_length=MAX_SCENES)]
    transition: Transition | None = Field(
        default=None, description="between every two scenes; else the theme's default"
    )
    audio: Audio | None = None
    captions: Captions | None = Field(
        default=None, description="a caption track; its times are on the video's timeline"
    )
    overlays: Overlays = Field(
        default_factory=list, description="logos, a progress bar, lower thirds over the picture"
    )
    output: Output = Output()

    @field_validator("width", "height")
    @classmethod
    def _even(cls, value: int | None) -> int | None:
        # H.264 in yuv420p needs even dimensions.
        if value is not None and value % 2:
            raise ValueError("must be even")
        return value

    @model_validator(mode="after")
    def _check_whole(self, info: ValidationInfo) -> Spec:
        if (self.width is None) != (self.height is None):
            missing = "height" if self.height is None else "width"
            raise ValueError(f"{missing}: required when the other dimension is given")
        limit = (info.context or {}).get("max_duration_s", DEFAULT_MAX_DURATION_S)
        total = self.duration_s
        if total > limit:
            raise ValueError(f"scenes: total duration {total:g}s is over the limit of {limit:g}s")
        self._check_caption_times()
        check_overlay_times(self.overlays, total)
        return self

    def _check_caption_times(self) -> None:
        """Inline caption words and cues must end within what they caption."""
        try:
            if self.captions is not None:
                check_within(self.captions, self.duration_s, "video")
        except ValueError as exc:
            raise ValueError(f"captions.{exc}") from None
        for i, scene in enumerate(self.scenes):
            try:
                if scene.captions is not None:
                    check_within(scene.captions, scene.duration, "scene")
            except ValueError as exc:
                raise ValueError(f"scenes[{i}].captions.{exc}") from None

    @property
    def size(self) -> tuple[int, int]:
        if self.width is not None and self.height is not None:
            return self.width, self.height
        return FORMATS[self.format or "reel"]

    @property
    def duration_s(self) -> float:
        return sum(scene.duration for scene in self.scenes)

    def transition_after(self, index: int, theme_default: Transition) -> Transition:
        """The transition from scene `index` into the next one, clamped to fit both scenes."""
        chosen = self.scenes[index].transition or self.transition or theme_default
        if index + 1 >= len(self.scenes) or chosen.type == "none":
            return Transition(type="none", duration=0)
        # A transition overlaps its neighbours: it may take at most half of either one, so
        # two transitions around a short scene never overlap each other.
        room = min(self.scenes[index].duration, self.scenes[index + 1].duration) / 2
        return Transition(type=chosen.type, duration=min(chosen.duration, room))

    def media_sources(self) -> list[tuple[str, str]]:
        """Every media source with the path of the field naming it, in scene order."""
        found: list[tuple[str, str]] = []
        for i, scene in enumerate(self.scenes):
            found.extend((f"scenes[{i}].{field}", src) for field, src in scene.media().items())
        if self.captions and self.captions.src:
            found.append(("captions.src", self.captions.src))
        if self.audio:
            for field in ("music", "voiceover"):
                value = getattr(self.audio, field)
                if value:
                    found.append((f"audio.{field}", value))
        found.extend(overlay_sources(self.overlays))
        return found


def scene_kind_names() -> list[str]:
    return [kind.model_fields["type"].annotation.__args__[0] for kind in SCENE_KINDS]


def json_schema() -> dict[str, Any]:
    schema = Spec.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Reelfarm render spec"
    return schema
