"""Provider profiles: what each image API takes, shipped as data (``profiles.toml``).

A profile says where an API lives, which models it serves and what they accept: which sizes
(a ratio table, free ``WxH`` within rules, or the exact sizes the docs list), whether ``n`` works
or must be looped, masks, formats, quality, streaming, prompt limits, the edit transport (JSON
with data URLs or multipart files). What differs between models of one API is in
``model_overrides``. The engine never branches on a provider's or a model's name: it reads the
``ModelSpec`` built from a profile by its family (``bot.providers.families``), and the
OpenAI-compatible client reads the profile itself.

Admins change any field, or add a profile for another gateway, with ``IMAGE_PROFILES_FILE``.
"""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Mapping
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.errors import ConfigError
from bot.i18n import _
from bot.providers.catalog import (
    ModelSpec,
    ReferenceField,
    SizeRule,
    SizeTableName,
    size_rule_table,
)
from bot.providers.prices import (
    BILLED_FAILURES_DEFAULT,
    CURRENCY_PATTERN,
    UNKNOWN,
    BilledFailure,
    ModelPrices,
    Price,
    PriceRule,
)
from bot.providers.sizes import FreeSizeRules

log = logging.getLogger(__name__)

Family = Literal["toapis", "openai"]
EditTransport = Literal["json", "multipart"]
UpstreamFormat = Literal["png", "jpeg", "webp"]
Background = Literal["auto", "opaque", "transparent"]


class ModelOverrides(BaseModel):
    """Where one model of a provider differs from the provider's defaults."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    native_n: bool | None = None
    max_n: int | None = Field(default=None, ge=1, le=10)
    quality: bool | None = None
    mask: bool | None = None
    streaming: bool | None = None
    sizes: SizeRule | None = None
    auto_ratio: bool | None = None
    formats: tuple[UpstreamFormat, ...] | None = None
    reference_field: ReferenceField | None = None
    price: PriceRule | None = None
    input_price: Price | None = None


class ModelCaps(BaseModel):
    """The capabilities of one model of one provider, defaults and overrides merged."""

    model_config = ConfigDict(frozen=True)

    native_n: bool
    max_n: int
    quality: bool
    mask: bool
    streaming: bool
    sizes: SizeRule
    auto_ratio: bool
    formats: tuple[UpstreamFormat, ...]
    reference_field: ReferenceField
    price: PriceRule
    input_price: Price


#: The shipped profiles' sentences for members, marked so the catalogs translate them (a profile an
#: admin writes is shown as written). A test keeps this in step with ``profiles.toml``.
SHIPPED_TEXT = (_("InfinityBlue ignores masks: it always edits the whole image."),)


class ProviderProfile(BaseModel):
    """One image API: defaults for its models, and where a model differs, ``model_overrides``.

    ``sizes``, ``quality``, ``mask``, ``formats``, ``auto_ratio``, ``reference_field`` and the
    ``n`` limits apply to both families; the transport, streaming and moderation fields to the
    OpenAI-compatible family only.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{1,31}$")
    label: str = Field(min_length=1, max_length=40)  # shown to members: "made by <label>"
    family: Family
    base_url: str
    model: str = "gpt-image-2"  # the default model id
    edit_model: str | None = None  # None: the model takes its own edits
    models: tuple[str, ...] = ()  # model ids its docs list (informational, for `models`)
    docs: str = ""

    edit_transport: EditTransport = "multipart"
    # Free WxH within rules (a table of them), exact sizes (a list), or a shipped ratio table.
    sizes: SizeRule = Field(default_factory=FreeSizeRules)
    # The API takes ``size: auto`` itself (ToAPIs' official channel). OpenAI-compatible edits
    # always offer auto: Easel sends the size nearest the first image's shape.
    auto_ratio: bool = False
    reference_field: ReferenceField = "reference_images"  # ToAPIs: the field for input images
    native_n: bool = True  # False: one image per call, so Easel loops for n
    max_n: int = Field(default=10, ge=1, le=10)
    quality: bool = True
    mask: bool = True
    mask_refusal: str | None = None  # told to a member whose mask this API would ignore
    formats: tuple[UpstreamFormat, ...] = ("png", "jpeg")  # empty: Easel converts results
    backgrounds: tuple[Background, ...] = ("auto",)
    moderation: bool = False  # takes ``moderation`` (auto | low) on generations
    moderation_on_edits: bool = False
    streaming: bool = False  # SSE with partial images
    partial_images: int = Field(default=0, ge=0, le=3)
    max_prompt_chars: int = Field(default=32_000, ge=1)
    max_edit_prompt_chars: int = Field(default=32_000, ge=1)
    max_references: int = Field(default=16, ge=1, le=16)
    references_via_edit: bool = True  # input images go to /v1/images/edits, never generations
    request_timeout: float = Field(default=600.0, gt=0)  # one synchronous call (4K high: minutes)
    # What it charges (``bot.providers.prices``): per image made, per input image sent, in
    # ``currency``; "unknown" where nothing is published. ``billed_failures``: failure kinds
    # after which the images were most likely made and billed anyway.
    currency: str = Field(default="USD", pattern=CURRENCY_PATTERN)
    price: PriceRule = UNKNOWN
    input_price: Price = UNKNOWN
    billed_failures: tuple[BilledFailure, ...] = BILLED_FAILURES_DEFAULT
    model_overrides: dict[str, ModelOverrides] = Field(default_factory=dict)

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    def caps(self, model_id: str | None = None) -> ModelCaps:
        """This provider's capabilities for ``model_id`` (its default model when None)."""
        override = self.model_overrides.get(model_id or self.model, ModelOverrides())
        merged = {
            field: getattr(self, field) if value is None else value
            for field, value in override.model_dump(exclude_unset=False).items()
        }
        return ModelCaps.model_validate(merged)

    def prices(self, model_id: str | None = None) -> ModelPrices:
        """What ``model_id`` (the default model when None) costs, in the profile's currency."""
        caps = self.caps(model_id)
        return ModelPrices(
            currency=self.currency,
            image=caps.price,
            input_image=caps.input_price,
            billed_failures=self.billed_failures,
        )

    def with_changes(self, **changes: Any) -> ProviderProfile:
        """A validated copy with some fields changed (settings overrides)."""
        return ProviderProfile.model_validate({**self.model_dump(), **changes})


