"""The sound of a render: music bed, ducking under voiceover, clip sound, silence.

Tones stand in for music and speech so their levels can be measured apart: the "music" is a
220 Hz sine, the "voice" a 2 kHz one, and band-limited RMS tells them apart in the mix.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
import support.media as mediatools

RATE = 16_000
MUSIC_BAND = (180.0, 260.0)
VOICE_BAND = (1800.0, 2200.0)


def tone(path: Path, hz: int, seconds: float, *, video: bool = False) -> Path:
    """An AAC tone (inside an MP4 with a test picture when `video`)."""
    args = [mediatools.ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y"]
    if video:
        args += ["-f", "lavfi", "-i", f"testsrc2=s=320x240:r=30:d={seconds}"]
    args += ["-f", "lavfi", "-i", f"sine=frequency={hz}:sample_rate=48000:duration={seconds}"]
    args += ["-c:a", "aac", "-b:a", "128k"]
    if video:
        args += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    subprocess.run([*args, str(path)], check=True, timeout=60)
    return path


@pytest.fixture(scope="module")
def sounds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("sounds")
    return {
        "music": tone(folder / "music.m4a", 220, 1.5),  # shorter than the videos: it must loop
        "voice": tone(folder / "voice.m4a", 2000, 1.2),
        "clip": tone(folder / "clip.mp4", 1000, 2.0, video=True),
    }


def three_titles(voice: Path | None = None, **audio) -> dict:
    """Three 2 s titles, cut (no transitions); `voice` speaks over the second."""
    scenes = [{"type": "title", "title": str(i), "duration": 2} for i in range(3)]
    if voice is not None:
        scenes[1]["voiceover"] = str(voice)
    return {"transition": {"type": "none"}, "scenes": scenes, "audio": audio}


def test_music_bed_plays_looped_through_the_whole_video(render_spec, sounds):
    data = three_titles(music=str(sounds["music"]), music_volume=0.5, fade_in_s=0, fade_out_s=0)
    samples = mediatools.pcm(render_spec(data).video, RATE)
    assert len(samples) == pytest.approx(6 * RATE, abs=RATE // 20)
    # Still playing after the 1.5 s file has ended several times over.
    # A 1/8 amplitude sine at volume 0.5: RMS 0.044 wherever the bed plays.
    for start in (0.2, 2.2, 4.2, 5.2):
        assert mediatools.band_rms(samples, RATE, start, start + 0.5, MUSIC_BAND) > 0.03


def test_music_fades_in_and_out(render_spec, sounds):
    data = three_titles(music=str(sounds["music"]), fade_in_s=1, fade_out_s=1)
    samples = mediatools.pcm(render_spec(data).video, RATE)
    start = mediatools.rms(samples, RATE, 0.0, 0.15)
    middle = mediatools.rms(samples, RATE, 2.5, 3.0)
    end = mediatools.rms(samples, RATE, 5.85, 6.0)
    assert start < 0.3 * middle and end < 0.3 * middle


@pytest.mark.parametrize("duck", [True, False])
def test_music_is_quieter_under_the_voiceover(render_spec, sounds, duck):
    data = three_titles(
        sounds["voice"],
        music=str(sounds["music"]),
        music_volume=0.5,
        fade_in_s=0,
        fade_out_s=0,
        duck=duck,
    )
    samples = mediatools.pcm(render_spec(data).video, RATE)
    # The voiceover belongs to the second scene: it starts at 2 s and lasts 1.2 s.
    assert mediatools.band_rms(samples, RATE, 0.5, 1.5, VOICE_BAND) < 0.01
    assert mediatools.band_rms(samples, RATE, 2.3, 3.0, VOICE_BAND) > 0.06
    music_alone = mediatools.band_rms(samples, RATE, 0.8, 1.5, MUSIC_BAND)
    music_under_voice = mediatools.band_rms(samples, RATE, 2.4, 3.0, MUSIC_BAND)
    if duck:
        assert music_under_voice < 0.5 * music_alone  # at least 6 dB down
        # ... and it comes back once the voice has finished.
        assert mediatools.band_rms(samples, RATE, 4.5, 5.5, MUSIC_BAND) > 0.8 * music_alone
    else:
        assert music_under_voice == pytest.approx(music_alone, rel=0.2)


def test_an_unmuted_clip_is_heard_only_while_it_plays(render_spec, sounds):
    data = {
        "transition": {"type": "none"},
        "scenes": [
            {"type": "title", "title": "a", "duration": 1},
            {"type": "video", "src": str(sounds["clip"]), "muted": False, "duration": 1},
            {"type": "video", "src": str(sounds["clip"]), "duration": 1},  # muted by default
        ],
    }
    samples = mediatools.pcm(render_spec(data).video, RATE)
    band = (900.0, 1100.0)
    assert mediatools.band_rms(samples, RATE, 0.1, 0.9, band) < 0.005
    assert mediatools.band_rms(samples, RATE, 1.2, 1.8, band) > 0.06
    assert mediatools.band_rms(samples, RATE, 2.1, 2.9, band) < 0.005


def test_no_audio_still_gets_a_silent_aac_track(render_spec):
    rendered = render_spec({"scenes": [{"type": "title", "title": "quiet", "duration": 1}]})
    info = mediatools.probe(rendered.video)
    assert info.audio_codec == "aac"
    samples = mediatools.pcm(rendered.video, RATE)
    assert len(samples) == pytest.approx(RATE, abs=RATE // 20)
    assert mediatools.rms(samples, RATE, 0, 1) < 1e-4


def test_voiceover_of_the_whole_spec_starts_at_zero(render_spec, sounds):
    data = {
        "scenes": [{"type": "title", "title": "v", "duration": 2}],
        "audio": {"voiceover": str(sounds["voice"])},
    }
    samples = mediatools.pcm(render_spec(data).video, RATE)
    assert mediatools.band_rms(samples, RATE, 0.1, 1.0, VOICE_BAND) > 0.06
    assert mediatools.band_rms(samples, RATE, 1.4, 1.9, VOICE_BAND) < 0.01


# Measured: 63 dB (standard) and 55 dB (draft); a quality setting a step lower fails.
@pytest.mark.parametrize(("quality", "least_snr_db"), [("standard", 58.0), ("draft", 45.0)])
def test_music_keeps_its_fidelity_through_the_aac_encode(
    render_spec, shared_assets, quality, least_snr_db
):
    music = shared_assets / "music.m4a"
    data = three_titles(music=str(music), music_volume=0.5, fade_in_s=0, fade_out_s=0)
    rate = 48_000
    heard = mediatools.pcm(render_spec(data, quality=quality).video, rate)
    source = 0.5 * mediatools.pcm(music, rate)
    # The signal against what the encoder lost of it, away from the very ends.
    start, end = int(0.2 * rate), int(5.8 * rate)
    signal, error = source[start:end], heard[start:end] - source[start:end]
    snr_db = 10 * np.log10(np.sum(np.square(signal)) / np.sum(np.square(error)))
    assert snr_db > least_snr_db
