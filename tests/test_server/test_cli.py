"""`reelfarm render | themes | probe | schema`: exit codes, one-line errors, real output."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import support.media as mediatools

import themes

ROOT = Path(__file__).resolve().parents[2]


def write_spec(folder: Path, data: dict | str) -> Path:
    path = folder / "spec.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def test_render_writes_the_video_and_a_poster_beside_it(cli, tmp_path, shared_assets):
    pictures = tmp_path / "spec" / "pictures"
    pictures.mkdir(parents=True)
    shutil.copy(shared_assets / "cat.jpg", pictures / "cat.jpg")
    spec = write_spec(
        tmp_path / "spec",
        {"scenes": [
            {"type": "title", "title": "CLI", "duration": 0.5},
            {"type": "image", "src": "pictures/cat.jpg", "duration": 0.5},  # relative to the spec
        ]},
    )  # fmt: skip
    out = tmp_path / "out" / "reel.mp4"
    code, stdout, stderr = cli("render", str(spec), "-o", str(out), "--size", "180x320")
    assert code == 0, stderr
    assert mediatools.count_frames(out) == 30
    assert out.with_suffix(".jpg").is_file()
    assert f"wrote {out}" in stdout
    # The progress bar ends full, on its own line.
    assert "100%  30/30 frames" in stderr and stderr.endswith("\n")
    assert sorted(p.name for p in out.parent.iterdir()) == ["reel.jpg", "reel.mp4"]


def test_preview_renders_a_small_draft(cli, tmp_path):
    spec = write_spec(tmp_path, {"scenes": [{"type": "title", "title": "p", "duration": 1}]})
    out = tmp_path / "preview.mp4"
    code, _, stderr = cli("render", str(spec), "-o", str(out), "--preview", "--quiet")
    assert code == 0 and stderr == ""
    info = mediatools.probe(out)
    assert (info.width, info.height, info.fps) == (202, 360, 15)


def test_validation_errors_are_listed_one_per_line_with_paths(cli, tmp_path):
    spec = write_spec(
        tmp_path,
        {"fps": 0, "scenes": [
            {"type": "title", "duration": 0},
            {"type": "wobble", "duration": 1},
            {"type": "image", "src": "a.jpg", "duration": 1, "motion": "spin", "titel": "x"},
        ]},
    )  # fmt: skip
    code, stdout, stderr = cli("render", str(spec), "-o", str(tmp_path / "x.mp4"))
    assert code == 2 and stdout == ""
    lines = stderr.splitlines()
    assert all(line.startswith("reelfarm render: ") for line in lines)
    problems = {line.removeprefix("reelfarm render: ") for line in lines}
    assert "fps: must be >= 1" in problems
    assert "scenes[0].title: required" in problems
    assert "scenes[0].duration: must be > 0" in problems
    assert any(p.startswith("scenes[1]: type must be one of") for p in problems)
    assert any(p.startswith("scenes[2].motion: must be one of") for p in problems)
    assert "scenes[2].titel: unknown field" in problems
    assert "Traceback" not in stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "spec.json: not valid JSON: "),
        ("[1, 2]", "the spec must be a JSON object"),
    ],
)
def test_unreadable_specs_fail_in_one_line(cli, tmp_path, content, message):
    spec = write_spec(tmp_path, content)
    code, _, stderr = cli("render", str(spec), "-o", str(tmp_path / "x.mp4"))
    assert code == 2
    assert len(stderr.splitlines()) == 1 and message in stderr


def test_a_missing_spec_file_fails_in_one_line(cli, tmp_path):
    code, _, stderr = cli("render", str(tmp_path / "absent.json"), "-o", str(tmp_path / "x.mp4"))
    assert code == 2
    assert stderr == f"reelfarm render: {tmp_path / 'absent.json'}: No such file or directory\n"


def test_a_missing_asset_fails_with_the_scene_named(cli, tmp_path):
    spec = write_spec(
        tmp_path,
        {"scenes": [
            {"type": "title", "title": "t", "duration": 1},
            {"type": "image", "src": "nope.jpg", "duration": 1},
        ]},
    )  # fmt: skip
    out = tmp_path / "x.mp4"
    code, _, stderr = cli("render", str(spec), "-o", str(out), "--quiet")
    assert code == 1
    assert stderr == "reelfarm render: scenes[1].src: not found: nope.jpg\n"
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [spec]  # the working directory is gone too


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--size", "100"], "--size 100: must be WIDTHxHEIGHT"),
        (["--size", "101x200"], "each side must be even"),
    ],
)
def test_bad_options_fail_in_one_line(cli, tmp_path, args, message):
    spec = write_spec(tmp_path, {"scenes": [{"type": "title", "title": "t", "duration": 1}]})
    code, _, stderr = cli("render", str(spec), "-o", str(tmp_path / "x.mp4"), *args)
    assert code == 2 and message in stderr and len(stderr.splitlines()) == 1


def test_the_output_must_be_an_mp4(cli, tmp_path):
    spec = write_spec(tmp_path, {"scenes": [{"type": "title", "title": "t", "duration": 1}]})
    code, _, stderr = cli("render", str(spec), "-o", str(tmp_path / "x.mov"))
    assert code == 2 and "must be an .mp4 file" in stderr


def test_a_broken_config_fails_in_one_line_per_problem(cli, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text("[encoder]\nprefer = ['x265']\nbogus = 1\n")
    spec = write_spec(tmp_path, {"scenes": [{"type": "title", "title": "t", "duration": 1}]})
    code, _, stderr = cli(
        "render", str(spec), "-o", str(tmp_path / "x.mp4"), "--config", str(config)
    )
    assert code == 2
    assert "reelfarm render: encoder.bogus: unknown key" in stderr.splitlines()


def test_schema_prints_the_json_schema(cli):
    code, stdout, _ = cli("schema")
    schema = json.loads(stdout)
    assert code == 0
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert "scenes" in schema["properties"]


def test_themes_lists_every_theme(cli):
    code, stdout, _ = cli("themes")
    assert code == 0
    names = [line.split()[0] for line in stdout.splitlines()]
    assert names == themes.list_themes()
    assert {"default", "winter"} <= set(names)


def test_themes_sheet_draws_a_png(cli, tmp_path):
    sheet = tmp_path / "sheet.png"
    code, stdout, _ = cli("themes", "--sheet", str(sheet))
    assert code == 0 and sheet.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert str(sheet) in stdout


def test_probe_reports_ffmpeg_and_the_encoders_that_really_work(cli):
    code, stdout, _ = cli("probe", "--json")
    report = json.loads(stdout)
    assert code == 0
    assert report["ffmpeg"]["source"] in ("configured", "system", "bundled")
    assert report["ffmpeg"]["version"]
    assert "libx264" in report["encoders"]["working"]
    if not report["gpus"]:
        # The bundled FFmpeg lists h264_nvenc everywhere; without a GPU it must not "work".
        assert "h264_nvenc" not in report["encoders"]["working"]
    code, stdout, _ = cli("probe")
    assert code == 0 and "libx264" in stdout and report["ffmpeg"]["path"] in stdout


def test_the_console_script_runs_end_to_end(tmp_path):
    spec = write_spec(tmp_path, {"scenes": [{"type": "title", "title": "t", "duration": 1}]})
    bad = subprocess.run(
        [sys.executable, "-m", "server.cli", "render", str(spec), "-o", str(tmp_path / "x.txt")],
        capture_output=True, text=True, cwd=ROOT, timeout=60,
    )  # fmt: skip
    assert bad.returncode == 2
    assert bad.stderr == "reelfarm render: x.txt: the output must be an .mp4 file\n".replace(
        "x.txt", str(tmp_path / "x.txt")
    )


def test_bad_captions_exit_2_naming_the_cue(tmp_path, cli):
    spec = write_spec(tmp_path, {
        "scenes": [{"type": "title", "title": "t", "duration": 1}],
        "captions": {"vtt": "WEBVTT\n\n00:00.100 --> 00:00.500\nok\n\n"
                             "00:00.900 --> 00:00.600\nx\n"},
    })  # fmt: skip
    code, stdout, stderr = cli("render", str(spec), "-o", str(tmp_path / "x.mp4"))
    assert code == 2 and stdout == ""
    assert stderr.startswith("reelfarm render: captions.vtt: cue 2: ")
    assert "Traceback" not in stderr and not (tmp_path / "x.mp4").exists()
