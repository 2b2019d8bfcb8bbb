"""RenderPlan → one FFmpeg command: every scene, card, transition, effect and sound in a single
filtergraph, built with ffmpeg-python.

Speed comes from doing per-frame work only where something moves:
- a photo is decoded, fitted (cover or contain, lanczos) and converted to yuv420p once, then
  repeated by `loop` as references to that one frame;
- Ken Burns motion is exact and cheap: a pan is a `crop` moving a whole number of pixels per
  frame (no resampling at all); a zoom is a `scale` to an even size that grows by 2 px
  steps, centre-cropped, so the centre never shakes the way zoompan's rounding does; a
  photo smaller than the frame is zoomed straight from the part of it that shows;
- a text card is drawn once by Pillow, cropped to its ink, and overlaid only on its box;
- the theme background is one frame repeated;
- a transition blends only the frames it covers (see `_join`); a fade is a `blend` whose
  opacity steps down per frame, a fifth of xfade's cost; and the poster is taken from the
  frames as they pass.

Two FFmpeg behaviours shape the graph, each with a test that fails if it comes back: a file
given as an FFmpeg input is pushed into the graph before anything asks for it, and filters
that sync two inputs (overlay, blend) then pull the neighbouring scene early, whose frames
pile up in memory, so pictures are `movie` sources the graph reads on demand; and an output
branch that never ends (select) keeps the graph running for it, so the poster branch is a trim.
"""

from __future__ import annotations

import math
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ffmpeg

from renderer.audio import AudioSources, build_audio, clip_sound
from renderer.plan import ClipVisual, RenderPlan, ScenePlan, StillVisual, TextLayer, ThemeVisual
from renderer.probe import MediaInfo

Stream = Any  # an ffmpeg-python stream; the library has no type hints

# How far a Ken Burns move travels, as a fraction of the frame.
MOTION_TRAVEL = 0.15
# Zooms scale straight from a small photo's visible part only when it has this many pixels
# a side; a smaller one is fitted to the frame first, so zooming it resamples a real picture.
MIN_REGION = 16
# Blurred backgrounds are blurred at this fraction of the size: cheap, and just as soft.
BLUR_SCALE = 8
# The colour conversions every layer goes through: HD matrix, limited range (what players expect).
YUV = {"out_color_matrix": "bt709", "out_range": "tv"}
# Clip frames keep their own matrix (HD video is bt709 already, and converting every frame
# costs a third of the scaling); full-range phone video is still brought to limited range.
CLIP_YUV = {"out_range": "tv"}
# FFmpeg AAC VBR quality per output quality; draft matches what a 96k target gave.
AAC_QUALITY = {"draft": 1.5, "standard": 3, "high": 3}
OUTPUT_COLOUR_TAGS = [
    "-colorspace",
    "bt709",
    "-color_primaries",
    "bt709",
    "-color_trc",
    "bt709",
    "-color_range",
    "tv",
]


@dataclass(frozen=True)
class CardLayer:
    """A text card cropped to its ink, and how it enters.

    Fades and slides are done by FFmpeg on the one settled image (`fade_frames` of alpha
    ramp, `slide_px` of rise over the same frames); a "pop" is drawn by Pillow as an image
    sequence of `frames` files that ends with the settled card.
    """

    pattern: Path  # image2 pattern, e.g. card-3-%03d.png
    frames: int
    x: int
    y: int
    fade_frames: int = 0
    slide_px: int = 0


@dataclass(frozen=True)
class SceneSources:
    media: Path | None = None
    info: MediaInfo | None = None
    card: CardLayer | None = None


@dataclass(frozen=True)
class GraphSources:
    """Everything on disk the graph reads, prepared by the render."""

    scenes: tuple[SceneSources, ...]
    background: Path  # the theme background, full frame
    background_colour: str  # "#rrggbb", around contained clips
    blur_contain: bool  # theme background "blur": contained media sits on a blurred copy
    audio: AudioSources
    effect_clip: Path | None = None
    effect_filter: str | None = None


