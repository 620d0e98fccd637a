"""Easel: GPT-Image-2 image generation and editing for Discord community servers."""

__version__ = "0.1.0"
