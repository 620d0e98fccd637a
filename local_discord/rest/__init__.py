"""Discord's REST API (the subset discord.py bots use), one module per resource.

Each resource gets only the parts it needs (the world, the clock, bot auth, the throttle, the
message events) and registers its own routes; ``LocalDiscord`` composes them, as it composes the
gateway. ``http`` holds what they share and the request log.
"""