class _SourceNode(ffmpeg.nodes.FilterNode):
    """A source filter (no inputs), which ffmpeg-python's FilterNode does not allow."""

    def __init__(self, name: str, kwargs: dict[str, Any]):
        ffmpeg.nodes.Node.__init__(
            self,
            None,
            name,
            {ffmpeg.nodes.FilterableStream},
            ffmpeg.nodes.FilterableStream,
            0,
            0,
            [],
            kwargs,
        )


class _Inputs:
    """What the graph reads: pictures (photos, cards, backgrounds) as `movie` sources it reads
    on demand (why: the module docstring), clips and sound as FFmpeg inputs, which they need
    for exact seeking and looping.

    ffmpeg-python merges identical nodes into one, which would need a split; a file used twice
    is given a second name (a symlink) instead.
    """

    def __init__(self, tmp_dir: Path):
        self._tmp_dir = tmp_dir
        self._seen: set[tuple[str, tuple[tuple[str, Any], ...]]] = set()

    def _name(self, path: Path | str, options: dict[str, Any]) -> str:
        key = (str(path), tuple(sorted(options.items())))
        name = str(path)
        if key in self._seen and options.get("f") != "lavfi":
            link = self._tmp_dir / f"input-{uuid.uuid4().hex[:12]}{Path(name).suffix}"
            os.symlink(os.path.abspath(name), link)
            name = str(link)
        self._seen.add(key)
        return name

    def add(self, path: Path | str, **options: Any) -> Stream:
        """An FFmpeg input: decoded and pushed into the graph as fast as it is taken."""
        return ffmpeg.input(self._name(path, options), **options)

    def picture(self, path: Path, *, sequence: bool = False) -> Stream:
        """A picture read by the graph itself, only when needed; `sequence`: `path` is an
        image2 pattern (card-3-%03d.png) numbered from 0."""
        name = os.path.abspath(self._name(path, {"movie": True, "sequence": sequence}))
        kwargs = {"filename": name, **({"f": "image2"} if sequence else {})}
        return _SourceNode("movie", kwargs).stream()


def build_command(
    ffmpeg_path: str,
    plan: RenderPlan,
    sources: GraphSources,
    tmp_dir: Path,
    output: Path,
    poster: Path,
    encoder_args: list[str],
    threads: int = 0,
) -> list[str]:
    """The complete FFmpeg command: `plan` rendered into `output` (MP4), and frame
    `plan.poster_frame` into `poster` (JPEG) by the same run."""
    inputs = _Inputs(tmp_dir)
    clip_sounds: list[Stream] = []
    streams = [
        _scene(plan, scene, sources.scenes[scene.index], sources, inputs, clip_sounds)
        for scene in plan.scenes
    ]
    video = _join(plan, streams)
    video = _effects(plan, video, sources, inputs)
    video = video.filter("setsar", sar="1").filter("format", pix_fmts="yuv420p")
    audio = build_audio(plan.audio, sources.audio, inputs.add, clip_sounds)
    # The poster is picked from the finished frames as they pass: no second decode later.
    # trim, not select: the branch must end right after its frame, or FFmpeg keeps asking
    # the finished poster output for more and the video's frames pile up unread.
    video, still = _split(video, 2)
    still = (
        still.filter("trim", start_frame=plan.poster_frame, end_frame=plan.poster_frame + 1)
        .filter("scale", out_range="pc")
        .filter("format", pix_fmts="yuvj420p")
    )

    video_options = {
        **_pairs(encoder_args),
        **_pairs(OUTPUT_COLOUR_TAGS),
        "r": plan.fps,
        "frames:v": plan.total_frames,
        "c:a": "aac",
        # The fast coder at a constant quality. A bitrate target makes FFmpeg's AAC encoder
        # quantize each frame again and again while it cannot reach the target (160k music
        # came out at 97k), for three times the CPU of VBR at the same SNR: 44 dB on the
        # sample music, 48 dB on the voiceover, at about 110 and 80 kb/s.
        "aac_coder": "fast",
        "q:a": AAC_QUALITY[plan.quality],
        "ar": 48000,
        "ac": 2,
        "movflags": "+faststart",
    }
    poster_options = {"frames:v": 1, "q:v": 3, "update": 1}
    outputs = ffmpeg.merge_outputs(
        ffmpeg.output(video, audio, str(output), **video_options),
        ffmpeg.output(still, str(poster), **poster_options),
    )
    head = [ffmpeg_path, "-hide_banner", "-loglevel", "error", "-y"]
    if threads > 0:
        head += ["-filter_complex_threads", str(threads), "-filter_threads", str(threads)]
    return [*head, *outputs.get_args()]


