"""A render's caption tracks made ready: sources read, pages timed, pictures drawn.

Returns what the graph overlays (`CaptionPictures` per track) and the cues of every page on
the video's timeline, which become the sidecar subtitles.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from renderer.assets import resolve
from renderer.captions.draw import Colours, PagePainter
from renderer.captions.layout import band_for, layout_page, track_style
from renderer.captions.timing import (
    DEFAULT_MAX_WORDS,
    Page,
    TimedWord,
    page_states,
    paginate,
    words_from_cues,
)
from renderer.fonts import has_raqm
from renderer.graph.sources import CaptionPictures
from renderer.plan import CaptionRequest, RenderPlan
from renderer.types import AssetPolicy, RenderError
from scenes.subtitles import Cue, SubtitleError, parse_srt, parse_vtt
from themes import Theme

# A subtitle file is text: anything larger is not one.
MAX_SUBTITLE_FILE_BYTES = 2 * 1024 * 1024
# Run-length TGA: a caption picture is written once and read once, by the same render, and
# is mostly clear, which run-length coding packs in half the time PNG's fastest level takes.
PICTURE = {"format": "TGA", "compression": "tga_rle"}


@dataclass(frozen=True)
class CaptionFiles:
    tracks: tuple[CaptionPictures, ...]
    cues: tuple[Cue, ...]  # every page, in time order, for the sidecars


def prepare_captions(
    plan: RenderPlan, theme: Theme, policy: AssetPolicy, tmp_dir: Path
) -> CaptionFiles:
    tracks = []
    cues: list[Cue] = []
    for number, request in enumerate(plan.captions):
        style = request.captions.style or theme.captions.style
        pages = _pages(plan, request, style, policy)
        cues += [Cue(p.first / plan.fps, (p.last + 1) / plan.fps, p.text) for p in pages]
        if pages:
            tracks.append(_draw_track(plan, theme, request, style, pages, tmp_dir / f"cc{number}"))
    cues.sort(key=lambda cue: (cue.start_s, cue.end_s))
    return CaptionFiles(tuple(tracks), tuple(cues))


def _pages(
    plan: RenderPlan, request: CaptionRequest, style: str, policy: AssetPolicy
) -> tuple[Page, ...]:
    captions = request.captions
    offset_s = request.first_frame / plan.fps
    whole_cues = False
    from_cues = not captions.words
    if captions.words:
        groups = [[TimedWord(w.text, offset_s + w.start, offset_s + w.end) for w in captions.words]]
    else:
        cues = captions.inline_cues()
        if cues is None:
            cues = _read_subtitles(request, policy, plan.fps)
        groups = words_from_cues(cues, offset_s)
        # Subtitle lines are shown as written; the word styles re-page them by words.
        whole_cues = style == "plain" and captions.max_words is None
    max_words = captions.max_words or DEFAULT_MAX_WORDS[style]
    return paginate(
        groups,
        fps=plan.fps,
        total_frames=request.end_frame,
        max_words=max_words,
        whole_groups=whole_cues,
        hold=not from_cues,
    )


def _read_subtitles(request: CaptionRequest, policy: AssetPolicy, fps: int) -> list[Cue]:
    field = f"{request.field}.src"
    src = request.captions.src
    assert src is not None
    path = resolve(src, field, policy)
    try:
        data = path.read_bytes()[: MAX_SUBTITLE_FILE_BYTES + 1]
    except OSError as exc:
        raise RenderError(f"cannot read the subtitles: {exc.strerror or exc}", field) from None
    if len(data) > MAX_SUBTITLE_FILE_BYTES:
        raise RenderError(f"over {MAX_SUBTITLE_FILE_BYTES} bytes: not a subtitle file", field)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise RenderError("subtitles must be UTF-8 text", field) from None
    try:
        cues = parse_vtt(text) if text.lstrip().startswith("WEBVTT") else parse_srt(text)
    except SubtitleError as exc:
        raise RenderError(str(exc), field) from None
    limit_s = (request.end_frame - request.first_frame) / fps
    late = [i for i, cue in enumerate(cues) if cue.end_s > limit_s + 5e-4]
    if late:
        what = "video" if request.field == "captions" else "scene"
        cue = cues[late[0]]
        raise RenderError(
            f"cue {late[0] + 1}: ends at {cue.end_s:g}s, past the end of the {what} ({limit_s:g}s)",
            field,
        )
    return cues


def _draw_track(
    plan: RenderPlan,
    theme: Theme,
    request: CaptionRequest,
    style: str,
    pages: tuple[Page, ...],
    prefix: Path,
) -> CaptionPictures:
    captions = request.captions
    max_lines = captions.max_lines or (1 if style == "pop" else 2)
    look = track_style(theme, plan.size, max_lines)
    band = band_for(theme, plan.size, look, captions.position or theme.captions.position)
    colours = Colours(
        theme.captions.colour,
        theme.captions.highlight or theme.colors.accent,
        theme.captions.outline,
    )
    blank = prefix.with_name(f"{prefix.name}-blank.tga")
    Image.new("RGBA", (band.width, band.height), (0, 0, 0, 0)).save(blank, **PICTURE)
    pictures = []
    for number, page in enumerate(pages):
        texts = [word.text for word in page.words]
        breaks = [word.breaks_line for word in page.words]
        placed = layout_page(texts, breaks, look, band)
        painter = PagePainter(placed, band, style, colours, has_raqm())
        drawn: dict[tuple[int, int | None, int | None], Path] = {}
        for state in page_states(page, style):
            if state.key not in drawn:
                path = prefix.with_name(f"{prefix.name}-{number:04d}-{len(drawn):03d}.tga")
                painter.draw(state).save(path, **PICTURE)
                drawn[state.key] = path
            pictures.append((state.first, state.last, drawn[state.key]))
    return CaptionPictures(band.x, band.y, blank, tuple(pictures))
