"""Discord's markup for values in messages: mentions and timestamps, as plain strings.

Passed as values of marked text (``_("Use it in {channel}.", channel=channel(id))``), so the
sentence around them is translated while they stay markup. Discord shows a timestamp in each
reader's own language and timezone, so times in messages are written with these, not formatted
here. Mentions never ping: every message Easel sends disables them.
"""

from __future__ import annotations


def channel(channel_id: int) -> str:
    """``#channel``."""
    return f"<#{channel_id}>"


def user(user_id: int) -> str:
    """``@member``."""
    return f"<@{user_id}>"


def role(role_id: int) -> str:
    """``@role``."""
    return f"<@&{role_id}>"


def relative_time(unix: int) -> str:
    """ "in 5 minutes", "2 hours ago", in the reader's language."""
    return f"<t:{unix}:R>"


def short_time(unix: int) -> str:
    """ "16:20" or "4:20 PM", the reader's way."""
    return f"<t:{unix}:t>"
