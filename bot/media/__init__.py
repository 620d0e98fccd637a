"""Pillow work (always run in threads): probing, converting and fitting images."""

from bot.media.delivery import FittedImage, fit_for_delivery
from bot.media.inputs import PreparedImage, prepare_mask, prepare_reference
from bot.media.probe import ImageInfo, probe

__all__ = [
    "FittedImage",
    "ImageInfo",
    "PreparedImage",
    "fit_for_delivery",
    "prepare_mask",
    "prepare_reference",
    "probe",
]
