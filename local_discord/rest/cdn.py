"""The CDN: the bytes behind attachment URLs, as long as they have not expired."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from aiohttp import web

from local_discord.rest.http import snowflake
from local_discord.state import World

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CdnRoutes:
    """``/attachments/...`` and ``/media/attachments/...`` (outside the API prefix, no auth)."""

    world: World

    def add_routes(self, router: web.UrlDispatcher) -> None:
        """Register this resource's routes."""
        router.add_get("/attachments/{channel_id}/{attachment_id}/{filename}", self.cdn)
        router.add_get("/media/attachments/{channel_id}/{attachment_id}/{filename}", self.cdn)

    async def cdn(self, request: web.Request) -> web.Response:
        """The bytes behind an attachment URL (404 once expired, as Discord's CDN does).

        ``World.cdn_delay`` makes it slow (a large upload on a slow link), counted in
        ``World.cdn_reads`` as each download starts.
        """
        self.world.cdn_reads += 1
        if self.world.cdn_delay:
            await asyncio.sleep(self.world.cdn_delay)
        att = self.world.attachments.get(snowflake(request, "attachment_id"))
        if (
            att is None
            or att.expired
            or str(att.channel_id) != request.match_info["channel_id"]
            or (att.size and not att.data)
        ):
            return web.Response(status=404, text="This content is no longer available.")
        return web.Response(
            body=att.data, content_type=att.content_type or "application/octet-stream"
        )
