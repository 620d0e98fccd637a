"""Discord's documented limits for messages, embeds, components and commands, as 50035 errors."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

from local_discord.errors import (
    CANNOT_SEND_EMPTY_MESSAGE,
    DiscordError,
    form_error,
    form_errors,
)
from local_discord.localizations import LOCALES, check_localizations, localized
from local_discord.payloads import JSON

log = logging.getLogger(__name__)

MAX_CONTENT = 2000
MAX_EMBEDS = 10
MAX_EMBED_TITLE = 256
MAX_EMBED_DESCRIPTION = 4096
MAX_EMBED_FIELDS = 25
MAX_FIELD_NAME = 256
MAX_FIELD_VALUE = 1024
MAX_FOOTER = 2048
MAX_AUTHOR_NAME = 256
MAX_EMBED_TOTAL = 6000
MAX_ATTACHMENTS = 10
MAX_ACTION_ROWS = 5
MAX_ROW_WIDTH = 5
MAX_CUSTOM_ID = 100
MAX_COMPONENTS_V2 = 40
MAX_MODAL_TITLE = 45
MAX_AUTOCOMPLETE_CHOICES = 25
MAX_COMMAND_OPTIONS = 25
MAX_OPTION_CHOICES = 25
MAX_COMMAND_NAME = 32
MAX_COMMAND_DESCRIPTION = 100
MAX_COMMAND_TOTAL = 8000
MIB = 1024 * 1024
DEFAULT_UPLOAD_LIMIT = 10 * MIB

_COMMAND_NAME = re.compile(r"^[-_'\w]{1,32}$", re.UNICODE)

_KNOWN_MESSAGE_FLAGS = (1 << 2) | (1 << 6) | (1 << 12) | (1 << 13) | (1 << 15)


@dataclass(slots=True)
class MessageBody:
    """The parts of a create/edit message body the fake acts on; ``present`` lists sent keys."""

    present: frozenset[str]
    content: str | None = None
    embeds: list[JSON] = field(default_factory=list)
    components: list[JSON] = field(default_factory=list)
    attachments: list[JSON] | None = None
    flags: int = 0
    tts: bool = False
    allowed_mentions: JSON | None = None
    message_reference: JSON | None = None
    nonce: str | int | None = None
    sticker_ids: list[Any] = field(default_factory=list)
    poll: JSON | None = None


def _int_or_error(errors: list[tuple[str, str, str]], path: str, value: Any, default: int) -> int:
    if value is None:
        return default
    if isinstance(value, bool):
        value = int(value)
    try:
        return int(value)
    except (TypeError, ValueError):
        errors.append((path, "NUMBER_TYPE_COERCE", f"Value {value!r} is not int."))
        return default


def _max_len(errors: list[tuple[str, str, str]], path: str, value: Any, limit: int) -> None:
    if isinstance(value, str) and len(value) > limit:
        errors.append((path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length."))


def _objects(
    errors: list[tuple[str, str, str]], data: JSON, key: str, message: str
) -> list[JSON] | None:
    """``data[key]`` if it is an array of objects; otherwise ``None`` (and an error if present)."""
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        errors.append((key, "LIST_TYPE_CONVERT", message))
        return None
    return value


def parse_message_body(data: Any) -> MessageBody:
    """Type-check a message body (create, edit, follow-up or callback ``data``) and apply limits."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise form_error("", "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
    errors: list[tuple[str, str, str]] = []
    body = MessageBody(present=frozenset(data))

    content = data.get("content")
    if content is not None and not isinstance(content, str):
        content = str(content)
    body.content = content
    _max_len(errors, "content", content, MAX_CONTENT)

    embeds = _objects(errors, data, "embeds", "Must be an array of embed objects.")
    if embeds is not None:
        body.embeds = embeds
        _check_embeds(errors, embeds)

    components = data.get("components")
    if components is not None:
        if not isinstance(components, list):
            errors.append(("components", "LIST_TYPE_CONVERT", "Must be an array."))
        else:
            body.components = components

    flags = data.get("flags")
    if flags is not None:
        try:
            body.flags = int(flags)
        except (TypeError, ValueError):
            errors.append(("flags", "NUMBER_TYPE_COERCE", f"Value {flags!r} is not int."))
    if body.components:
        _check_components(errors, body.components, v2=bool(body.flags & (1 << 15)))

    attachments = _objects(errors, data, "attachments", "Must be an array.")
    if attachments is not None:
        body.attachments = attachments
        if len(attachments) > MAX_ATTACHMENTS:
            errors.append(
                (
                    "attachments",
                    "BASE_TYPE_MAX_LENGTH",
                    f"Must be {MAX_ATTACHMENTS} or fewer in length.",
                )
            )

    body.tts = bool(data.get("tts", False))
    am = data.get("allowed_mentions")
    body.allowed_mentions = am if isinstance(am, dict) else None
    if body.allowed_mentions is not None:
        for key in ("parse", "users", "roles"):
            values = body.allowed_mentions.get(key)
            if values is not None and not isinstance(values, list):
                errors.append((f"allowed_mentions.{key}", "LIST_TYPE_CONVERT", "Must be an array."))
        for key in ("users", "roles"):
            for i, value in enumerate(body.allowed_mentions.get(key) or []):
                if not str(value).isdigit():
                    errors.append(
                        (
                            f"allowed_mentions.{key}.{i}",
                            "NUMBER_TYPE_COERCE",
                            f'Value "{value}" is not snowflake.',
                        )
                    )
    ref = data.get("message_reference")
    body.message_reference = ref if isinstance(ref, dict) else None
    nonce = data.get("nonce")
    if isinstance(nonce, str | int):
        body.nonce = nonce
    stickers = data.get("sticker_ids")
    if isinstance(stickers, list):
        body.sticker_ids = stickers
    poll = data.get("poll")
    body.poll = poll if isinstance(poll, dict) else None

    if errors:
        raise form_errors(errors)
    return body


