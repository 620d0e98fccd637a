"""Persistence behind a small repository interface (SQLite by default)."""