def _spec(
    profile: ProviderProfile, model_id: str, size_table: SizeTableName, **fields: Any
) -> ModelSpec:
    """What the profile says of ``model_id`` (quality, n, sizes, prices), plus ``fields``."""
    caps = profile.caps(model_id)
    table, free = size_rule_table(caps.sizes, size_table)
    return ModelSpec(
        model_id=model_id,
        supports_quality=caps.quality,
        max_n=caps.max_n,
        prices=profile.prices(model_id),
        sizes=table,
        free_sizes=free,
        **fields,
    )


def toapis_spec(
    profile: ProviderProfile, model_id: str, edit_model_id: str, size_table: SizeTableName
) -> ModelSpec:
    """The spec of a ToAPIs model; edits go to ``edit_model_id`` when it is another model."""
    edit = None
    if edit_model_id != model_id:
        edit = toapis_spec(profile, edit_model_id, edit_model_id, size_table)
    caps = profile.caps(model_id)
    return _spec(
        profile,
        model_id,
        size_table,
        supports_output_format=bool(caps.formats),
        supports_mask=caps.mask,
        supports_auto_ratio=caps.auto_ratio,
        reference_field=caps.reference_field,
        max_references=profile.max_references,
        max_prompt_chars=profile.max_prompt_chars,
        edit=edit,
    )


def openai_model_spec(
    profile: ProviderProfile,
    model_id: str,
    edit_model_id: str,
    size_table: SizeTableName = "seed",
) -> ModelSpec:
    """The spec of an OpenAI-compatible model: its sizes (free ``WxH`` or the listed ones).

    Edits (and, where ``references_via_edit``, any request with input images) are validated
    against the edit spec: its own prompt limit, masks, and ``auto`` (the allowed size nearest
    the first image's shape, which Easel sends).
    """
    masks = profile.caps(edit_model_id).mask
    common: dict[str, Any] = {
        "supports_output_format": True,
        "max_references": profile.max_references,
    }
    edit = _spec(
        profile,
        edit_model_id,
        size_table,
        supports_mask=masks,
        supports_auto_ratio=True,
        max_prompt_chars=profile.max_edit_prompt_chars,
        mask_refusal=None if masks else profile.mask_refusal,
        **common,
    )
    return _spec(
        profile,
        model_id,
        size_table,
        max_prompt_chars=profile.max_prompt_chars,
        references_via_edit=profile.references_via_edit,
        edit=edit,
        **common,
    )


def _read_toml(text: str, source: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("IMAGE_PROFILES_FILE", f"{source} is not valid TOML: {exc}") from None


def shipped_profile_data() -> dict[str, Any]:
    """The profiles shipped with Easel, as raw tables."""
    text = (resources.files("bot.providers") / "profiles.toml").read_text(encoding="utf-8")
    return _read_toml(text, "profiles.toml")


@cache
def shipped_profiles() -> Mapping[str, ProviderProfile]:
    """The shipped profiles, validated once (they never change while Easel runs)."""
    return load_profiles()


def load_profiles(extra_file: Path | None = None) -> dict[str, ProviderProfile]:
    """Shipped profiles, with ``extra_file``'s tables merged over them (or added), validated.

    A bad field raises ``ConfigError`` naming the profile and the field, so a typo in an
    admin's file stops the bot with one line instead of misbehaving later.
    """
    data = shipped_profile_data()
    if extra_file is not None:
        try:
            text = extra_file.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError("IMAGE_PROFILES_FILE", f"cannot read {extra_file}: {exc}") from None
        for name, table in _read_toml(text, str(extra_file)).items():
            if not isinstance(table, dict):
                raise ConfigError("IMAGE_PROFILES_FILE", f"{name} must be a table")
            data[name] = _merge(data.get(name, {}), table)
    profiles = {}
    for name, table in data.items():
        try:
            profiles[name] = ProviderProfile.model_validate({**table, "name": name})
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(part) for part in error["loc"])
            raise ConfigError(
                "IMAGE_PROFILES_FILE", f"profile {name}: {where}: {error['msg']}"
            ) from None
    return profiles


def _merge(base: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """``changes`` over ``base``, tables merged key by key."""
    merged = dict(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged
