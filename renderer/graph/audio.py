"""The audio half of the filtergraph: music bed, voiceovers, clip sound, or silence.

The music is looped or cut to the video's length, faded in and out, set to `music_volume` and
ducked under speech by a sidechain compressor keyed on the voiceovers. Voiceovers start at 0
(the spec's) or at their scene's start. Unmuted clip sound joins the mix where its scene plays.
With no audio at all the video still gets a silent AAC track: players, and the apps reels are
posted to, expect one.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import ffmpeg

from renderer.graph.sources import AudioSources
from renderer.graph.streams import Stream
from renderer.plan import AudioPlan

SAMPLE_RATE = 48_000
# Sidechain ducking keyed on the voiceovers: anything above -36 dBFS is speech, and speech at a
# usual -20 dBFS pulls the music down by about 14 dB; it comes back over a third of a second.
DUCK = {"threshold": 0.015, "ratio": 10, "attack": 15, "release": 300, "makeup": 1}

AddInput = Callable[..., Any]


def normalise(stream: Stream) -> Stream:
    """One sample rate, format and layout, so every mixer and compressor input matches."""
    return stream.filter("aresample", SAMPLE_RATE).filter(
        "aformat", sample_fmts="fltp", sample_rates=SAMPLE_RATE, channel_layouts="stereo"
    )


def clip_sound(
    stream: Stream, *, delay_s: float, duration_s: float, volume: float, fade_s: float
) -> Stream:
    """A clip's own sound placed where its scene plays, faded at the edges it crossfades on."""
    sound = normalise(stream).filter("atrim", end=f"{duration_s:.6f}")
    sound = sound.filter("asetpts", "N/SR/TB")
    fade = min(fade_s, duration_s / 2)
    if fade > 0:
        sound = sound.filter("afade", t="in", st=0, d=f"{fade:.4f}")
        sound = sound.filter("afade", t="out", st=f"{duration_s - fade:.4f}", d=f"{fade:.4f}")
    sound = sound.filter("volume", volume=f"{volume:g}")
    return _delay(sound, delay_s)


def build_audio(
    plan: AudioPlan, sources: AudioSources, add_input: AddInput, extra: list[Stream]
) -> Stream:
    """The final audio stream, exactly `plan.duration_s` long. `extra` are clip sounds."""
    duration = plan.duration_s
    music = _music(plan, sources.music, add_input) if sources.music and plan.music else None
    voices = [
        _delay(
            normalise(add_input(path).audio).filter("volume", volume=f"{voice.volume:g}"),
            voice.delay_s,
        )
        for voice, path in zip(plan.voices, sources.voices, strict=True)
    ]
    speech = None
    if voices:
        speech = _mix(voices)
        # Padded to the end so the compressor's key never runs out before the music does.
        speech = speech.filter("apad", whole_dur=f"{duration:.6f}")
    parts = []
    if music is not None and speech is not None and plan.duck:
        split = speech.asplit()
        speech, key = split[0], split[1]
        music = ffmpeg.filter([music, key], "sidechaincompress", **DUCK)
    parts += [p for p in (music, speech) if p is not None]
    parts += extra
    if not parts:
        silence = add_input(f"anullsrc=r={SAMPLE_RATE}:cl=stereo", f="lavfi")
        return silence.filter("atrim", end=f"{duration:.6f}")
    mixed = _mix(parts)
    return mixed.filter("apad", whole_dur=f"{duration:.6f}").filter("atrim", end=f"{duration:.6f}")


def _music(plan: AudioPlan, path: Path, add_input: AddInput) -> Stream:
    assert plan.music is not None
    duration = plan.duration_s
    # Looped at the input, so a 40 s bed under a 3 min video simply repeats.
    music = normalise(add_input(path, stream_loop=-1).audio)
    music = music.filter("atrim", end=f"{duration:.6f}").filter("asetpts", "N/SR/TB")
    music = music.filter("volume", volume=f"{plan.music.volume:g}")
    fade_in = min(plan.music.fade_in_s, duration / 2)
    fade_out = min(plan.music.fade_out_s, duration / 2)
    if fade_in > 0:
        music = music.filter("afade", t="in", st=0, d=f"{fade_in:.4f}")
    if fade_out > 0:
        music = music.filter("afade", t="out", st=f"{duration - fade_out:.4f}", d=f"{fade_out:.4f}")
    return music


def _delay(stream: Stream, delay_s: float) -> Stream:
    milliseconds = round(delay_s * 1000)
    return stream.filter("adelay", delays=milliseconds, all=1) if milliseconds > 0 else stream


def _mix(streams: list[Stream]) -> Stream:
    if len(streams) == 1:
        return streams[0]
    # normalize=0: amix would otherwise divide every input by the input count.
    return ffmpeg.filter(streams, "amix", inputs=len(streams), normalize=0, duration="longest")
