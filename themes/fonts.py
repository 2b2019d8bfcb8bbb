"""Font families a theme may name, and where their files live.

Every family ships with a Python dependency (Noto from `manimgx_fonts` and
`cvttf_NotoSansCJK_Regular`, display faces from `fontpkg-*`), so a fresh install has them all.
A theme may also name a `.ttf`/`.otf` file of its own, relative to the theme file.

Colour emoji are the one exception: no Python package ships Noto Color Emoji, so it is taken from
the system (Debian's `fonts-noto-color-emoji`) where installed; without it emoji draw in
monochrome from Noto Emoji, which always ships.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import cache
from pathlib import Path


@dataclass(frozen=True)
class FontFile:
    """One font file inside an installed package."""

    package: str
    filename: str
    subdir: str = ""


FAMILIES: dict[str, FontFile] = {
    "noto-sans": FontFile("manimgx_fonts", "NotoSans[wght].ttf"),
    "noto-sans-italic": FontFile("manimgx_fonts", "NotoSans-Italic[wght].ttf"),
    "montserrat": FontFile("fontpkg_montserrat", "Montserrat[wght].ttf", "files"),
    "montserrat-italic": FontFile("fontpkg_montserrat", "Montserrat-Italic[wght].ttf", "files"),
    "playfair-display": FontFile("fontpkg_playfair_display", "PlayfairDisplay[wght].ttf", "files"),
    "playfair-display-italic": FontFile(
        "fontpkg_playfair_display", "PlayfairDisplay-Italic[wght].ttf", "files"
    ),
    "oswald": FontFile("fontpkg_oswald", "Oswald[wght].ttf", "files"),
    "bebas-neue": FontFile("fontpkg_bebas_neue", "BebasNeue-Regular.ttf", "files"),
    "pacifico": FontFile("fontpkg_pacifico", "Pacifico-Regular.ttf", "files"),
}

# Tried in order for every character the theme's own font lacks: Latin, Cyrillic and Greek
# first, then the scripts, then symbols; the emoji fonts come after them all (they also cover
# digits and ASCII, which must keep drawing from the text fonts).
FALLBACKS: tuple[FontFile, ...] = (
    FontFile("manimgx_fonts", "NotoSans[wght].ttf"),
    FontFile("manimgx_fonts", "NotoSansArabic[wght].ttf"),
    FontFile("manimgx_fonts", "NotoSansHebrew[wght].ttf"),
    FontFile("cvttf_NotoSansCJK_Regular", "NotoSansCJKtc-Regular.otf"),
    FontFile("manimgx_fonts", "NotoSansDevanagari[wght].ttf"),
    FontFile("manimgx_fonts", "NotoSansBengali[wght].ttf"),
    FontFile("manimgx_fonts", "NotoSansTamil[wght].ttf"),
    FontFile("manimgx_fonts", "NotoSansTelugu[wght].ttf"),
    FontFile("manimgx_fonts", "NotoSansKannada[wght].ttf"),
    FontFile("manimgx_fonts", "NotoSansMalayalam[wght].ttf"),
    FontFile("manimgx_fonts", "NotoSansGujarati[wght].ttf"),
    FontFile("manimgx_fonts", "NotoSansGurmukhi[wght].ttf"),
    FontFile("manimgx_fonts", "NotoSansOriya[wght].ttf"),
    FontFile("manimgx_fonts", "NotoSansSinhala[wght].ttf"),
    FontFile("manimgx_fonts", "NotoSansThai[wght].ttf"),
    FontFile("manimgx_fonts", "NotoSansLao[wght].ttf"),
    FontFile("manimgx_fonts", "NotoSansKhmer[wght].ttf"),
    FontFile("manimgx_fonts", "NotoSansMyanmar[wght].ttf"),
    FontFile("manimgx_fonts", "NotoSansGeorgian[wght].ttf"),
    FontFile("manimgx_fonts", "NotoSansArmenian[wght].ttf"),
    FontFile("manimgx_fonts", "NotoSansEthiopic[wght].ttf"),
    FontFile("manimgx_fonts", "NotoSansSymbols[wght].ttf"),
)

MONO_EMOJI = FontFile("manimgx_fonts", "NotoEmoji[wght].ttf")
# Where distributions install Noto Color Emoji (CBDT colour bitmaps): Debian and Ubuntu's
# fonts-noto-color-emoji, Arch's noto-fonts-emoji, Fedora's google-noto-color-emoji-fonts.
COLOUR_EMOJI_FILES: tuple[Path, ...] = (
    Path("/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf"),
    Path("/usr/share/fonts/noto/NotoColorEmoji.ttf"),
    Path("/usr/share/fonts/google-noto-color-emoji/NotoColorEmoji.ttf"),
)


@cache
def _package_dir(package: str) -> Path | None:
    # find_spec locates the package without importing it.
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent


def font_path(font: FontFile) -> Path | None:
    """The file on disk, or None when its package is not installed."""
    base = _package_dir(font.package)
    if base is None:
        return None
    path = base / font.subdir / font.filename if font.subdir else base / font.filename
    return path if path.is_file() else None


def family_path(family: str) -> Path | None:
    """A family name or an absolute font file path → the file, or None when unknown/missing."""
    if family in FAMILIES:
        return font_path(FAMILIES[family])
    path = Path(family)
    if path.is_absolute() and path.suffix.lower() in (".ttf", ".otf") and path.is_file():
        return path
    return None


def colour_emoji_path() -> Path | None:
    """The system's colour emoji font, or None when it is not installed."""
    return next((path for path in COLOUR_EMOJI_FILES if path.is_file()), None)


def emoji_paths() -> tuple[Path, ...]:
    """Installed emoji fonts, preferred first: colour, then the monochrome one."""
    found = (colour_emoji_path(), font_path(MONO_EMOJI))
    return tuple(path for path in found if path is not None)


def fallback_paths() -> tuple[Path, ...]:
    """Installed fallback fonts, in the order they are tried: the text fonts, then emoji."""
    text = tuple(p for p in (font_path(f) for f in FALLBACKS) if p is not None)
    return text + emoji_paths()
