"""The spec model: scene kinds, validation with field paths, JSON Schema.

spec = scenes.parse_spec(data, max_duration_s=300)   # raises SpecError
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from scenes.base import TRANSITION_TYPES, SceneBase, Transition
from scenes.errors import FieldError, SpecError, from_validation_error
from scenes.kinds import SCENE_KINDS
from scenes.spec import DEFAULT_MAX_DURATION_S, FORMATS, Audio, Spec, json_schema, scene_kind_names


def parse_spec(data: Any, *, max_duration_s: float = DEFAULT_MAX_DURATION_S) -> Spec:
    """Validate client JSON into a typed Spec; every problem is reported with its path."""
    if not isinstance(data, dict):
        raise SpecError([FieldError("", "the spec must be a JSON object")])
    try:
        # Strict: a value must have the JSON type the schema names (`0` is not `false`, "30" is
        # not 30), so nothing its published JSON Schema forbids is accepted.
        return Spec.model_validate(data, strict=True, context={"max_duration_s": max_duration_s})
    except ValidationError as exc:
        raise from_validation_error(exc) from None


__all__ = [
    "DEFAULT_MAX_DURATION_S",
    "FORMATS",
    "SCENE_KINDS",
    "TRANSITION_TYPES",
    "Audio",
    "FieldError",
    "SceneBase",
    "Spec",
    "SpecError",
    "Transition",
    "json_schema",
    "parse_spec",
    "scene_kind_names",
]
