"""The image options a member can choose, shared by every layer (plain enums, no behaviour)."""

from __future__ import annotations

from enum import StrEnum


class Ratio(StrEnum):
    """Output aspect ratio, as GPT-Image-2 APIs name them.

    ``AUTO`` lets the editing model keep the first input image's shape; only models that document
    it accept it (see ``ModelSpec.supports_auto_ratio``), and it is not in any size table.
    """

    SQUARE = "1:1"
    LANDSCAPE_3_2 = "3:2"
    PORTRAIT_2_3 = "2:3"
    LANDSCAPE_4_3 = "4:3"
    PORTRAIT_3_4 = "3:4"
    LANDSCAPE_5_4 = "5:4"
    PORTRAIT_4_5 = "4:5"
    WIDE_16_9 = "16:9"
    TALL_9_16 = "9:16"
    WIDE_2_1 = "2:1"
    TALL_1_2 = "1:2"
    ULTRAWIDE_21_9 = "21:9"
    ULTRATALL_9_21 = "9:21"
    AUTO = "auto"


class Resolution(StrEnum):
    """Resolution tier: roughly the long side in pixels (1024, 2048, 3840)."""

    R1K = "1K"
    R2K = "2K"
    R4K = "4K"


class Quality(StrEnum):
    """Rendering quality; higher is slower and costs more upstream."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class OutputFormat(StrEnum):
    """File format of the delivered images."""

    PNG = "png"
    JPEG = "jpeg"

    @property
    def extension(self) -> str:
        """File name extension for this format."""
        return "jpg" if self is OutputFormat.JPEG else "png"

    @property
    def mime_type(self) -> str:
        """MIME type for this format."""
        return "image/jpeg" if self is OutputFormat.JPEG else "image/png"
