"""How a job can fail: one list, shared by the engine's events and the price profiles.

The price profiles name the failures that are still billed (``billed_failures``); they live below
the job engine, so the list lives here rather than in ``bot.jobs.models``.
"""

from __future__ import annotations

from typing import Literal, TypeAlias

# ``interrupted``: a synchronous call was cut off by a restart; it cannot be resumed, only retried.
# ``undeliverable``: the images were made but the member could not be reached, however long
# Easel tried (no permission, DMs closed); the images stay stored for ``/show``.
FailureKind: TypeAlias = Literal[
    "input",
    "refusal",
    "upstream",
    "timeout",
    "cancelled",
    "internal",
    "interrupted",
    "undeliverable",
]
