"""The brand overlays' pictures, prepared once by Pillow before the graph is built.

A logo is fetched under the render's asset policy, resized to its box and given its opacity
here, once, so the graph only overlays a small picture that is already right. A lower third
is laid out and drawn as a scene's caption card is (the same fonts, scripts, emoji, plate and
text style), cropped to its ink; a "pop" entrance is drawn as pictures, ending on the settled
one. A progress bar needs no file: the graph makes it from a colour.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

import themes
from renderer import text
from renderer.assets import resolve
from renderer.card_files import PNG_LEVEL, SLIDE_FRACTION, crop_to_ink, pop_picture
from renderer.overlay_plan import LogoPlan, LowerThirdPlan, OverlayPicture
from renderer.plan import RenderPlan
from renderer.types import AssetError, AssetPolicy, RenderError

# Pillow refuses pictures past this many pixels: a logo has no business being a poster.
MAX_LOGO_PIXELS = 40_000_000


def prepare_overlays(
    plan: RenderPlan, theme: themes.Theme, policy: AssetPolicy, tmp_dir: Path
) -> tuple[OverlayPicture, ...]:
    """Every picture the plan's overlays show, in plan order (a bar has none)."""
    pictures: list[OverlayPicture] = []
    for index, overlay in enumerate(plan.overlays):
        if isinstance(overlay, LogoPlan):
            pictures.append(_logo(index, overlay, policy, tmp_dir))
        elif isinstance(overlay, LowerThirdPlan):
            drawn = _lower_third(index, overlay, plan, theme, tmp_dir)
            if drawn is not None:
                pictures.append(drawn)
    return tuple(pictures)


def _logo(index: int, logo: LogoPlan, policy: AssetPolicy, tmp_dir: Path) -> OverlayPicture:
    field = f"{logo.field}.src"
    source = resolve(logo.src, field, policy)
    try:
        with Image.open(source) as opened:
            if opened.width * opened.height > MAX_LOGO_PIXELS:
                raise AssetError(f"is {opened.width}x{opened.height}: too large for a logo", field)
            # Photos from cameras stand the way their EXIF says; PNG logos are untouched.
            picture = ImageOps.exif_transpose(opened).convert("RGBA")
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise AssetError(f"not an image: {exc}", field) from None
    height = max(2, 2 * round(logo.width * picture.height / picture.width / 2))
    # Pillow resizes RGBA premultiplied: no dark fringe where the logo fades out.
    picture = picture.resize((logo.width, height), Image.Resampling.LANCZOS)
    if logo.opacity < 1:
        alpha = picture.getchannel("A").point(lambda value: round(value * logo.opacity))
        picture.putalpha(alpha)
    path = tmp_dir / f"overlay-{index}.png"
    picture.save(path, compress_level=PNG_LEVEL)
    x, y = logo.origin(height)
    return OverlayPicture(index, path, x, y)


def _lower_third(
    index: int, plate: LowerThirdPlan, plan: RenderPlan, theme: themes.Theme, tmp_dir: Path
) -> OverlayPicture | None:
    """The plate cropped to its ink (on the pop's margin when it pops), as one picture."""
    try:
        drawn = text.draw_card_region(plate.overlay, theme, plan.size)  # type: ignore[arg-type]
    except (OSError, ValueError) as exc:
        raise RenderError(f"cannot draw the text: {exc}", plate.field) from None
    if drawn is None:
        return None
    pops = plate.animation == "pop" and plate.enter_frames > 0
    cropped = crop_to_ink(*drawn, plan.size, pops)
    if cropped is None:
        return None
    picture, x0, y0 = cropped
    pop = None
    if pops:
        picture, pop = pop_picture(picture, plate.enter_frames)
    path = tmp_dir / f"overlay-{index}.png"
    picture.save(path, compress_level=PNG_LEVEL)
    slide = round(SLIDE_FRACTION * plan.size[1]) if plate.animation == "slide-up" else 0
    return OverlayPicture(index, path, x0, y0, slide_px=slide, pop=pop)
