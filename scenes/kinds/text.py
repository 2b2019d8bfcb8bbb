from typing import Annotated, Literal

from pydantic import Field, model_validator

from scenes.base import MAX_BULLETS, LongText, SceneBase, ShortText


class TextScene(SceneBase):
    """A heading with a paragraph and/or bullet points."""

    type: Literal["text"]
    title: ShortText | None = None
    body: LongText | None = None
    bullets: Annotated[list[ShortText], Field(max_length=MAX_BULLETS)] | None = None

    @model_validator(mode="after")
    def _has_text(self) -> "TextScene":
        if not (self.title or self.body or self.bullets):
            raise ValueError("needs at least one of title, body, bullets")
        return self

    def text_fields(self) -> dict[str, str | list[str]]:
        fields = {"title": self.title, "body": self.body, "bullets": self.bullets}
        return {k: v for k, v in fields.items() if v}
