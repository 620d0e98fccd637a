"""Each image provider's settings: one nested block per profile name, and the flat names.

Each image provider is a profile (``profiles.toml``, or an admin's ``IMAGE_PROFILES_FILE``) and
has one nested block of settings: ``PROVIDERS__<NAME>__API_KEY``, ``…__BASE_URL``, ``…__MODEL``
and ``…__EDIT_MODEL``. The flat names ``<NAME>_API_KEY`` (and the others) mean the same and keep
working, for any profile; the nested name wins when both are set.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict, SecretStr, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from bot.errors import ConfigError
from bot.providers.profiles import shipped_profile_data

SANDBOX = "sandbox"  # not a profile: the local emulator of one (SANDBOX_API), with no key
# The provider the issue-2 names (IMAGE_API_KEY, IMAGE_MODEL, …) were written for: their
# defaults (ToAPIs' URL, gpt-image-2, its edit model) apply to it and to no other.
LEGACY_PROVIDER = "toapis"
PROVIDER_PARTS = ("api_key", "base_url", "model", "edit_model")


def blank_is_none(value: Any) -> Any:
    """``KEY=`` in .env.example means "not set", not an empty value."""
    return None if isinstance(value, str) and not value.strip() else value


def http_url(value: str | None) -> str | None:
    """A base URL without its trailing slash; anything but http(s) is refused."""
    if value is None:
        return None
    if not value.startswith(("http://", "https://")):
        raise ValueError(f"must start with http:// or https:// (got {value[:60]!r})")
    return value.rstrip("/")


class ProviderSettings(BaseModel):
    """One provider's key, base URL and models; None means "the profile's own"."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    api_key: SecretStr | None = None
    base_url: str | None = None
    model: str | None = None
    edit_model: str | None = None

    @field_validator(*PROVIDER_PARTS, mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        return blank_is_none(value)

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str | None) -> str | None:
        return http_url(value)


class ProviderConfig(NamedTuple):
    """Where one provider lives and which key and models Easel uses there (None: profile's)."""

    name: str
    api_key: SecretStr | None
    base_url: str | None
    model: str | None
    edit_model: str | None


class FlatProviderNames(PydanticBaseSettingsSource):
    """``<NAME>_API_KEY``, ``<NAME>_BASE_URL``, ``<NAME>_MODEL``, ``<NAME>_EDIT_MODEL``.

    The names of today's ``.env`` files, read into the nested ``providers`` block for every
    shipped profile and every name ``IMAGE_PROVIDERS``, ``IMAGE_PROVIDER`` or ``SANDBOX_API``
    lists (so a profile an admin adds works the same way). A nested value set as well wins.
    Runs after the environment and ``.env`` sources, whose variables it reads.
    """

    def __init__(
        self, settings_cls: type[BaseSettings], *sources: PydanticBaseSettingsSource
    ) -> None:
        super().__init__(settings_cls)
        self._sources = sources  # lowest priority first: .env, then the environment

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        """Unused: ``__call__`` reads whole variables, not fields."""
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        variables: dict[str, str] = {}
        for source in self._sources:
            found = getattr(source, "env_vars", {})
            variables.update({k.lower(): v for k, v in found.items() if isinstance(v, str)})
        state = self.current_state
        nested = state.get("providers") or {}
        blocks: dict[str, dict[str, str]] = {}
        for name in _names_to_read(state):
            already = nested.get(name) or {}
            for part in PROVIDER_PARTS:
                value = variables.get(f"{name}_{part}")
                if value is None or not value.strip() or part in already:
                    continue
                if part == "base_url":
                    try:
                        http_url(value)
                    except ValueError as exc:
                        raise ConfigError(f"{name}_{part}".upper(), str(exc)) from None
                blocks.setdefault(name, {})[part] = value
        return {"providers": blocks} if blocks else {}


def _names_to_read(state: dict[str, Any]) -> list[str]:
    """Shipped profile names, then every name the provider settings list."""
    names = list(shipped_profile_data())
    for key in ("image_providers", "image_provider", "sandbox_api"):
        value = state.get(key)
        parts = value.split(",") if isinstance(value, str) else list(value or [])
        names += [str(part).strip().lower() for part in parts if str(part).strip()]
    return list(dict.fromkeys(n for n in names if n.isidentifier() and n != SANDBOX))