def _embed_text_size(embed: JSON) -> int:
    total = 0
    for key in ("title", "description"):
        value = embed.get(key)
        if isinstance(value, str):
            total += len(value)
    for sub, key in (("footer", "text"), ("author", "name")):
        obj = embed.get(sub)
        if isinstance(obj, dict) and isinstance(obj.get(key), str):
            total += len(obj[key])
    fields = embed.get("fields")
    for fld in fields if isinstance(fields, list) else []:
        if isinstance(fld, dict):
            total += len(str(fld.get("name", ""))) + len(str(fld.get("value", "")))
    return total


def _check_embeds(errors: list[tuple[str, str, str]], embeds: list[JSON]) -> None:
    if len(embeds) > MAX_EMBEDS:
        errors.append(
            ("embeds", "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_EMBEDS} or fewer in length.")
        )
        return
    total = 0
    for i, embed in enumerate(embeds):
        p = f"embeds.{i}"
        _max_len(errors, f"{p}.title", embed.get("title"), MAX_EMBED_TITLE)
        _max_len(errors, f"{p}.description", embed.get("description"), MAX_EMBED_DESCRIPTION)
        footer = embed.get("footer")
        if isinstance(footer, dict):
            _max_len(errors, f"{p}.footer.text", footer.get("text"), MAX_FOOTER)
        author = embed.get("author")
        if isinstance(author, dict):
            _max_len(errors, f"{p}.author.name", author.get("name"), MAX_AUTHOR_NAME)
        fields = embed.get("fields") or []
        if not isinstance(fields, list):
            errors.append((f"{p}.fields", "LIST_TYPE_CONVERT", "Must be an array."))
        else:
            if len(fields) > MAX_EMBED_FIELDS:
                errors.append(
                    (
                        f"{p}.fields",
                        "BASE_TYPE_MAX_LENGTH",
                        f"Must be {MAX_EMBED_FIELDS} or fewer in length.",
                    )
                )
            for j, fld in enumerate(fields):
                if not isinstance(fld, dict):
                    continue
                name, value = fld.get("name"), fld.get("value")
                if not name:
                    errors.append(
                        (f"{p}.fields.{j}.name", "BASE_TYPE_REQUIRED", "This field is required")
                    )
                if not value:
                    errors.append(
                        (f"{p}.fields.{j}.value", "BASE_TYPE_REQUIRED", "This field is required")
                    )
                _max_len(errors, f"{p}.fields.{j}.name", name, MAX_FIELD_NAME)
                _max_len(errors, f"{p}.fields.{j}.value", value, MAX_FIELD_VALUE)
        total += _embed_text_size(embed)
    if total > MAX_EMBED_TOTAL:
        errors.append(
            (
                "embeds",
                "MAX_EMBED_SIZE_EXCEEDED",
                f"Embed size exceeds maximum size of {MAX_EMBED_TOTAL}",
            )
        )


