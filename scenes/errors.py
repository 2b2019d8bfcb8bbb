"""Validation errors with the path of the field at fault: `scenes[2].duration: must be > 0`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from scenes.spec import scene_kind_names

# A field path a check may name at the start of its message: `height`, `words[3].end`.
_FIELD_PATH = re.compile(r"[A-Za-z_]\w*(\[\d+\])*(\.[A-Za-z_]\w*(\[\d+\])*)*")


@dataclass(frozen=True)
class FieldError:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message

    def as_dict(self) -> dict[str, str]:
        return {"field": self.path, "message": self.message}


class SpecError(ValueError):
    """A spec that cannot be rendered; carries every problem found, each with its path."""

    def __init__(self, errors: list[FieldError]):
        self.errors = errors
        super().__init__("; ".join(str(e) for e in errors))


def format_path(loc: tuple[int | str, ...], prefix: str = "") -> str:
    path = prefix
    previous: int | str | None = None
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif isinstance(previous, int) and path.startswith(("scenes", f"{prefix}scenes")):
            # A discriminated union puts the scene's type into the location; users never
            # wrote that key, so it is left out: scenes[2].duration, not scenes[2].title.duration.
            if part in _scene_tags():
                previous = None
                continue
            path += f".{part}"
        else:
            path += f".{part}" if path else str(part)
        previous = part
    return path


def _scene_tags() -> set[str]:
    return set(scene_kind_names())


def _num(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _message(error: dict[str, Any]) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    match kind:
        case "missing":
            return "required"
        case "extra_forbidden":
            return "unknown field"
        case "greater_than":
            return f"must be > {_num(ctx['gt'])}"
        case "greater_than_equal":
            return f"must be >= {_num(ctx['ge'])}"
        case "less_than":
            return f"must be < {_num(ctx['lt'])}"
        case "less_than_equal":
            return f"must be <= {_num(ctx['le'])}"
        case "string_too_long":
            return f"must be at most {ctx['max_length']} characters"
        case "too_long":
            return f"must have at most {ctx['max_length']} items"
        case "too_short":
            return f"must have at least {ctx['min_length']} item(s)"
        case "string_pattern_mismatch":
            return "must be lower-case letters, digits, '-' or '_'"
        case "literal_error":
            return f"must be one of {ctx.get('expected', '')}"
        case "union_tag_invalid":
            return f"type must be one of {ctx.get('expected_tags', '')}"
        case "union_tag_not_found":
            return "type: required"
        case "int_type" | "int_parsing" | "int_from_float":
            return "must be a whole number"
        case "float_type" | "float_parsing":
            return "must be a number"
        case "string_type":
            return "must be a string"
        case "bool_type" | "bool_parsing":
            return "must be true or false"
        case "model_type" | "dict_type" | "model_attributes_type":
            return "must be an object"
        case "list_type":
            return "must be an array"
        case "value_error":
            return str(ctx.get("error", error["msg"]))
        case _:
            return error["msg"]


def from_validation_error(exc: ValidationError, prefix: str = "") -> SpecError:
    errors = []
    for error in exc.errors():
        path = format_path(tuple(error["loc"]), prefix)
        message = _message(error)
        # Whole-model checks name their own field ("height: required ..."): lift it into the path.
        if error["type"] == "value_error" and ": " in message:
            head, _, rest = message.partition(": ")
            if _FIELD_PATH.fullmatch(head):
                path = f"{path}.{head}" if path else head
                message = rest
        errors.append(FieldError(path, message))
    return SpecError(errors)
