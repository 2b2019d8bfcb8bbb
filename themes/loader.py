"""Finding, reading, merging (`extends`) and validating theme files."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from themes.fonts import FAMILIES, family_path
from themes.model import Theme

BUILTIN_DIR = Path(__file__).resolve().parent / "builtin"
# The spec's `theme` field accepts the same names; nothing else can reach the file system.
THEME_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
MAX_THEME_BYTES = 64 * 1024
MAX_EXTENDS_DEPTH = 8

_THEME = TypeAdapter(Theme)


class ThemeError(ValueError):
    """A theme file that cannot be used; the message names the file and the key."""


class ThemeNotFound(ThemeError):
    """No theme of that name in the operator dirs or the built-ins."""

    def __init__(self, name: str, available: Sequence[str]):
        self.name = name
        self.available = list(available)
        super().__init__(f"unknown theme {name!r} (available: {', '.join(self.available)})")


def search_path(dirs: Sequence[Path]) -> tuple[Path, ...]:
    """Operator dirs first (their themes override built-ins of the same name), then built-ins."""
    return (*(Path(d) for d in dirs), BUILTIN_DIR)


def _theme_files(dirs: Sequence[Path]) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for directory in search_path(dirs):
        if not directory.is_dir():  # a configured dir that does not exist holds no themes
            continue
        for path in sorted(directory.glob("*.toml")):
            found.setdefault(path.stem, path.resolve())
    return found


def list_themes(dirs: Sequence[Path] = ()) -> list[str]:
    """Every theme name available, sorted."""
    return sorted(_theme_files(dirs))


def load_theme(name: str, dirs: Sequence[Path] = ()) -> Theme:
    """The theme `name`, searched in `dirs` then the built-ins, with `extends` merged in.

    Cached per (name, dirs) and the files' modification times, so an edited file is re-read.
    """
    directories = tuple(Path(d).resolve() for d in dirs)
    files = _theme_files(directories)
    stamp = tuple(sorted((str(p), p.stat().st_mtime_ns) for p in files.values()))
    return _load_cached(name, directories, stamp)


@lru_cache(maxsize=64)
def _load_cached(name: str, dirs: tuple[Path, ...], _stamp: tuple[tuple[str, int], ...]) -> Theme:
    files = _theme_files(dirs)
    if name not in files:
        raise ThemeNotFound(name, sorted(files))
    path = files[name]
    merged = _resolve(path, dirs, chain=())
    return _validate(name, path, merged)


def _resolve(path: Path, dirs: tuple[Path, ...], chain: tuple[Path, ...]) -> dict[str, Any]:
    """The file's table with its `extends` parent deep-merged underneath it."""
    if path in chain:
        names = " → ".join(p.stem for p in (*chain, path))
        raise ThemeError(f"{chain[0]}: extends: cycle {names}")
    if len(chain) >= MAX_EXTENDS_DEPTH:
        raise ThemeError(f"{chain[0]}: extends: more than {MAX_EXTENDS_DEPTH} levels")
    data = _read(path)
    _make_font_paths_absolute(data, path)
    parent = data.pop("extends", None)
    if parent is None:
        return data
    if not isinstance(parent, str) or not THEME_NAME.match(parent):
        raise ThemeError(f"{path}: extends: must be a theme name like 'default', not {parent!r}")
    parent_path = _find_parent(parent, path, dirs)
    if parent_path is None:
        available = ", ".join(list_themes(dirs))
        raise ThemeError(f"{path}: extends: unknown theme {parent!r} (available: {available})")
    return deep_merge(_resolve(parent_path, dirs, (*chain, path)), data)


def _find_parent(name: str, child: Path, dirs: tuple[Path, ...]) -> Path | None:
    # A theme that extends its own name (an operator's `default.toml` with
    # `extends = "default"`) means the one it shadows: search only the dirs after its own.
    directories = [d.resolve() for d in search_path(dirs)]
    if name == child.stem and child.parent in directories:
        directories = directories[directories.index(child.parent) + 1 :]
    for directory in directories:
        candidate = directory / f"{name}.toml"
        if candidate.is_file():
            return candidate.resolve()
    return None


def _read(path: Path) -> dict[str, Any]:
    try:
        size = path.stat().st_size
        if size > MAX_THEME_BYTES:
            raise ThemeError(f"{path}: too large ({size} bytes, limit {MAX_THEME_BYTES})")
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ThemeError(f"{path}: not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ThemeError(f"{path}: cannot read: {exc}") from None


def _make_font_paths_absolute(data: dict[str, Any], path: Path) -> None:
    # A family that is not a known name is a font file relative to the theme file that names
    # it; resolve it now, before a child theme in another dir inherits it.
    fonts = data.get("fonts")
    if not isinstance(fonts, dict):
        return
    for role, spec in fonts.items():
        if not isinstance(spec, dict) or not isinstance(spec.get("family"), str):
            continue
        family = spec["family"]
        if family in FAMILIES:
            continue
        candidate = (path.parent / family).resolve()
        if family_path(str(candidate)) is None:
            known = ", ".join(sorted(FAMILIES))
            raise ThemeError(
                f"{path}: fonts.{role}.family: unknown font {family!r} "
                f"(a .ttf/.otf file beside the theme, or one of: {known})"
            )
        spec["family"] = str(candidate)


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Tables merge key by key, recursively; any other value in `override` replaces the base's."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _validate(name: str, path: Path, data: dict[str, Any]) -> Theme:
    if "name" in data or "source" in data:
        key = "name" if "name" in data else "source"
        raise ThemeError(f"{path}: {key}: not a theme setting (the name is the file's name)")
    try:
        return _THEME.validate_python({**data, "name": name, "source": str(path)})
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            key = ".".join(str(part) for part in error["loc"]) or "(top level)"
            message = error["msg"].removeprefix("Value error, ")
            if message == "Unexpected keyword argument":
                message = "unknown key"
            problems.append(f"{path}: {key}: {message}")
        raise ThemeError("; ".join(problems)) from None