def _pairs(args: list[str]) -> dict[str, str]:
    """["-c:v", "libx264", "-crf", "23"] → {"c:v": "libx264", "crf": "23"} for ffmpeg-python."""
    return {
        flag.removeprefix("-"): value for flag, value in zip(args[::2], args[1::2], strict=True)
    }


# --- scenes -------------------------------------------------------------------------------


def _scene(
    plan: RenderPlan,
    scene: ScenePlan,
    src: SceneSources,
    sources: GraphSources,
    inputs: _Inputs,
    clip_sounds: list[Stream],
) -> Stream:
    frames = scene.timing.stream_frames
    visual = scene.visual
    if isinstance(visual, StillVisual):
        assert src.media is not None
        stream = _still(plan, visual, src.media, src.info, frames, sources, inputs)
    elif isinstance(visual, ClipVisual):
        assert src.media is not None and src.info is not None
        stream = _clip(plan, scene, visual, src.media, src.info, sources, inputs, clip_sounds)
    else:
        assert isinstance(visual, ThemeVisual)
        background = _to_yuv(inputs.picture(sources.background), plan.width, plan.height)
        stream = _repeat(background, frames, plan.fps)
    if src.card is not None and scene.text is not None:
        stream = _overlay_card(plan, stream, src.card, scene.text, inputs)
    # concat and xfade insist on equal sample aspect ratios; zooming scales by a hair unevenly.
    return stream.filter("setsar", sar="1")


def _to_yuv(stream: Stream, width: int, height: int, **scale: Any) -> Stream:
    return (
        stream.filter("scale", w=width, h=height, **YUV, **scale)
        .filter("setsar", sar="1")
        .filter("format", pix_fmts="yuv420p")
    )


def _cfr(stream: Stream, fps: int) -> Stream:
    """Time base 1/fps and pts = frame number: what xfade, overlay and concat line up on."""
    return stream.filter("settb", expr=f"1/{fps}").filter("setpts", expr="N")


def _repeat(frame: Stream, frames: int, fps: int) -> Stream:
    """A single frame repeated `frames` times (references, not copies)."""
    if frames > 1:
        frame = frame.filter("loop", loop=frames - 1, size=1, start=0)
    return _cfr(frame, fps)


def _still(
    plan: RenderPlan,
    visual: StillVisual,
    path: Path,
    info: MediaInfo | None,
    frames: int,
    sources: GraphSources,
    inputs: _Inputs,
) -> Stream:
    width, height = plan.size
    move = _Motion.plan(visual.motion, width, height, frames, plan.fps)
    canvas_w, canvas_h = move.canvas
    # One frame, even if the "image" is a video or an animated GIF.
    image = inputs.picture(path).filter("trim", end_frame=1)
    region = None
    if visual.fit == "contain":
        framed = _contain_still(image, canvas_w, canvas_h, sources, inputs)
    elif move.kind.startswith("zoom") and (region := _visible_region(info, width, height)):
        # A photo with fewer pixels than the frame has no detail for a larger canvas to keep.
        # Each zoomed frame is scaled straight from the part of the photo that shows: the
        # scaler reads that part's few hundred lines per frame instead of an enlarged copy's
        # two thousand, and the picture is resampled once instead of twice.
        framed = _to_yuv(image.filter("crop", w=region[0], h=region[1]), *region)
    else:
        framed = _cover(image, canvas_w, canvas_h, flags="lanczos")
    still = _repeat(framed, frames, plan.fps)
    if region is not None:
        return move.apply(still, source=region, flags="bicubic")
    return move.apply(still)


