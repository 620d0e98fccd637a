"""The pure parts: permission math, Discord's limits, the rate limiter, clock, snowflakes, waits."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import json
import time
from typing import Any

import pytest

from local_discord import Clock, DiscordError, LocalDiscord, Permission, RateLimitRule
from local_discord.payloads import dumps, dumps_utf8
from local_discord.permissions import ALL, apply_overwrites, base_permissions
from local_discord.ratelimit import RateLimited, RateLimiter
from local_discord.rules import check_command, check_not_empty, parse_message_body
from local_discord.snowflake import SnowflakeFactory, snowflake_time
from local_discord.state import image_size

P = Permission
TEXT = int(P.VIEW_CHANNEL | P.SEND_MESSAGES | P.ATTACH_FILES | P.EMBED_LINKS)


def test_owner_and_administrator_get_everything() -> None:
    """Owner and ADMINISTRATOR bypass roles and overwrites."""
    assert base_permissions(is_owner=True, everyone=0, role_perms=[]) == ALL
    admin = base_permissions(is_owner=False, everyone=0, role_perms=[int(P.ADMINISTRATOR)])
    assert admin == ALL
    assert apply_overwrites(admin, everyone=(0, ALL), roles=[], member=(0, ALL)) == ALL


def test_overwrites_apply_in_discords_order() -> None:
    """@everyone, then all roles together (allow wins over deny), then the member."""
    base = base_permissions(is_owner=False, everyone=TEXT, role_perms=[])
    no_send = apply_overwrites(base, everyone=(0, int(P.SEND_MESSAGES)), roles=[], member=None)
    assert not no_send & P.SEND_MESSAGES
    role_back = apply_overwrites(
        base,
        everyone=(0, int(P.SEND_MESSAGES)),
        roles=[(int(P.SEND_MESSAGES), 0), (0, int(P.SEND_MESSAGES))],
        member=None,
    )
    assert role_back & P.SEND_MESSAGES
    member_deny = apply_overwrites(
        base, everyone=None, roles=[(int(P.SEND_MESSAGES), 0)], member=(0, int(P.SEND_MESSAGES))
    )
    assert not member_deny & P.SEND_MESSAGES


def test_implicit_permissions() -> None:
    """No VIEW_CHANNEL means nothing; no SEND_MESSAGES drops files and embeds too."""
    assert apply_overwrites(TEXT, everyone=(0, int(P.VIEW_CHANNEL)), roles=[], member=None) == 0
    muted = apply_overwrites(TEXT, everyone=None, roles=[], member=(0, int(P.SEND_MESSAGES)))
    assert muted == int(P.VIEW_CHANNEL)


def test_permission_helpers() -> None:
    """Names map to bits."""
    assert P.of("send_messages", "attach_files") == P.SEND_MESSAGES | P.ATTACH_FILES
    assert ALL & P.USE_EXTERNAL_APPS


def _errors(exc: pytest.ExceptionInfo[DiscordError]) -> dict[str, Any]:
    assert exc.value.code == 50035 and exc.value.errors is not None
    return exc.value.errors


def test_message_limits_produce_discords_error_tree() -> None:
    """Paths like ``embeds.0.fields.1.value`` carry Discord's error codes."""
    with pytest.raises(DiscordError) as exc:
        parse_message_body({"content": "x" * 2001})
    assert _errors(exc)["content"]["_errors"][0]["code"] == "BASE_TYPE_MAX_LENGTH"
    embed = {
        "title": "t",
        "fields": [{"name": "a", "value": "b"}, {"name": "n", "value": "v" * 1025}],
    }
    with pytest.raises(DiscordError) as exc:
        parse_message_body({"embeds": [embed]})
    assert "_errors" in _errors(exc)["embeds"]["0"]["fields"]["1"]["value"]
    with pytest.raises(DiscordError) as exc:
        parse_message_body({"embeds": [{"title": "x"}] * 11})
    assert "embeds" in _errors(exc)
    with pytest.raises(DiscordError) as exc:
        parse_message_body({"embeds": [{"fields": [{"name": "a", "value": "b"}] * 26}]})
    assert "fields" in _errors(exc)["embeds"]["0"]
    ok = parse_message_body({"content": "x" * 2000, "embeds": [{"description": "d" * 4096}]})
    assert ok.content is not None and "embeds" in ok.present


def test_component_limits() -> None:
    """Five rows of five, custom_id 1–100 characters and unique."""
    button = {"type": 2, "style": 1, "label": "b", "custom_id": "a"}
    with pytest.raises(DiscordError) as exc:
        parse_message_body({"components": [{"type": 1, "components": [button, button]}]})
    assert "COMPONENT_CUSTOM_ID_DUPLICATED" in str(exc.value.errors)
    rows = [{"type": 1, "components": [{**button, "custom_id": f"c{i}"}]} for i in range(6)]
    with pytest.raises(DiscordError):
        parse_message_body({"components": rows})
    with pytest.raises(DiscordError):
        parse_message_body(
            {"components": [{"type": 1, "components": [{**button, "custom_id": "x" * 101}]}]}
        )


def test_empty_messages_are_refused() -> None:
    """Nothing to show: 50006."""
    with pytest.raises(DiscordError) as exc:
        check_not_empty(parse_message_body({"content": ""}), 0)
    assert exc.value.code == 50006
    check_not_empty(parse_message_body({}), 1)