def _check_components(
    errors: list[tuple[str, str, str]], components: list[Any], *, v2: bool
) -> None:
    seen: set[str] = set()
    count = 0

    def walk(items: list[Any], path: str) -> None:
        nonlocal count
        for i, comp in enumerate(items):
            if not isinstance(comp, dict):
                errors.append((f"{path}.{i}", "DICT_TYPE_CONVERT", "Must be an object."))
                continue
            count += 1
            cid = comp.get("custom_id")
            if cid is not None:
                if not isinstance(cid, str) or not 1 <= len(cid) <= MAX_CUSTOM_ID:
                    errors.append(
                        (
                            f"{path}.{i}.custom_id",
                            "BASE_TYPE_BAD_LENGTH",
                            f"Must be between 1 and {MAX_CUSTOM_ID} in length.",
                        )
                    )
                elif cid in seen:
                    errors.append(
                        (
                            f"{path}.{i}.custom_id",
                            "COMPONENT_CUSTOM_ID_DUPLICATED",
                            "Component custom id cannot be duplicated",
                        )
                    )
                else:
                    seen.add(cid)
            if comp.get("type") == 2:
                _max_len(errors, f"{path}.{i}.label", comp.get("label"), 80)
            children = comp.get("components")
            if isinstance(children, list):
                if comp.get("type") == 1 and len(children) > MAX_ROW_WIDTH:
                    errors.append(
                        (
                            f"{path}.{i}.components",
                            "BASE_TYPE_MAX_LENGTH",
                            f"Must be {MAX_ROW_WIDTH} or fewer in length.",
                        )
                    )
                walk(children, f"{path}.{i}.components")
            for key in ("accessory", "component"):
                child = comp.get(key)
                if isinstance(child, dict):
                    walk([child], f"{path}.{i}")

    if not v2 and len(components) > MAX_ACTION_ROWS:
        errors.append(
            ("components", "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_ACTION_ROWS} or fewer in length.")
        )
    walk(components, "components")
    if v2 and count > MAX_COMPONENTS_V2:
        errors.append(
            (
                "components",
                "BASE_TYPE_MAX_LENGTH",
                f"Must be {MAX_COMPONENTS_V2} or fewer in length.",
            )
        )


def check_not_empty(body: MessageBody, file_count: int) -> None:
    """Creating a message needs content, an embed, a file, a component, a sticker or a poll."""
    if (
        body.content
        or body.embeds
        or file_count
        or body.components
        or body.sticker_ids
        or body.poll
    ):
        return
    raise DiscordError(400, CANNOT_SEND_EMPTY_MESSAGE, "Cannot send an empty message")


def check_file_count(count: int) -> None:
    """At most 10 attachments on a message."""
    if count > MAX_ATTACHMENTS:
        raise form_error(
            "attachments", "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_ATTACHMENTS} or fewer in length."
        )


