"""Field types every part of the spec shares: media sources, bounded text, strict models."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

# Bounds that keep one request from costing unbounded memory or time. A title is
# a line, a body a paragraph, a data: URI a small photo.
MAX_SHORT_TEXT = 200
MAX_LONG_TEXT = 1_000
MAX_SRC_CHARS = 16 * 1024 * 1024


def _check_src(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("must not be empty")
    scheme = value.split(":", 1)[0].lower() if ":" in value[:12] else ""
    if scheme and scheme not in ("http", "https", "data", "file") and len(scheme) > 1:
        raise ValueError("must be a path, a data: URI or an http(s) URL")
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


# A media source: a local path (checked against [assets] allowed_dirs when rendered by the
# server), a data: URI, or an http(s) URL fetched with size and time limits.
Src = Annotated[str, Field(max_length=MAX_SRC_CHARS), AfterValidator(_check_src)]
ShortText = Annotated[str, Field(max_length=MAX_SHORT_TEXT)]
LongText = Annotated[str, Field(max_length=MAX_LONG_TEXT)]


class StrictModel(BaseModel):
    """Unknown fields are errors: a typo (`titel`) is reported, not silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)