def test_command_definitions_are_checked() -> None:
    """Names, descriptions and option order follow Discord's rules."""
    check_command({"name": "imagine", "description": "Draw", "options": []}, 0)
    check_command({"name": "Edit this image", "type": 3}, 0)
    for bad in (
        {"name": "Imagine", "description": "Draw"},
        {"name": "imagine", "description": ""},
        {
            "name": "imagine",
            "description": "Draw",
            "options": [
                {"name": "a", "description": "a", "type": 3},
                {"name": "b", "description": "b", "type": 3, "required": True},
            ],
        },
    ):
        with pytest.raises(DiscordError):
            check_command(bad, 0)


def test_rate_limiter_windows_and_headers() -> None:
    """Fixed windows on the controllable clock; 429 with retry_after until the reset."""
    clock = Clock()
    limiter = RateLimiter(clock)
    rule = RateLimitRule(2, 5.0)
    first = limiter.check("edit", rule, "m1")
    assert first["X-RateLimit-Limit"] == "2" and first["X-RateLimit-Remaining"] == "1"
    assert limiter.check("edit", rule, "m1")["X-RateLimit-Remaining"] == "0"
    assert limiter.check("edit", rule, "m2")["X-RateLimit-Remaining"] == "1"  # separate bucket
    with pytest.raises(RateLimited) as exc:
        limiter.check("edit", rule, "m1")
    assert 4.9 < exc.value.retry_after <= 5.0 and exc.value.status == 429
    assert exc.value.body() == {
        "message": "You are being rate limited.",
        "retry_after": exc.value.retry_after,
        "global": False,
    }
    assert limiter.hits == 1
    clock.advance(5.0)
    assert limiter.check("edit", rule, "m1")["X-RateLimit-Remaining"] == "1"
    assert limiter.check("edit", RateLimitRule(5, 1.0, headers=False), "x") == {}


def _stdlib_dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


@pytest.mark.parametrize(
    "obj",
    [
        {"content": "Zoë’s «café» 🎨 日本語", "flags": 64, "embeds": [], "nonce": None},
        {"text": 'quote " backslash \\ newline \n tab \t nul \x00 del \x7f \u2028'},
        {"ok": True, "no": False, "n": -12, "x": 0.5, "big": 2**63, "nested": [[], {}, [1, "a"]]},
        {1234: "int keys become strings", "id": "1234567890123456789"},
        {"beyond 64 bits": 2**70, "negative": -(2**70)},  # orjson refuses: the stdlib writes them
    ],
)
def test_json_is_what_the_stdlib_writes(obj: Any) -> None:
    """Compact, non-ASCII left as is, the same text the stdlib's compact form gives."""
    assert dumps(obj) == _stdlib_dumps(obj)
    assert dumps_utf8(obj) == _stdlib_dumps(obj).encode()
    assert json.loads(dumps(obj)) == json.loads(_stdlib_dumps(obj))


def test_json_refuses_what_the_stdlib_refuses() -> None:
    """A datetime or a set in a payload is a bug in the fake, not something to serialise."""
    for bad in ({"when": dt.datetime.now(dt.UTC)}, {"ids": {1, 2}}):
        with pytest.raises(TypeError):
            dumps(bad)
        with pytest.raises(TypeError):
            dumps_utf8(bad)


def test_clock_only_moves_forward() -> None:
    """advance() adds to monotonic time; going back is an error."""
    clock = Clock()
    before = clock.now()
    clock.advance(900)
    assert clock.now() - before >= 900 and clock.offset == 900
    with pytest.raises(ValueError):
        clock.advance(-1)


def test_snowflakes_are_monotonic_and_carry_wall_time() -> None:
    """discord.py derives created_at (and expires_at) from the ID."""
    factory = SnowflakeFactory()
    ids = [factory.next() for _ in range(5000)]
    assert ids == sorted(set(ids))
    age = dt.datetime.now(dt.UTC) - snowflake_time(ids[-1])
    assert abs(age.total_seconds()) < 2


async def test_waits_wake_on_change_not_on_a_timer() -> None:
    """``wait_for`` returns as soon as the change is notified and times out otherwise."""
    ld = LocalDiscord()
    flag: list[bool] = []

    async def later() -> None:
        await asyncio.sleep(0)
        flag.append(True)
        ld.changed()

    started = time.monotonic()
    task = asyncio.create_task(later())
    await ld.wait_for(lambda _: bool(flag), timeout=5)
    await task
    assert time.monotonic() - started < 0.5
    with pytest.raises(TimeoutError):
        await ld.wait_for(lambda _: False, timeout=0.01)
    assert ld._waiters == []


@pytest.mark.parametrize(
    ("fmt", "options"),
    [
        ("PNG", {}),
        ("JPEG", {"progressive": True}),
        ("GIF", {}),
        ("WEBP", {}),
        ("WEBP", {"lossless": True}),
        ("BMP", {}),
    ],
)
def test_image_dimensions_are_read_from_headers(fmt: str, options: dict[str, Any]) -> None:
    """Attachments get width/height like Discord's (header sniffing; Pillow for the rest)."""
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (123, 45)).save(buf, fmt, **options)
    assert image_size(buf.getvalue(), f"image/{fmt.lower()}") == (123, 45)
    assert image_size(buf.getvalue(), "application/octet-stream") == (None, None)
    assert image_size(b"\x89PNG\r\n\x1a\n broken", "image/png") == (None, None)
