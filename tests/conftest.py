"""Fixtures shared by every area of the suite. Areas keep their own in tests/<area>/conftest.py."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_ASSETS = (ROOT.parent / "shared" / "assets").resolve()


@pytest.fixture(scope="session")
def shared_assets() -> Path:
    """The shared test media (photos, a clip, music, a voiceover), read-only."""
    if not SHARED_ASSETS.is_dir():
        pytest.fail(f"test media not found at {SHARED_ASSETS}: ../shared must sit beside the repo")
    return SHARED_ASSETS