def _visible_region(info: MediaInfo | None, width: int, height: int) -> tuple[int, int] | None:
    """The centred part of a picture that covers a `width` x `height` frame, in its own
    pixels and even sizes, when covering means enlarging it; else None.

    Of the two sides, the one that binds keeps the picture's full length and the other is
    rounded down, so the region is never wider (relative to its height) than the frame and
    its enlargement always covers the frame."""
    if info is None or not info.width or not info.height:
        return None
    widen, heighten = width / info.width, height / info.height
    if max(widen, heighten) <= 1:
        return None
    if widen >= heighten:  # the width binds
        region_w = info.width & ~1
        region_h = min(info.height & ~1, 2 * math.ceil(region_w * height / width / 2))
    else:
        region_h = info.height & ~1
        region_w = 2 * math.floor(region_h * width / height / 2)
    if min(region_w, region_h) < MIN_REGION:
        return None
    return region_w, region_h


def _cover(
    stream: Stream, width: int, height: int, flags: str, colour: dict[str, str] = YUV
) -> Stream:
    return (
        stream.filter(
            "scale",
            w=width,
            h=height,
            force_original_aspect_ratio="increase",
            flags=flags,
            **colour,
        )
        .filter("crop", w=width, h=height)
        .filter("setsar", sar="1")
        .filter("format", pix_fmts="yuv420p")
    )


def _contain_still(
    image: Stream, width: int, height: int, sources: GraphSources, inputs: _Inputs
) -> Stream:
    if sources.blur_contain:
        split = image.split()
        image, copy = split[0], split[1]
        backdrop = _blurred(_cover(copy, width, height, flags="bilinear"), width, height)
    else:
        backdrop = _to_yuv(inputs.picture(sources.background), width, height)
    fitted = image.filter(
        "scale",
        w=width,
        h=height,
        force_original_aspect_ratio="decrease",
        force_divisible_by=2,
        flags="lanczos",
        **YUV,
    ).filter("format", pix_fmts="yuv420p")
    return ffmpeg.filter([backdrop, fitted], "overlay", x="(W-w)/2", y="(H-h)/2").filter(
        "setsar", sar="1"
    )


