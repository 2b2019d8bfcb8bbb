"""The registry of scene kinds: adding a kind is one module plus one line here."""

from scenes.kinds.image import ImageScene
from scenes.kinds.outro import OutroScene
from scenes.kinds.quote import QuoteScene
from scenes.kinds.stat import StatScene
from scenes.kinds.text import TextScene
from scenes.kinds.title import TitleScene
from scenes.kinds.video import VideoScene

SCENE_KINDS = (TitleScene, TextScene, ImageScene, VideoScene, QuoteScene, StatScene, OutroScene)

__all__ = ["SCENE_KINDS"]
