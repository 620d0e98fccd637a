"""The playground: Easel in a browser, with no Discord application.

``python -m bot playground`` (and ``python -m bot`` without a ``DISCORD_TOKEN``) starts the local
Discord of the end-to-end tests, the real bot connected to it, and a web page that shows the
server and acts as its members (``entry``). The page's code sees the local Discord through
``ports``; only functions import ``local_discord``, so the bot's Discord path never loads it.
"""
