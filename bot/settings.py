"""Settings from the environment and ``.env`` (pydantic-settings); secrets stay ``SecretStr``.

The names of the first block are a contract other tools rely on; do not rename them.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal, NamedTuple

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.errors import ConfigError
from bot.jobs.queue import QueueLimits
from bot.providers.catalog import DEFAULT_EDIT_MODEL, SizeTableName
from bot.providers.profiles import load_profiles

DEFAULT_DATABASE_URL = "sqlite:///data/easel.sqlite3"


class ProviderName(StrEnum):
    """Which upstream serves image jobs (each but the sandbox is a profile in profiles.toml)."""

    TOAPIS = "toapis"
    SANDBOX = "sandbox"
    INFINITYBLUE = "infinityblue"
    STARRISE = "starrise"
    ANYFAST = "anyfast"
    OPENAI = "openai"


class LogFormat(StrEnum):
    """How log lines look: for people (text) or for a log collector (json, one object a line)."""

    TEXT = "text"
    JSON = "json"


TOAPIS_BASE_URL = "https://toapis.com"
# Providers with their own <NAME>_API_KEY, <NAME>_BASE_URL and <NAME>_MODEL settings.
NAMED_PROVIDERS = tuple(name for name in ProviderName if name is not ProviderName.SANDBOX)


class ProviderConfig(NamedTuple):
    """Where one provider lives and which key and models Easel uses there (None: profile's)."""

    name: ProviderName
    api_key: SecretStr | None
    base_url: str | None
    model: str | None
    edit_model: str | None


class Settings(BaseSettings):
    """Everything Easel reads from its environment. See ``.env.example`` for each one."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    # Discord
    discord_token: SecretStr | None = None
    discord_api_base: str | None = None
    discord_gateway_url: str | None = None
    dev_guild_id: int | None = None
    sync_commands: bool = True

    # Image API
    image_provider: ProviderName | None = (
        None  # None: toapis when IMAGE_API_KEY is set, else sandbox
    )
    image_api_base_url: str = TOAPIS_BASE_URL
    image_api_key: SecretStr | None = None
    image_model: str = "gpt-image-2"
    image_edit_model: str = DEFAULT_EDIT_MODEL  # seeds: gpt-image-1.5-official
    image_size_table: SizeTableName = "seed"
    image_request_timeout: float = Field(default=300.0, gt=0)
    job_timeout: float = Field(default=900.0, gt=0)
    poll_first_delay: float = Field(default=5.0, ge=0)
    poll_interval: float = Field(default=6.0, gt=0)
    upstream_queries_per_minute: float = Field(default=2400, gt=0)

    # More image APIs, and failover between them (see README "Image providers")
    image_providers: Annotated[list[ProviderName], NoDecode] = Field(default_factory=list)
    image_profiles_file: Path | None = None
    image_sync_timeout: float | None = Field(default=None, gt=0)  # None: the profile's (600 s)
    image_partial_images: int | None = Field(default=None, ge=0, le=3)  # None: the profile's
    image_moderation: Literal["auto", "low"] | None = None  # None: not sent (the API's auto)
    toapis_api_key: SecretStr | None = None
    toapis_base_url: str | None = None
    toapis_model: str | None = None
    infinityblue_api_key: SecretStr | None = None
    infinityblue_base_url: str | None = None
    infinityblue_model: str | None = None
    starrise_api_key: SecretStr | None = None
    starrise_base_url: str | None = None
    starrise_model: str | None = None
    anyfast_api_key: SecretStr | None = None
    anyfast_base_url: str | None = None
    anyfast_model: str | None = None
    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None
    openai_model: str | None = None

    # Fair queue: how many jobs run upstream at once
    max_concurrent_jobs: int = Field(default=50, ge=1)
    max_jobs_per_guild: int = Field(default=20, ge=1)
    max_jobs_per_member: int = Field(default=3, ge=1)

    # Sandbox (the no-key default)
    sandbox_task_duration: float = Field(default=6.0, ge=0)
    sandbox_api: ProviderName = ProviderName.TOAPIS  # which API the sandbox emulates

    # State
    database_url: str = DEFAULT_DATABASE_URL
    result_retention_days: float = Field(default=30, ge=0)  # 0 keeps job images forever

    # Behaviour
    progress_edit_interval: float = Field(default=2.0, ge=0.5)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: LogFormat = LogFormat.TEXT

    # Operations: /healthz, /readyz and /metrics (bot/ops/server.py)
    http_host: str = "127.0.0.1"  # the container image sets 0.0.0.0
    http_port: int = Field(default=8080, ge=0, le=65535)  # 0 turns the server off
    metrics_file: Path | None = None  # benchmarks: loop lag and peak RSS as JSON (ops/loop_lag)

    @field_validator(
        "discord_token",
        "discord_api_base",
        "discord_gateway_url",
        "dev_guild_id",
        "image_provider",
        "image_api_key",
        "metrics_file",
        "image_profiles_file",
        "image_sync_timeout",
        "image_partial_images",
        "image_moderation",
        *(
            f"{name}_{part}"
            for name in NAMED_PROVIDERS
            for part in ("api_key", "base_url", "model")
        ),
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        """``KEY=`` in .env.example means "not set", not an empty value."""
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("log_format", mode="before")
    @classmethod
    def _lower_case(cls, value: Any) -> Any:
        """``LOG_FORMAT=JSON`` works too."""
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("image_providers", mode="before")
    @classmethod
    def _comma_list(cls, value: Any) -> Any:
        """``IMAGE_PROVIDERS=openai,starrise``: names in failover order."""
        if isinstance(value, str):
            return [part.strip().lower() for part in value.split(",") if part.strip()]
        return value

    @field_validator("image_api_base_url", *(f"{name}_base_url" for name in NAMED_PROVIDERS))
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _sqlite_url(cls, value: str) -> str:
        if not value.startswith("sqlite:///"):
            raise ValueError("only sqlite:///PATH is supported (PostgreSQL is planned)")
        return value

    @model_validator(mode="after")
    def _pick_provider(self) -> Settings:
        if self.image_provider is None:
            if self.image_providers:
                self.image_provider = self.image_providers[0]
            elif self.image_api_key is not None or self.toapis_api_key is not None:
                self.image_provider = ProviderName.TOAPIS
            else:
                self.image_provider = ProviderName.SANDBOX
        return self

    @property
    def provider(self) -> ProviderName:
        """The primary provider (IMAGE_PROVIDER, else the first of IMAGE_PROVIDERS, else by key)."""
        assert self.image_provider is not None  # set by _pick_provider
        return self.image_provider

    @property
    def provider_names(self) -> list[ProviderName]:
        """Every provider in failover order: IMAGE_PROVIDERS, or the one IMAGE_PROVIDER."""
        return list(self.image_providers) or [self.provider]

    def provider_config(self, name: ProviderName) -> ProviderConfig:
        """Key, base URL and models of one provider; None means "the profile's default".

        ``<NAME>_API_KEY``, ``<NAME>_BASE_URL`` and ``<NAME>_MODEL`` come first. The issue-2
        names (``IMAGE_API_KEY``, ``IMAGE_API_BASE_URL``, ``IMAGE_MODEL``, ``IMAGE_EDIT_MODEL``)
        configure the primary provider, exactly as before for ToAPIs; ToAPIs' own URL, the
        default of ``IMAGE_API_BASE_URL``, is never sent to another API.
        """
        if name is ProviderName.SANDBOX:
            return ProviderConfig(name, None, None, None, None)
        primary = name is self.provider
        own_key: SecretStr | None = getattr(self, f"{name.value}_api_key")
        own_url: str | None = getattr(self, f"{name.value}_base_url")
        own_model: str | None = getattr(self, f"{name.value}_model")
        toapis = name is ProviderName.TOAPIS
        explicit = self.model_fields_set
        legacy_url = self.image_api_base_url
        use_legacy_url = primary and (toapis or legacy_url != TOAPIS_BASE_URL)
        use_legacy_model = primary and (toapis or "image_model" in explicit)
        edit_model = None
        if toapis or (primary and "image_edit_model" in explicit):
            edit_model = self.image_edit_model
        return ProviderConfig(
            name=name,
            api_key=own_key or (self.image_api_key if primary else None),
            base_url=own_url or (legacy_url if use_legacy_url else None),
            model=own_model or (self.image_model if use_legacy_model else None),
            edit_model=edit_model,
        )

    def check_providers(self) -> None:
        """Refuse a provider list that cannot work, naming the setting to fix."""
        names = self.provider_names
        if len(set(names)) != len(names):
            raise ConfigError("IMAGE_PROVIDERS", "names a provider twice")
        if ProviderName.SANDBOX in names and len(names) > 1:
            raise ConfigError(
                "IMAGE_PROVIDERS", "sandbox runs alone; list real providers only (or unset it)"
            )
        if self.image_providers and self.image_provider is not self.image_providers[0]:
            raise ConfigError(
                "IMAGE_PROVIDER",
                f"is {self.image_provider} but IMAGE_PROVIDERS starts with "
                f"{self.image_providers[0]}: make them agree or drop IMAGE_PROVIDER",
            )
        for name in names:
            if name is ProviderName.SANDBOX or self.provider_config(name).api_key is not None:
                continue
            if name is self.provider:
                raise ConfigError(
                    "IMAGE_API_KEY",
                    f"is not set but IMAGE_PROVIDER={name} needs it "
                    f"(or set {name.upper()}_API_KEY, or unset both).",
                )
            raise ConfigError(
                f"{name.upper()}_API_KEY", f"is not set but IMAGE_PROVIDERS lists {name}."
            )

    def queue_limits(self) -> QueueLimits:
        """The fair queue's caps."""
        return QueueLimits(
            global_jobs=self.max_concurrent_jobs,
            per_guild=self.max_jobs_per_guild,
            per_member=self.max_jobs_per_member,
        )

    @property
    def database_path(self) -> Path:
        """The SQLite file behind DATABASE_URL."""
        return Path(self.database_url.removeprefix("sqlite:///"))

    def require_discord_token(self) -> SecretStr:
        """The bot token, or a ConfigError saying how to get one."""
        if self.discord_token is None:
            raise ConfigError(
                "DISCORD_TOKEN",
                "is not set. Create a bot at https://discord.com/developers/applications, "
                "copy its token into .env (see .env.example).",
            )
        return self.discord_token

    def require_image_api_key(self) -> SecretStr:
        """The image API key for the real provider."""
        if self.image_api_key is None:
            raise ConfigError(
                "IMAGE_API_KEY", "is not set but IMAGE_PROVIDER=toapis needs it (or unset both)."
            )
        return self.image_api_key


def load_settings(**overrides: Any) -> Settings:
    """Build settings, turning the first validation problem into a ConfigError naming it."""
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        error = exc.errors()[0]
        setting = "_".join(str(part) for part in error["loc"]).upper() or "settings"
        secret = any(word in setting for word in ("TOKEN", "KEY"))
        raise ConfigError(setting, _describe(error, show_input=not secret)) from None
    settings.check_providers()
    load_profiles(settings.image_profiles_file)  # a bad IMAGE_PROFILES_FILE stops the start
    return settings


def _describe(error: Any, *, show_input: bool) -> str:
    value = error.get("input")
    hidden = not show_input or value is None or isinstance(value, dict)
    shown = "" if hidden else f" (got {str(value)[:60]!r})"
    return f"{error['msg']}{shown}"
