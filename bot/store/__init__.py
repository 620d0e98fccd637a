"""Persistence: the domains' store protocols on SQLite (embedded) or PostgreSQL (shared)."""
