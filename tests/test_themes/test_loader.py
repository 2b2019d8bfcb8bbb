"""Theme files: built-ins, operator dirs, `extends`, validation messages, caching."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import themes
from themes import Theme, ThemeError, ThemeNotFound, list_themes, load_theme

BUILTINS = ("default", "winter", "bold", "minimal", "neon", "sunset", "editorial")


def test_builtins_are_listed_and_load():
    names = list_themes()
    assert set(BUILTINS) <= set(names)
    for name in names:
        theme = load_theme(name)
        assert isinstance(theme, Theme)
        assert theme.name == name
        assert theme.description
        assert theme.source.endswith(f"{name}.toml")


def test_builtins_look_clearly_different():
    loaded = [load_theme(name) for name in BUILTINS]
    # Each theme has its own palette and its own mix of font, transition, animation, effect.
    assert len({(t.colors.background, t.colors.accent) for t in loaded}) == len(loaded)
    mixes = {
        (t.fonts.title.family, t.transition.type, t.text_animation, t.effect, t.background)
        for t in loaded
    }
    assert len(mixes) == len(loaded)
    assert len({t.fonts.title.family for t in loaded}) >= 5
    assert len({t.transition.type for t in loaded}) >= 6
    assert len({t.effect for t in loaded}) >= 5
    assert {t.background for t in loaded} == {"solid", "gradient", "blur"}
    assert {t.text_animation for t in loaded} == {"none", "fade", "slide-up", "pop"}
    assert load_theme("winter").effect == "snow"


def test_unknown_theme_lists_the_available_ones():
    with pytest.raises(ThemeNotFound) as caught:
        load_theme("no-such-theme")
    message = str(caught.value)
    assert message.startswith("unknown theme 'no-such-theme' (available: ")
    for name in BUILTINS:
        assert name in message
    assert isinstance(caught.value, ThemeError)
    assert isinstance(caught.value, ValueError)


def test_extends_deep_merges_tables(theme_dir):
    directory = theme_dir(
        "brand",
        """
        extends = "winter"
        description = "Our brand"
        [colors]
        accent = "#FF0000"
        [fonts.title]
        weight = 500
        [transition]
        duration = 1.2
        """,
    )
    brand, winter = load_theme("brand", [directory]), load_theme("winter")
    assert brand.description == "Our brand"
    assert brand.colors.accent == "#ff0000"  # normalised to lower case
    # Sibling keys of every overridden table come from the parent, not the defaults.
    assert brand.colors.background == winter.colors.background
    assert brand.colors.text == winter.colors.text
    assert brand.fonts.title.family == winter.fonts.title.family == "montserrat"
    assert brand.fonts.title.weight == 500
    assert brand.transition.type == winter.transition.type == "dissolve"
    assert brand.transition.duration == 1.2
    assert brand.effect == "snow"
    assert "brand" in list_themes([directory])


def test_extends_through_several_levels_and_into_operator_dirs(theme_dir):
    theme_dir("base", 'extends = "bold"\n[colors]\ntext = "#010203"\n')
    directory = theme_dir("child", 'extends = "base"\n[colors]\nmuted = "#040506"\n')
    child = load_theme("child", [directory])
    assert child.colors.text == "#010203"
    assert child.colors.muted == "#040506"
    assert child.fonts.title.family == "bebas-neue"


def test_extends_cycle_is_refused(theme_dir):
    theme_dir("alpha", 'extends = "beta"\n')
    directory = theme_dir("beta", 'extends = "alpha"\n')
    with pytest.raises(ThemeError, match=r"extends: cycle alpha → beta → alpha"):
        load_theme("alpha", [directory])
    self_loop = theme_dir("gamma", 'extends = "gamma"\n')
    with pytest.raises(ThemeError, match="unknown theme 'gamma'"):
        load_theme("gamma", [self_loop])


def test_operator_theme_overrides_a_builtin_and_may_extend_it(theme_dir):
    directory = theme_dir("default", 'extends = "default"\n[colors]\naccent = "#00ff00"\n')
    theme = load_theme("default", [directory])
    assert theme.colors.accent == "#00ff00"
    assert theme.colors.background == load_theme("default").colors.background
    assert theme.source == str((directory / "default.toml").resolve())


@pytest.mark.parametrize(
    ("text", "key", "wording"),
    [
        ('[colors]\ntext = "red"\n', "colors.text", "hex colour"),
        ('effect = "fireworks"\n', "effect", "'snow'"),
        ('[transition]\ntype = "spin"\n', "transition.type", "'fade'"),
        ("[sizes]\ntitle = 2\n", "sizes.title", "less than or equal"),
        ('[colours]\ntext = "#ffffff"\n', "colours", "unknown key"),
        ('[layout]\nalign = "justify"\n', "layout.align", "'center'"),
        ('[fonts.title]\nfamily = "comic-sans"\n', "fonts.title.family", "unknown font"),
        ('extends = "nowhere"\n', "extends", "unknown theme 'nowhere'"),
        ('extends = "../builtin/default"\n', "extends", "must be a theme name"),
        ("name = 'x'\n", "name", "not a theme setting"),
        ("this is = = not toml\n", "not valid TOML", ""),
        ('[captions]\nfamily = "comic"\n', "captions.family", "unknown font 'comic'"),
        ('[captions]\nstyle = "wavy"\n', "captions.style", "karaoke"),
    ],
)
def test_bad_theme_file_names_file_and_key(theme_dir, text, key, wording):
    directory = theme_dir("broken", text)
    with pytest.raises(ThemeError) as caught:
        load_theme("broken", [directory])
    message = str(caught.value)
    assert str(directory / "broken.toml") in message
    assert key in message
    assert wording in message


def test_font_file_beside_the_theme_is_accepted(theme_dir):
    source = themes.fonts.family_path("oswald")
    assert source is not None
    directory = theme_dir("custom-font", '[fonts.title]\nfamily = "fonts/Display.ttf"\n')
    (directory / "fonts").mkdir()
    (directory / "fonts" / "Display.ttf").write_bytes(source.read_bytes())
    theme = load_theme("custom-font", [directory])
    assert theme.fonts.title.family == str((directory / "fonts" / "Display.ttf").resolve())


def test_missing_operator_dir_is_skipped(tmp_path):
    assert list_themes([tmp_path / "absent"]) == list_themes()


def test_loads_are_cached_until_a_file_changes(theme_dir):
    directory = theme_dir("cached", '[colors]\naccent = "#111111"\n')
    first = load_theme("cached", [directory])
    assert load_theme("cached", [directory]) is first
    path = directory / "cached.toml"
    path.write_text('[colors]\naccent = "#222222"\n', encoding="utf-8")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10_000_000))
    assert load_theme("cached", [directory]).colors.accent == "#222222"


def test_theme_is_hashable_and_frozen():
    theme = load_theme("default")
    assert hash(theme) == hash(load_theme("default"))
    with pytest.raises(AttributeError):
        theme.name = "other"  # type: ignore[misc]


def test_safe_area_follows_the_aspect_ratio():
    theme = load_theme("default")
    assert themes.aspect_class((1080, 1920)) == "tall"
    assert themes.aspect_class((1080, 1350)) == "portrait"
    assert themes.aspect_class((1080, 1080)) == "square"
    assert themes.aspect_class((1920, 1080)) == "landscape"
    assert theme.safe_areas.for_size((180, 320)) == theme.safe_areas.tall
    assert theme.safe_areas.tall.bottom > theme.safe_areas.square.bottom


def test_builtin_files_are_packaged():
    assert Path(themes.BUILTIN_DIR, "default.toml").is_file()
    assert len(list(Path(themes.BUILTIN_DIR).glob("*.toml"))) >= 6


def test_a_theme_sets_how_its_captions_look(theme_dir):
    directory = theme_dir(
        "subtitled", '[captions]\nstyle = "pop"\nfamily = "oswald"\nuppercase = true\n'
    )
    look = load_theme("subtitled", [directory]).captions
    assert (look.style, look.family, look.uppercase) == ("pop", "oswald", True)
    assert look.colour == "#ffffff" and look.highlight is None  # white; the accent lights
    assert load_theme("default").captions.style == "karaoke"