def _blurred(stream: Stream, width: int, height: int) -> Stream:
    small_w = max(2, 2 * round(width / BLUR_SCALE / 2))
    small_h = max(2, 2 * round(height / BLUR_SCALE / 2))
    radius = max(1, min(small_w, small_h) // 12)
    return (
        stream.filter("scale", w=small_w, h=small_h, flags="bilinear")
        .filter("boxblur", luma_radius=radius, luma_power=2)
        .filter("scale", w=width, h=height, flags="bilinear")
        .filter("eq", brightness=-0.08)
    )


def _clip(
    plan: RenderPlan,
    scene: ScenePlan,
    visual: ClipVisual,
    path: Path,
    info: MediaInfo,
    sources: GraphSources,
    inputs: _Inputs,
    clip_sounds: list[Stream],
) -> Stream:
    width, height = plan.size
    frames = scene.timing.stream_frames
    needed_s = frames / plan.fps
    available_s = (info.duration_s or 0.0) - visual.start_s
    short = available_s < needed_s
    options: dict[str, Any] = {}
    if visual.start_s > 0:
        options["ss"] = f"{visual.start_s:.3f}"
    # Looping happens at the input, so nothing is buffered however long the scene is.
    looping = short and visual.when_short == "loop"
    if looping:
        options["stream_loop"] = -1
    clip = inputs.add(path, **options)

    video = clip.video.filter("setpts", expr="PTS-STARTPTS")
    sound = clip.audio
    if looping and visual.start_s > 0 and info.duration_s:
        video, sound = _from_start_on_every_pass(
            video, sound, visual.start_s, info.duration_s, info.fps
        )
    video = video.filter("fps", fps=plan.fps)
    if visual.fit == "contain":
        video = _contain_clip(video, width, height, sources)
    else:
        video = _cover(video, width, height, flags="bilinear", colour=CLIP_YUV)
    if short and visual.when_short == "freeze":
        video = video.filter("tpad", stop=-1, stop_mode="clone")
    video = _cfr(video.filter("trim", end_frame=frames), plan.fps)

    if not visual.muted and info.has_audio:
        fade_s = max(scene.timing.lead_frames, scene.timing.tail_frames, 1) / plan.fps
        clip_sounds.append(
            clip_sound(
                sound,
                delay_s=scene.timing.stream_start_frame / plan.fps,
                duration_s=needed_s,
                volume=visual.volume,
                fade_s=fade_s,
            )
        )
    return video


def _from_start_on_every_pass(
    video: Stream, sound: Stream, start_s: float, clip_s: float, clip_fps: float
) -> tuple[Stream, Stream]:
    """A looped clip played from `start_s` on every pass, not only the first.

    FFmpeg's input loop (-stream_loop) goes back to the file's beginning and keeps the time
    running on, so after -ss the n-th pass shows the clip's time (t + start) mod clip_s. What
    comes before `start_s` is dropped, and the time closed up by the start skipped on each
    earlier pass, so the frames stay evenly spaced for the fps filter after."""
    # Half a source frame of tolerance: a frame exactly at `start_s` never counts as before it.
    before = f"{start_s:.6f}-{0.5 / (clip_fps or 30):.6f}"
    shown = f"gte(mod(t+{start_s:.6f},{clip_s:.6f}),{before})"
    passes = f"floor((T+{start_s:.6f})/{clip_s:.6f})"
    video = video.filter("select", expr=shown).filter(
        "setpts", expr=f"PTS-{passes}*{start_s:.6f}/TB"
    )
    # Sound needs no times moved: clip_sound lays its samples end to end.
    sound = sound.filter("aselect", expr=shown).filter("asetpts", expr="N/SR/TB")
    return video, sound


def _contain_clip(video: Stream, width: int, height: int, sources: GraphSources) -> Stream:
    fitted_options = {
        "w": width,
        "h": height,
        "force_original_aspect_ratio": "decrease",
        "force_divisible_by": 2,
        "flags": "bilinear",
        **CLIP_YUV,
    }
    if not sources.blur_contain:
        # Padding with the theme colour costs nothing per frame; a full background would.
        return (
            video.filter("scale", **fitted_options)
            .filter("format", pix_fmts="yuv420p")
            .filter(
                "pad",
                w=width,
                h=height,
                x="(ow-iw)/2",
                y="(oh-ih)/2",
                color=sources.background_colour,
            )
            .filter("setsar", sar="1")
        )
    split = video.split()
    backdrop = _blurred(
        _cover(split[1], width, height, flags="fast_bilinear", colour=CLIP_YUV), width, height
    )
    fitted = split[0].filter("scale", **fitted_options).filter("format", pix_fmts="yuv420p")
    return ffmpeg.filter([backdrop, fitted], "overlay", x="(W-w)/2", y="(H-h)/2").filter(
        "setsar", sar="1"
    )


@dataclass(frozen=True)
class _Motion:
    """Ken Burns motion over a canvas a little larger than the frame.

    pan-left/right/up/down name the way the camera moves (pan-left reveals what is further
    left); zoom-in/out keep the centre fixed. Steps are whole pixels (pans) or whole 2-pixel
    sizes (zooms): when the scene is long enough every frame moves by the same amount, else
    the steps are spread evenly, never a jitter back and forth.
    """

    kind: str
    width: int
    height: int
    frames: int
    fps: int
    canvas: tuple[int, int]
    travel: int  # pixels (pans) or 2-pixel size steps (zooms)

    @classmethod
    def plan(cls, motion: str, width: int, height: int, frames: int, fps: int) -> _Motion:
        if frames < 2 or motion == "none":
            return cls("none", width, height, frames, fps, (width, height), 0)
        if motion in ("zoom-in", "zoom-out"):
            steps = _steps(round(MOTION_TRAVEL * width / 2), frames)
            canvas_w = width + 2 * steps
            canvas_h = 2 * math.ceil(height * canvas_w / width / 2)
            return cls(motion, width, height, frames, fps, (canvas_w, canvas_h), steps)
        # Canvases stay even (yuv420p): an odd one would cost the last pixel of travel.
        if motion in ("pan-left", "pan-right"):
            travel = _steps(round(MOTION_TRAVEL * width), frames)
            canvas = (width + travel + travel % 2, height)
        else:
            travel = _steps(round(MOTION_TRAVEL * height), frames)
            canvas = (width, height + travel + travel % 2)
        return cls(motion, width, height, frames, fps, canvas, travel)

    def apply(
        self, stream: Stream, source: tuple[int, int] | None = None, flags: str = "bilinear"
    ) -> Stream:
        """Move `stream`, whose frames are the canvas, or for zooms any picture of at least
        the frame's height relative to its width (`source`), scaled with `flags`."""
        if self.kind == "none":
            return stream
        last = self.frames - 1
        # The frame number from the timestamp, not `n`: scale counts frames from 1 and crop
        # from 0, while both see the same pts (frame number x 1/fps).
        frame = f"round(t*{self.fps})"
        moved = f"round({self.travel}*{frame}/{last})"
        if self.kind in ("pan-left", "pan-right", "pan-up", "pan-down"):
            position = (
                moved if self.kind in ("pan-right", "pan-down") else f"({self.travel}-{moved})"
            )
            horizontal = self.kind in ("pan-left", "pan-right")
            return stream.filter(
                "crop",
                w=self.width,
                h=self.height,
                x=position if horizontal else 0,
                y=0 if horizontal else position,
                exact=1,
            )
        source_w, source_h = source or self.canvas
        grown = moved if self.kind == "zoom-in" else f"({self.travel}-{moved})"
        size_w = f"({self.width}+2*{grown})"
        # The source's own shape, and never less than the frame's, which rounding could make.
        size_h = (
            f"max(2*round({size_w}*{source_h}/{source_w}/2),"
            f"2*ceil({size_w}*{self.height}/{self.width}/2))"
        )
        # Sizes change every frame; crop takes each frame's own size and centres on it. The
        # scaler is set up anew for every size, and with one thread it is set up once, not
        # once per thread: slicing a frame this size across threads saves less than that.
        return stream.filter(
            "scale",
            w=size_w,
            h=size_h,
            eval="frame",
            flags=flags,
            threads=1,
        ).filter(
            "crop",
            w=self.width,
            h=self.height,
            x=f"({size_w}-{self.width})/2",
            y=f"({size_h}-{self.height})/2",
            exact=1,
        )


def _steps(target: int, frames: int) -> int:
    """`target` moved to a whole multiple of the frame count when it is close to one, so the
    motion advances by the same number of pixels every frame."""
    per_frame = round(target / (frames - 1))
    return per_frame * (frames - 1) if per_frame >= 1 else max(1, target)


def _overlay_card(
    plan: RenderPlan, stream: Stream, card: CardLayer, text: TextLayer, inputs: _Inputs
) -> Stream:
    layer = inputs.picture(card.pattern, sequence=True)
    layer = layer.filter("scale", **YUV).filter("format", pix_fmts="yuva420p")
    if card.fade_frames:
        # Converted once, repeated as references, faded in on its own small alpha plane.
        layer = layer.filter("loop", loop=card.fade_frames, size=1, start=0).filter(
            "fade", t="in", start_frame=0, nb_frames=card.fade_frames, alpha=1
        )
    # The card's first frame arrives at the entrance; before it the scene shows through.
    layer = layer.filter("settb", expr=f"1/{plan.fps}").filter(
        "setpts", expr=f"N+{text.enter_frame}"
    )
    y: int | str = card.y
    if card.slide_px and card.fade_frames:
        # Rises by slide_px with an ease-out (fast, then settling), as it fades in.
        start_s = text.enter_frame / plan.fps
        length_s = card.fade_frames / plan.fps
        progress = f"clip((t-{start_s:.6f})/{length_s:.6f},0,1)"
        y = f"{card.y}+{card.slide_px}*pow(1-{progress},3)"
    return ffmpeg.filter(
        [stream, layer],
        "overlay",
        x=card.x,
        y=y,
        eval="init" if isinstance(y, int) else "frame",
        eof_action="repeat",
    )


# --- joining and effects ------------------------------------------------------------------


def _join(plan: RenderPlan, streams: list[Stream]) -> Stream:
    """Concatenate the scenes, each transition rendered only over the frames it covers.

    A transition filter costs work for every frame that passes through it, inside its window
    or not, so chaining transitions over whole scenes would touch every frame once per later
    transition. Instead each scene stream is cut into [incoming | body | outgoing] (`split`
    and `trim` pass references, no copies); a transition joins the outgoing part of one scene
    with the incoming part of the next; and everything is concatenated in order.
    """
    segments: list[Stream] = []
    incoming: Stream | None = None
    for scene, stream in zip(plan.scenes, streams, strict=True):
        frames = scene.timing.stream_frames
        head = plan.transitions[scene.index - 1].frames if scene.index > 0 else 0
        tail = plan.transitions[scene.index].frames if scene.index < len(plan.transitions) else 0
        cuts = [(0, head), (head, frames - tail), (frames - tail, frames)]
        wanted = [(start, end) for start, end in cuts if end > start]
        parts = [stream] if len(wanted) == 1 else list(_split(stream, len(wanted)))
        pieces = {}
        for (start, end), part in zip(wanted, parts, strict=True):
            if (start, end) != (0, frames):
                part = part.filter("trim", start_frame=start, end_frame=end)
                part = part.filter("setpts", expr="PTS-STARTPTS")
            pieces[(start, end)] = part
        if head:
            assert incoming is not None
            segments.append(_transition(plan, scene.index - 1, incoming, pieces[cuts[0]]))
        if cuts[1][1] > cuts[1][0]:
            segments.append(pieces[cuts[1]])
        incoming = pieces.get(cuts[2]) if tail else None
    if len(segments) == 1:
        return segments[0]
    return ffmpeg.concat(*segments, v=1, a=0)


def _split(stream: Stream, count: int) -> list[Stream]:
    node = stream.split()
    return [node[i] for i in range(count)]


def _transition(plan: RenderPlan, after: int, outgoing: Stream, incoming: Stream) -> Stream:
    transition = plan.transitions[after]
    if transition.xfade == "fade":
        return _crossfade(after, transition.frames, plan.fps, outgoing, incoming)
    # xfade insists on equal frame rates; a picture's rate is its file's, fps states ours.
    return ffmpeg.filter(
        [outgoing.filter("fps", fps=plan.fps), incoming.filter("fps", fps=plan.fps)],
        "xfade",
        transition=transition.xfade,
        duration=f"{transition.frames / plan.fps:.6f}",
        offset=0,
    )


def _crossfade(after: int, frames: int, fps: int, outgoing: Stream, incoming: Stream) -> Stream:
    """`outgoing` fading into `incoming` over `frames` frames, the same ramp as xfade's fade.

    sendcmd sets the opacity for frame i as frame i of `incoming` passes it; blend asks for
    frame i only after it has blended frame i-1, so each frame gets its own opacity."""
    name = f"blend@fade{after}"
    steps = ";".join(
        f"{max(0.0, (i - 0.5) / fps):.6f} {name} all_opacity {1 - i / frames:.6f}"
        for i in range(frames)
    )
    incoming = incoming.filter("sendcmd", c=steps)
    return ffmpeg.filter([outgoing, incoming], name, all_mode="normal", all_opacity=1)


def _effects(plan: RenderPlan, video: Stream, sources: GraphSources, inputs: _Inputs) -> Stream:
    if sources.effect_clip is not None:
        layer = inputs.add(sources.effect_clip, stream_loop=-1)
        layer = layer.filter("scale", w=plan.width, h=plan.height, **YUV).filter(
            "format", pix_fmts="yuva420p"
        )
        layer = _cfr(layer, plan.fps)
        video = ffmpeg.filter([video, layer], "overlay", x=0, y=0, eval="init", shortest=1)
    if sources.effect_filter:
        name, _, options = sources.effect_filter.partition("=")
        kwargs = dict(option.split("=", 1) for option in options.split(":") if option)
        video = video.filter(name, **kwargs)
    return video
