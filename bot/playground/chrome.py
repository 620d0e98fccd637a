"""The playground page's own words (its chrome), in the language its visitor picked.

The page's labels live in the same gettext catalogs as the bot's replies, under the context
``playground``, so translators see them beside everything else (``python3 dev.py i18n``
extracts them from here). The page asks ``/api/i18n`` for its language: the English sentences
are the keys its scripts and HTML use (``t("Send")``, ``data-i18n="Send"``), the values their
translations with ``{placeholders}`` left for the page to fill. A test fails when the page uses
a sentence this list lacks, or this list keeps one the page no longer uses.
"""

from __future__ import annotations

from bot.i18n import LOCALES, Lang, Text, _p, best_match, language_name
from bot.playground.ports import JSON

#: Every sentence the page shows itself (not the bot's messages: those come translated).
PAGE: tuple[Text, ...] = (
    # index.html
    _p("playground", "Easel playground"),
    _p("playground", "Channels"),
    _p("playground", "Playground controls"),
    _p("playground", "Playground"),
    _p("playground", "Let everyone use {command}"),
    _p(
        "playground",
        "Server Settings → Integrations. Easel still refuses members without Manage Server.",
    ),
    _p("playground", "Tight hidden rate limits"),
    _p("playground", "One edit per 3 s per message, unannounced: watch the bot absorb the 429s."),
    _p("playground", "Language"),
    _p("playground", "The language of your Discord client: Easel answers you in it."),
    _p("playground", "Act as"),
    _p("playground", "Activity"),
    _p("playground", "Cancel (Esc)"),
    _p("playground", "Attach files"),
    _p("playground", "Message, or / for commands"),
    _p("playground", "Message"),
    _p("playground", "Send"),
    _p("playground", "Drop files to attach them"),
    _p("playground", "What the bot did"),
    _p("playground", "What Easel did"),
    _p("playground", "Show"),
    _p("playground", "All"),
    _p("playground", "Discord REST"),
    _p("playground", "Image API"),
    _p("playground", "Gateway"),
    # main.js
    _p("playground", "Easel playground · {server}"),
    _p("playground", "Images: {provider}"),
    _p("playground", "mod log"),
    _p("playground", "Unknown"),
    _p("playground", "deleted-role"),
    _p("playground", "unknown-channel"),
    _p("playground", "Apps"),
    _p("playground", "Easel is connecting to the local Discord…"),
    _p("playground", "Lost the connection to the playground; retrying…"),
    _p("playground", "The playground did not load: {error}"),
    # composer.js
    _p("playground", "No commands match"),
    _p("playground", "Commands"),
    _p("playground", "/{command}: fill in the options, then press Enter"),
    _p("playground", "Optional:"),
    _p("playground", "choose…"),
    _p("playground", "True"),
    _p("playground", "False"),
    _p("playground", "Remove {option}"),
    _p("playground", "Choose a file or drop one here"),
    _p("playground", "No suggestions"),
    _p("playground", "/{command} takes no more files."),
    _p("playground", "Remove"),
    _p("playground", "This field is required."),
    _p("playground", "Fill in {option}: {problem}"),
    # modal.js
    _p("playground", "Too short: the minimum length is {count}."),
    _p("playground", "Pick at least one."),
    _p("playground", "Pick at least {count}."),
    _p("playground", "This kind of field is not drawn in the playground."),
    _p("playground", "Cancel"),
    _p("playground", "Submit"),
    _p("playground", "Close"),
    # render.js
    _p("playground", "Today at {time}"),
    _p("playground", "Make a selection"),
    _p("playground", "Done ({min}–{max})"),
    _p("playground", "(unsupported menu)"),
    _p("playground", "{member} used {command}"),
    _p("playground", "a message"),
    _p("playground", "(edited)"),
    _p("playground", "{member} is thinking…"),
    _p("playground", "Dismiss message"),
    _p("playground", "Only you can see this"),
    # activity.js
    _p("playground", "REST calls"),
    _p("playground", "rate-limit hits"),
    _p("playground", "image API requests"),
    _p("playground", "failed"),
    _p("playground", "image"),
    _p("playground", "gateway"),
    _p("playground", "error"),
)


def page_language(wanted: str | None) -> str:
    """The shipped locale for what the page asks (its stored choice, else the browser's
    languages in order, comma-separated as ``Accept-Language`` writes them); English if none."""
    return best_match((wanted or "").split(","))


def page_text(locale: str) -> JSON:
    """What the page needs to speak ``locale``: its sentences and the languages to pick from."""
    lang = Lang.of(locale)
    return {
        "locale": lang.code,
        "languages": [{"code": code, "name": language_name(code, code)} for code in LOCALES],
        "strings": {text.id: lang.template(text) for text in PAGE},
    }