def check_modal(data: Any) -> None:
    """Modal callback data: custom_id 1–100, title ≤ 45, 1–5 top-level components."""
    if not isinstance(data, dict):
        raise form_error("data", "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
    errors: list[tuple[str, str, str]] = []
    cid = data.get("custom_id")
    if not isinstance(cid, str) or not 1 <= len(cid) <= MAX_CUSTOM_ID:
        errors.append(
            ("data.custom_id", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
        )
    title = data.get("title")
    if not isinstance(title, str) or not 1 <= len(title) <= MAX_MODAL_TITLE:
        errors.append(("data.title", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 45 in length."))
    comps = data.get("components")
    if not isinstance(comps, list) or not 1 <= len(comps) <= 5:
        errors.append(
            ("data.components", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 5 in length.")
        )
    if errors:
        raise form_errors(errors)


def check_autocomplete(data: Any) -> None:
    """Autocomplete results: at most 25 choices."""
    choices = data.get("choices") if isinstance(data, dict) else None
    if not isinstance(choices, list):
        raise form_error("data.choices", "BASE_TYPE_REQUIRED", "This field is required")
    if len(choices) > MAX_AUTOCOMPLETE_CHOICES:
        raise form_error("data.choices", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")


def check_command(cmd: Any, index: int) -> None:
    """The application-command limits Discord checks on sync (discord.py: CommandSyncFailure)."""
    p = str(index)
    if not isinstance(cmd, dict):
        raise form_error(p, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
    errors: list[tuple[str, str, str]] = []
    ctype = _int_or_error(errors, f"{p}.type", cmd.get("type"), 1)
    name = cmd.get("name")
    if not isinstance(name, str) or not 1 <= len(name) <= MAX_COMMAND_NAME:
        errors.append((f"{p}.name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 32 in length."))
    elif ctype == 1 and (not _COMMAND_NAME.match(name) or name != name.lower()):
        errors.append((f"{p}.name", "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid"))
    desc = cmd.get("description", "")
    if ctype == 1 and (not isinstance(desc, str) or not 1 <= len(desc) <= MAX_COMMAND_DESCRIPTION):
        errors.append(
            (f"{p}.description", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
        )
    check_localizations(errors, p, cmd, chat_input=ctype == 1)
    _check_options(errors, cmd.get("options") or [], f"{p}.options")
    if max(_command_size(cmd, locale) for locale in (None, *LOCALES)) > MAX_COMMAND_TOTAL:
        errors.append((p, "APPLICATION_COMMAND_TOO_LARGE", "Command exceeds maximum size (8000)"))
    if errors:
        raise form_errors(errors)


def _check_options(errors: list[tuple[str, str, str]], options: Any, path: str) -> None:
    if not isinstance(options, list):
        return
    if len(options) > MAX_COMMAND_OPTIONS:
        errors.append((path, "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length."))
    seen_optional = False
    for i, opt in enumerate(options):
        if not isinstance(opt, dict):
            continue
        op = f"{path}.{i}"
        name = opt.get("name")
        if not isinstance(name, str) or not _COMMAND_NAME.match(name) or name != name.lower():
            errors.append(
                (f"{op}.name", "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
            )
        desc = opt.get("description")
        if not isinstance(desc, str) or not 1 <= len(desc) <= MAX_COMMAND_DESCRIPTION:
            errors.append(
                (
                    f"{op}.description",
                    "BASE_TYPE_BAD_LENGTH",
                    "Must be between 1 and 100 in length.",
                )
            )
        check_localizations(errors, op, opt, chat_input=True)
        for j, choice in enumerate(opt.get("choices") or []):
            if isinstance(choice, dict):
                check_localizations(
                    errors, f"{op}.choices.{j}", choice, chat_input=True, choice=True
                )
        otype = _int_or_error(errors, f"{op}.type", opt.get("type"), 0)
        if otype in (1, 2):
            _check_options(errors, opt.get("options") or [], f"{op}.options")
            continue
        if opt.get("required"):
            if seen_optional:
                errors.append(
                    (
                        op,
                        "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                        "Required options must be placed before non-required options",
                    )
                )
        else:
            seen_optional = True
        choices = opt.get("choices")
        if isinstance(choices, list) and len(choices) > MAX_OPTION_CHOICES:
            errors.append(
                (f"{op}.choices", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
            )
        if choices and opt.get("autocomplete"):
            errors.append(
                (
                    f"{op}.autocomplete",
                    "APPLICATION_COMMAND_AUTOCOMPLETE_INVALID",
                    "Autocomplete cannot be set with choices",
                )
            )
        max_length = opt.get("max_length")
        if isinstance(max_length, int) and not 1 <= max_length <= 6000:
            errors.append(
                (
                    f"{op}.max_length",
                    "NUMBER_TYPE_MAX",
                    "int value should be less than or equal to 6000.",
                )
            )


def _command_size(cmd: JSON, locale: str | None = None) -> int:
    """Names, descriptions and choice values, as ``locale``'s users see them (None: default)."""

    def text(item: JSON) -> int:
        return len(localized(item, "name", locale)) + len(localized(item, "description", locale))

    total = text(cmd)

    def opts(options: Any) -> int:
        size = 0
        if not isinstance(options, list):
            return 0
        for opt in options:
            if not isinstance(opt, dict):
                continue
            size += text(opt)
            for ch in opt.get("choices") or []:
                if isinstance(ch, dict):
                    size += len(localized(ch, "name", locale)) + len(str(ch.get("value", "")))
            size += opts(opt.get("options"))
        return size

    return total + opts(cmd.get("options"))
