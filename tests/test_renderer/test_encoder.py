"""FFmpeg discovery, encoder choice by trial encode, presets per encoder, NVENC fallback."""

from __future__ import annotations

import os
import stat

import pytest
import support.media as mediatools

from renderer import RenderError, encoder
from renderer.encoder import encoder_args, is_session_limit, working_encoders
from renderer.ffmpeg import AUTO_PREFERENCE, find_ffmpeg
from renderer.probe import gpu_facts


@pytest.mark.parametrize(
    ("encoder", "quality", "expected"),
    [
        ("libx264", "draft", ["-preset", "ultrafast", "-crf", "28"]),
        ("libx264", "standard", ["-preset", "veryfast", "-crf", "23"]),
        ("libx264", "high", ["-preset", "medium", "-crf", "20"]),
        ("h264_nvenc", "draft", ["-preset", "p1"]),
        ("h264_nvenc", "standard", ["-preset", "p4"]),
        ("h264_nvenc", "high", ["-preset", "p6"]),
    ],
)
def test_quality_presets_are_mapped_per_encoder(encoder, quality, expected):
    args = encoder_args(encoder, quality, threads=3)
    assert args[:2] == ["-c:v", encoder]
    joined = " ".join(args)
    assert " ".join(expected) in joined
    assert "-pix_fmt yuv420p" in joined and args[-2:] == ["-threads", "3"]


def test_zero_threads_leaves_the_choice_to_ffmpeg():
    assert "-threads" not in encoder_args("libx264", "standard", threads=0)


def test_unknown_encoders_and_qualities_are_refused():
    with pytest.raises(ValueError, match="unknown encoder"):
        encoder_args("libx265", "standard", 0)
    with pytest.raises(ValueError, match="unknown quality"):
        encoder_args("libx264", "ultra", 0)


def test_trial_encode_finds_libx264_and_no_nvenc_without_a_gpu(tmp_path, monkeypatch):
    ffmpeg = mediatools.ffmpeg_exe()
    # As if a driver were there: the bundled build lists NVENC, and only its trial can fail.
    (tmp_path / "nvidiactl").touch()
    monkeypatch.setattr(encoder, "NVIDIA_DEVICES", (tmp_path / "nvidiactl",))
    working = working_encoders(ffmpeg, ["h264_nvenc", "libx264"])
    assert working[-1] == "libx264"
    if not gpu_facts():
        assert working == ["libx264"]


def test_nvenc_is_not_tried_where_no_nvidia_device_exists(tmp_path, monkeypatch):
    # An FFmpeg that fails every encode: an NVENC trial would be refused, not skipped.
    failing = tmp_path / "ffmpeg"
    failing.write_text('#!/bin/sh\necho tried >> "$0.calls"\nexit 1\n')
    failing.chmod(0o755)
    monkeypatch.setattr(encoder, "NVIDIA_DEVICES", (tmp_path / "nvidiactl",))
    monkeypatch.setattr(encoder, "NVIDIA_HELPER", "no-such-nvidia-helper")
    assert working_encoders(str(failing), ["h264_nvenc"]) == []
    assert not (tmp_path / "ffmpeg.calls").exists()
    (tmp_path / "nvidiactl").touch()
    assert working_encoders(str(failing), ["h264_nvenc", "libx264"]) == []
    assert (tmp_path / "ffmpeg.calls").read_text().count("tried") == 2


def test_session_limit_is_recognised():
    assert is_session_limit("[h264_nvenc @ 0x1] OpenEncodeSessionEx failed: out of memory (10)")
    assert not is_session_limit("Cannot load libcuda.so.1")


def test_find_ffmpeg_takes_a_path_a_build_name_or_auto(tmp_path, monkeypatch):
    monkeypatch.delenv("REELFARM_FFMPEG", raising=False)
    bundled = mediatools.ffmpeg_exe()
    link = tmp_path / "bin" / "ffmpeg"
    link.parent.mkdir()
    os.symlink(bundled, link)

    configured = find_ffmpeg(str(link))
    assert (configured.path, configured.source) == (str(link), "configured")
    assert configured.version and str(link) in configured.reason

    monkeypatch.setenv("PATH", str(link.parent))
    system = find_ffmpeg("system")
    assert (system.path, system.source) == (str(link), "system")
    # Both present: auto takes the build AUTO_PREFERENCE names first, and says so.
    found = find_ffmpeg("auto")
    assert found.source == AUTO_PREFERENCE[0]
    assert found.reason.startswith(f"auto: {AUTO_PREFERENCE[0]} preferred over")

    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    found = find_ffmpeg()
    assert (found.path, found.source) == (bundled, "bundled")
    assert "the only build found" in found.reason
    with pytest.raises(RenderError, match="no system FFmpeg here"):
        find_ffmpeg("system")

    with pytest.raises(RenderError, match="configured ffmpeg not found"):
        find_ffmpeg(str(tmp_path / "missing-ffmpeg"))


def test_the_environment_chooses_the_build_for_auto_only(tmp_path, monkeypatch):
    link = tmp_path / "bin" / "ffmpeg"
    link.parent.mkdir()
    os.symlink(mediatools.ffmpeg_exe(), link)
    monkeypatch.setenv("PATH", str(link.parent))
    monkeypatch.setenv("REELFARM_FFMPEG", "system")
    found = find_ffmpeg("auto")
    assert (found.path, found.source) == (str(link), "system")
    assert found.reason == "REELFARM_FFMPEG = 'system'"
    # A configured build or path is the operator's word: the environment does not override it.
    assert find_ffmpeg("bundled").source == "bundled"


def test_nvenc_session_limit_falls_back_to_libx264(render_spec, tmp_path):
    # A GPU whose NVENC sessions are all taken cannot be had here, so an FFmpeg that answers
    # any h264_nvenc request the way such a driver does, and runs everything else for real.
    wrapper = tmp_path / "ffmpeg-busy-gpu"
    wrapper.write_text(
        "#!/bin/sh\n"
        'case " $* " in *" h264_nvenc "*)\n'
        '  echo "[h264_nvenc @ 0x1] OpenEncodeSessionEx failed: out of memory (10)" >&2\n'
        "  exit 1;;\n"
        "esac\n"
        f'exec "{mediatools.ffmpeg_exe()}" "$@"\n'
    )
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    data = {"scenes": [{"type": "title", "title": "busy", "duration": 0.5}]}
    rendered = render_spec(data, ffmpeg=str(wrapper), encoder="h264_nvenc")
    assert rendered.result.encoder == "libx264"
    assert mediatools.probe(rendered.video).video_codec == "h264"


def test_other_encoder_failures_are_errors_not_fallbacks(render_spec):
    data = {"scenes": [{"type": "title", "title": "x", "duration": 0.5}]}
    if gpu_facts():
        pytest.skip("a GPU is present: NVENC may really work here")
    with pytest.raises(RenderError, match=r"^ffmpeg failed: ") as caught:
        render_spec(data, encoder="h264_nvenc")
    assert caught.value.field is None
