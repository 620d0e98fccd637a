"""The engine: job requests, their validation, and the pipeline that runs them (no Discord here)."""
