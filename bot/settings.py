"""Settings from the environment and ``.env`` (pydantic-settings); secrets stay ``SecretStr``.

The names of the first block are a contract other tools rely on; do not rename them. Each image
provider's own settings are one nested block (``bot.provider_settings``).
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from bot.env_names import Variable, any_case, check_names, given_variables
from bot.errors import ConfigError
from bot.provider_settings import (
    LEGACY_PROVIDER,
    SANDBOX,
    FlatProviderNames,
    ProviderConfig,
    ProviderSettings,
    blank_is_none,
    http_url,
)
from bot.providers.catalog import DEFAULT_EDIT_MODEL, SizeTableName
from bot.providers.profiles import ProviderProfile, load_profiles
from bot.queue_settings import QueueSettings
from bot.scaling_settings import ScalingSettings
from bot.setting_errors import config_error
from bot.shard_settings import ShardSettings
from bot.state_paths import (
    SQLITE,
    StatePaths,
    check_container_paths,
    checked_database_url,
    data_root,
    default_database_url,
)

DEFAULT_DATABASE_URL = "sqlite:///data/easel.sqlite3"


class LogFormat(StrEnum):
    """How log lines look: for people (text) or for a log collector (json, one object a line)."""

    TEXT = "text"
    JSON = "json"


TOAPIS_BASE_URL = "https://toapis.com"


class Settings(BaseSettings, QueueSettings, ScalingSettings, ShardSettings):
    """Everything Easel reads from its environment. See ``.env.example`` for each one."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
        env_nested_delimiter="__",
    )

    # Discord
    discord_token: SecretStr | None = None
    discord_api_base: str | None = None
    discord_gateway_url: str | None = None
    dev_guild_id: int | None = None
    sync_commands: bool = True

    # Image API
    image_provider: str | None = None  # None: toapis when IMAGE_API_KEY is set, else sandbox
    image_api_base_url: str = TOAPIS_BASE_URL
    image_api_key: SecretStr | None = None
    image_model: str = "gpt-image-2"
    image_edit_model: str = DEFAULT_EDIT_MODEL  # seeds: gpt-image-1.5-official
    image_size_table: SizeTableName = "seed"
    image_request_timeout: float = Field(default=300.0, gt=0)
    job_timeout: float = Field(default=900.0, gt=0)
    submit_retry_budget: float = Field(default=60.0, ge=0)  # seconds an outage at submit is waited
    delivery_attempts: int = Field(default=8, ge=1)  # tries to reach a member before giving up
    delivery_retry_backoff: float = Field(default=5.0, gt=0)  # seconds before the second try
    poll_first_delay: float = Field(default=5.0, ge=0)
    poll_interval: float = Field(default=6.0, gt=0)
    upstream_queries_per_minute: float = Field(default=2400, gt=0)

    # More image APIs, and failover between them (see README "Image providers")
    image_providers: Annotated[list[str], NoDecode] = Field(default_factory=list)
    image_profiles_file: Path | None = None
    image_sync_timeout: float | None = Field(default=None, gt=0)  # None: the profile's (600 s)
    image_partial_images: int | None = Field(default=None, ge=0, le=3)  # None: the profile's
    image_moderation: Literal["auto", "low"] | None = None  # None: not sent (the API's auto)
    # Each provider's key, URL and models: PROVIDERS__<NAME>__API_KEY or <NAME>_API_KEY, …
    providers: dict[str, ProviderSettings] = Field(default_factory=dict)

    # Money: the host's budget for all servers together, in the image service's currency (its
    # price table's); days and months in UTC. Unset: no overall budget.
    global_monthly_budget: Decimal | None = Field(default=None, ge=0, allow_inf_nan=False)
    global_daily_budget: Decimal | None = Field(default=None, ge=0, allow_inf_nan=False)

    # Sandbox (the no-key default)
    sandbox_task_duration: float = Field(default=6.0, ge=0)
    sandbox_api: str = LEGACY_PROVIDER  # the profile whose API the sandbox emulates

    # State: everything Easel keeps lives under DATA_DIR (see ``state_dir``)
    data_dir: Path | None = None  # None: /data in the container, else data/ (or the DB's folder)
    # empty: sqlite:///<DATA_DIR>/easel.sqlite3; or postgresql://… shared by several processes
    database_url: SecretStr = SecretStr("")
    result_retention_days: float = Field(default=30, ge=0)  # 0 keeps job images forever

    # Playground (no DISCORD_TOKEN, or `python -m bot playground`): the page's port on 127.0.0.1
    playground_port: int = Field(default=8765, ge=0, le=65535)

    # The fair queue's caps: in ``QueueSettings``; scaling out (several processes on one
    # PostgreSQL): in ``ScalingSettings``; each process's shards and event loop (SHARD_COUNT,
    # SHARD_IDS, EVENT_LOOP): in ``ShardSettings``

    # Behaviour
    progress_edit_interval: float = Field(default=2.0, ge=0.5)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: LogFormat = LogFormat.TEXT

    # Operations: /healthz, /readyz and /metrics (bot/ops/server.py)
    http_host: str = "127.0.0.1"  # the container image sets 0.0.0.0
    http_port: int = Field(default=8080, ge=0, le=65535)  # 0 turns the server off
    metrics_file: Path | None = None  # benchmarks: loop lag and peak RSS as JSON (ops/loop_lag)

    # Set by the container image (Dockerfile), not by hand
    easel_in_container: bool = False  # then state must be on the /data volume
    easel_git_sha: str | None = None  # the commit the image was built from (logged at start)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """The usual sources, and after them the flat per-provider names (see the docstring)."""
        flat = FlatProviderNames(settings_cls, dotenv_settings, env_settings)
        return init_settings, env_settings, dotenv_settings, flat, file_secret_settings

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
        "global_monthly_budget",
        "global_daily_budget",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        """``KEY=`` in .env.example means "not set", not an empty value."""
        return blank_is_none(value)

    @field_validator("image_provider", "sandbox_api")
    @classmethod
    def _lower(cls, value: str | None) -> str | None:
        return value.strip().lower() if value is not None else None

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

    @field_validator("image_api_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        url = http_url(value)
        assert url is not None
        return url

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: SecretStr) -> SecretStr:
        return SecretStr(checked_database_url(value.get_secret_value()))

    @field_validator("data_dir", "easel_git_sha", mode="before")
    @classmethod
    def _blank_is_default(cls, value: Any) -> Any:
        """``DATA_DIR=`` means the default place, as if it were not there."""
        return blank_is_none(value)

    @field_validator("*", mode="before")
    @classmethod
    def _choice_any_case(cls, value: Any, info: ValidationInfo) -> Any:
        """``LOG_LEVEL=debug``, ``IMAGE_MODERATION=LOW``: a fixed choice is read in any case."""
        field = cls.model_fields.get(info.field_name or "")
        return any_case(field.annotation, value) if field else value

    @model_validator(mode="after")
    def _place_state(self) -> Settings:
        """One root for all state (``bot.state_paths.data_root``); the database is
        ``easel.sqlite3`` in it unless DATABASE_URL says otherwise."""
        url = self.database_url.get_secret_value()
        self.data_dir = data_root(self.data_dir, url, in_container=self.easel_in_container)
        if not url:
            self.database_url = SecretStr(default_database_url(self.data_dir))
        return self

    _provider_given: bool = PrivateAttr(default=False)  # IMAGE_PROVIDER was set, not derived

    @model_validator(mode="after")
    def _pick_provider(self) -> Settings:
        self._provider_given = self.image_provider is not None
        if self.image_provider is None:
            legacy = self.providers.get(LEGACY_PROVIDER)
            if self.image_providers:
                self.image_provider = self.image_providers[0]
            elif self.image_api_key is not None or (legacy and legacy.api_key is not None):
                self.image_provider = LEGACY_PROVIDER
            else:
                self.image_provider = SANDBOX
        return self

    @property
    def provider(self) -> str:
        """The primary provider (IMAGE_PROVIDER, else the first of IMAGE_PROVIDERS, else by key)."""
        assert self.image_provider is not None  # set by _pick_provider
        return self.image_provider

    @property
    def sandbox(self) -> bool:
        """True when no key is configured and the local emulator serves the jobs."""
        return self.provider == SANDBOX

    @property
    def sandbox_profile(self) -> str:
        """The profile whose API the sandbox emulates (SANDBOX_API; ``sandbox`` means ToAPIs)."""
        return LEGACY_PROVIDER if self.sandbox_api == SANDBOX else self.sandbox_api

    @property
    def provider_names(self) -> list[str]:
        """Every provider in failover order: IMAGE_PROVIDERS, or the one IMAGE_PROVIDER."""
        return list(self.image_providers) or [self.provider]

    @cached_property
    def profiles(self) -> dict[str, ProviderProfile]:
        """The shipped profiles with ``IMAGE_PROFILES_FILE`` merged over them."""
        return load_profiles(self.image_profiles_file)

    def provider_config(self, name: str) -> ProviderConfig:
        """Key, base URL and models of one provider; None means "the profile's default".

        The provider's own settings come first. The issue-2 names (``IMAGE_API_KEY``,
        ``IMAGE_API_BASE_URL``, ``IMAGE_MODEL``, ``IMAGE_EDIT_MODEL``) configure the primary
        provider, exactly as before for ToAPIs; ToAPIs' own URL, the default of
        ``IMAGE_API_BASE_URL``, is never sent to another API.
        """
        if name == SANDBOX:
            return ProviderConfig(name, None, None, None, None)
        own = self.providers.get(name) or ProviderSettings()
        primary = name == self.provider
        legacy = name == LEGACY_PROVIDER
        explicit = self.model_fields_set
        legacy_url = self.image_api_base_url
        use_legacy_url = primary and (legacy or legacy_url != TOAPIS_BASE_URL)
        use_legacy_model = primary and (legacy or "image_model" in explicit)
        edit_model = own.edit_model
        if edit_model is None and (legacy or (primary and "image_edit_model" in explicit)):
            edit_model = self.image_edit_model
        return ProviderConfig(
            name=name,
            api_key=own.api_key or (self.image_api_key if primary else None),
            base_url=own.base_url or (legacy_url if use_legacy_url else None),
            model=own.model or (self.image_model if use_legacy_model else None),
            edit_model=edit_model,
        )

    def check_providers(self) -> None:
        """Refuse a provider setup that cannot work, naming the variable to fix and its value."""
        profiles = list(self.profiles)
        listed = [("IMAGE_PROVIDERS", name) for name in self.image_providers]
        if self._provider_given:
            listed.insert(0, ("IMAGE_PROVIDER", self.provider))
        for setting, name in listed:
            _known(setting, name, [*profiles, SANDBOX])
        _known("SANDBOX_API", self.sandbox_api, [*profiles, SANDBOX])
        for name, block in self.providers.items():
            part = next(iter(block.model_fields_set), "api_key")
            _known(f"PROVIDERS__{name}__{part}".upper(), name, profiles)
        names = self.provider_names
        if len(set(names)) != len(names):
            twice = next(name for name in names if names.count(name) > 1)
            raise ConfigError("IMAGE_PROVIDERS", f"names {twice!r} twice")
        if SANDBOX in names and len(names) > 1:
            raise ConfigError(
                "IMAGE_PROVIDERS", "sandbox runs alone; list real providers only (or unset it)"
            )
        if self.image_providers and self.provider != self.image_providers[0]:
            raise ConfigError(
                "IMAGE_PROVIDER",
                f"is {self.provider!r} but IMAGE_PROVIDERS starts with "
                f"{self.image_providers[0]!r}: make them agree or drop IMAGE_PROVIDER",
            )
        for name in names:
            if name == SANDBOX or self.provider_config(name).api_key is not None:
                continue
            if name == self.provider and self._provider_given:
                raise ConfigError(
                    "IMAGE_API_KEY",
                    f"is not set but IMAGE_PROVIDER={name} needs it "
                    f"(or set {name.upper()}_API_KEY, or unset both).",
                )
            first = " (or IMAGE_API_KEY, for the first one)" if name == self.provider else ""
            raise ConfigError(
                f"{name.upper()}_API_KEY", f"is not set but IMAGE_PROVIDERS lists {name}{first}."
            )

    def check_money(self) -> None:
        """Refuse a budget no job could be checked against, and providers that bill in
        different currencies (budgets and reports add their costs up)."""
        names = [self.sandbox_profile] if self.sandbox else self.provider_names
        profiles = [self.profiles[name] for name in names]
        currencies = {profile.currency for profile in profiles}
        if len(currencies) > 1:
            listed = ", ".join(f"{p.name} {p.currency}" for p in profiles)
            raise ConfigError(
                "IMAGE_PROFILES_FILE",
                f"the providers in IMAGE_PROVIDERS bill in different currencies ({listed}); "
                "budgets and reports need one: give them the same currency",
            )
        primary = profiles[0]
        config = self.provider_config(primary.name)
        if not primary.prices(config.model).published:
            for setting in ("global_monthly_budget", "global_daily_budget"):
                if getattr(self, setting) is not None:
                    raise ConfigError(
                        setting.upper(),
                        f"is set but {primary.name}'s prices are unknown, so no job could be "
                        "checked against it: give its prices in IMAGE_PROFILES_FILE (README: "
                        "'Prices')",
                    )

    @property
    def database_path(self) -> Path | None:
        """The SQLite file behind DATABASE_URL (None: PostgreSQL, a database server)."""
        url = self.database_url.get_secret_value()
        return Path(url.removeprefix(SQLITE)) if url.startswith(SQLITE) else None

    @property
    def state_dir(self) -> Path:
        """DATA_DIR: the root of everything Easel keeps, whatever decided it (``_place_state``).
        With PostgreSQL, several processes share its ``files/``: one volume every process
        mounts (any process may finish or re-roll any job, so each must read the others')."""
        assert self.data_dir is not None  # set by _place_state
        return self.data_dir

    @property
    def state_paths(self) -> StatePaths:
        """The database file, stored images, command fingerprint and backups, by name."""
        return StatePaths.of(self.state_dir, self.database_path)

    def check_state_paths(self) -> None:
        """Inside the container, refuse state that would land outside the volume."""
        if self.easel_in_container:
            check_container_paths(self.state_dir, self.database_path)

    def check_sandbox_chosen(self) -> None:
        """With a Discord token (a real server's members) and no image API key, refuse to run
        the sandbox unless it was chosen: placeholders never reach members by accident."""
        chosen = self._provider_given or SANDBOX in self.image_providers
        if self.discord_token is None or not self.sandbox or chosen:
            return
        raise ConfigError(
            "IMAGE_API_KEY",
            "is not set, so the members of your Discord server would get the sandbox's "
            "placeholder images. Set IMAGE_API_KEY (or <NAME>_API_KEY of your provider), or set "
            "IMAGE_PROVIDER=sandbox to run the sandbox on purpose.",
        )

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


def _known(setting: str, name: str, known: list[str]) -> None:
    """Refuse a provider name that is no profile, listing the names that are."""
    if name not in known:
        raise ConfigError(setting, f"unknown provider {name!r} (known: {', '.join(known)})")


def load_settings(**overrides: Any) -> Settings:
    """Build settings, turning the first problem into a ConfigError naming the variable.

    A variable that looks like a setting but is none comes first: it is usually the cause.
    """
    variables = given_variables(overrides.get("_env_file", Settings.model_config.get("env_file")))
    if overrides.get("image_profiles_file"):
        given = str(overrides["image_profiles_file"])
        variables["IMAGE_PROFILES_FILE"] = Variable("IMAGE_PROFILES_FILE", "arguments", given)
    check_names(Settings, variables)
    try:
        settings = Settings(**overrides)
    except (SettingsError, ValidationError) as exc:
        raise config_error(exc) from None
    settings.check_providers()  # loads the profiles: a bad IMAGE_PROFILES_FILE stops the start
    settings.check_state_paths()
    settings.check_money()
    settings.check_leases()
    settings.shard_plan()  # SHARD_IDS without SHARD_COUNT, or out of range, stops the start
    return settings
