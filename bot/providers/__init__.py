"""Upstream image APIs: one module per API family, all behind ``ImageProvider``."""
