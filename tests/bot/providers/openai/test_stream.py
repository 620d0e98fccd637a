"""The SSE reader of the OpenAI-compatible client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from bot.providers.openai.stream import iter_sse


async def test_sse_parser_handles_split_lines_crlf_comments_and_no_final_blank() -> None:
    async def chunks(parts: Sequence[bytes]) -> AsyncIterator[bytes]:
        for part in parts:
            yield part

    raw = b': keep-alive\r\nevent: a\r\ndata: {"x":\r\ndata: 1}\r\n\r\nevent: b\ndata: tail'
    parts = [raw[i : i + 7] for i in range(0, len(raw), 7)]
    events = [event async for event in iter_sse(chunks(parts))]
    assert [(e.event, e.data) for e in events] == [("a", b'{"x":\n1}'), ("b", b"tail")]
