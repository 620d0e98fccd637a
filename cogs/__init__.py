"""Discord glue: one extension per user-facing area; ``_``-prefixed modules are shared helpers."""
