"""The job the running task works on, so every log line can name it without passing it around.

The engine sets it when it starts driving a job; tasks started from there inherit it (asyncio
copies the context). ``bot.log_setup`` reads it to add the job id, server and provider to each
line. It holds the record itself, so a provider chosen later (failover) shows up too.
"""

from __future__ import annotations

from contextvars import ContextVar

from bot.jobs.records import JobRecord

current_job: ContextVar[JobRecord | None] = ContextVar("current_job", default=None)
