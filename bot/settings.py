"""Settings from the environment and ``.env`` (pydantic-settings); secrets stay ``SecretStr``.

The names of the first block are a contract other tools rely on; do not rename them.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.errors import ConfigError
from bot.jobs.queue import QueueLimits
from bot.providers.catalog import DEFAULT_EDIT_MODEL, SizeTableName

DEFAULT_DATABASE_URL = "sqlite:///data/easel.sqlite3"


class ProviderName(StrEnum):
    """Which upstream serves image jobs."""

    TOAPIS = "toapis"
    SANDBOX = "sandbox"


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
    image_api_base_url: str = "https://toapis.com"
    image_api_key: SecretStr | None = None
    image_model: str = "gpt-image-2"
    image_edit_model: str = DEFAULT_EDIT_MODEL  # seeds: gpt-image-1.5-official
    image_size_table: SizeTableName = "seed"
    image_request_timeout: float = Field(default=300.0, gt=0)
    job_timeout: float = Field(default=900.0, gt=0)
    poll_first_delay: float = Field(default=5.0, ge=0)
    poll_interval: float = Field(default=6.0, gt=0)
    upstream_queries_per_minute: float = Field(default=2400, gt=0)

    # Fair queue: how many jobs run upstream at once
    max_concurrent_jobs: int = Field(default=50, ge=1)
    max_jobs_per_guild: int = Field(default=20, ge=1)
    max_jobs_per_member: int = Field(default=3, ge=1)

    # Sandbox (the no-key default)
    sandbox_task_duration: float = Field(default=6.0, ge=0)

    # State
    database_url: str = DEFAULT_DATABASE_URL
    result_retention_days: float = Field(default=30, ge=0)  # 0 keeps job images forever

    # Behaviour
    progress_edit_interval: float = Field(default=2.0, ge=0.5)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    metrics_file: Path | None = None  # benchmarks: loop lag and peak RSS as JSON (bot/metrics.py)

    @field_validator(
        "discord_token",
        "discord_api_base",
        "discord_gateway_url",
        "dev_guild_id",
        "image_provider",
        "image_api_key",
        "metrics_file",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        """``KEY=`` in .env.example means "not set", not an empty value."""
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("image_api_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
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
            self.image_provider = (
                ProviderName.TOAPIS if self.image_api_key is not None else ProviderName.SANDBOX
            )
        return self

    @property
    def provider(self) -> ProviderName:
        """The provider in force (resolved from IMAGE_PROVIDER and IMAGE_API_KEY)."""
        assert self.image_provider is not None  # set by _pick_provider
        return self.image_provider

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
    if settings.provider is ProviderName.TOAPIS:
        settings.require_image_api_key()
    return settings


def _describe(error: Any, *, show_input: bool) -> str:
    value = error.get("input")
    hidden = not show_input or value is None or isinstance(value, dict)
    shown = "" if hidden else f" (got {str(value)[:60]!r})"
    return f"{error['msg']}{shown}"
