"""Pillow work (always run in threads): probing, converting and fitting images."""
