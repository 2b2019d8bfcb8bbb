"""Themes: one TOML file each (palette, fonts, sizes, safe margins, background, transition,
text animation, overlay effect, music), `extends` for inheritance, operator dirs first.

    theme = themes.load_theme("winter", dirs=config.themes.dirs)   # raises ThemeNotFound
"""

from themes.loader import (
    BUILTIN_DIR,
    ThemeError,
    ThemeNotFound,
    deep_merge,
    list_themes,
    load_theme,
)
from themes.model import (
    CaptionLook,
    EffectParams,
    Fonts,
    FontSpec,
    Layout,
    Margins,
    Palette,
    SafeAreas,
    TextSizes,
    Theme,
    aspect_class,
    rgb,
)

__all__ = [
    "BUILTIN_DIR",
    "CaptionLook",
    "EffectParams",
    "FontSpec",
    "Fonts",
    "Layout",
    "Margins",
    "Palette",
    "SafeAreas",
    "TextSizes",
    "Theme",
    "ThemeError",
    "ThemeNotFound",
    "aspect_class",
    "deep_merge",
    "list_themes",
    "load_theme",
    "rgb",
]
