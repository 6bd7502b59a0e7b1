"""Settings from the environment and a .env file, checked once at start-up.

Every setting is in .env.example with a line saying what it is for. A wrong
one stops start-up with one line naming it: an operator should never have to
read a traceback to find a typo.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.errors import ConfigError
from bot.schedule import QuietHours, trigger

TELEGRAM_TOKEN = re.compile(r"\d+:[A-Za-z0-9_-]{20,}")
WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{16,256}")
WEBHOOK_PORTS = (443, 80, 88, 8443)  # the only ports Telegram's own Bot API delivers webhooks to
MIN_SECRET_KEY_LENGTH = 32
ADDRESS = r"[^<>@\s]+@[^<>@\s]+\.[^<>@\s]+"
EMAIL = re.compile(ADDRESS)
MAIL_FROM = re.compile(rf"{ADDRESS}|[^<>]*<{ADDRESS}>")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore", env_ignore_empty=True)

    database_url: str = Field("sqlite+aiosqlite:///chorus.db", validation_alias="CHORUS_DATABASE_URL")
    telegram_bot_token: SecretStr | None = Field(None, validation_alias="TELEGRAM_BOT_TOKEN")
    telegram_api_base_url: str = Field("https://api.telegram.org/bot", validation_alias="TELEGRAM_API_BASE_URL")
    telegram_rate_limit: float = Field(30.0, gt=0, le=10_000, validation_alias="TELEGRAM_RATE_LIMIT")
    telegram_chat_rate_limit: float = Field(1.0, gt=0, le=10_000, validation_alias="TELEGRAM_CHAT_RATE_LIMIT")
    telegram_chat_burst: int = Field(3, ge=1, le=10_000, validation_alias="TELEGRAM_CHAT_BURST")
    telegram_group_rate_per_minute: float = Field(20.0, gt=0, le=10_000, validation_alias="TELEGRAM_GROUP_RATE_LIMIT")
    public_url: str | None = Field(None, validation_alias="CHORUS_PUBLIC_URL")
    webhook_secret: SecretStr | None = Field(None, validation_alias="CHORUS_WEBHOOK_SECRET")
    secret_key: SecretStr = Field(validation_alias="CHORUS_SECRET_KEY")
    host: str = Field("127.0.0.1", validation_alias="CHORUS_HOST")
    port: int = Field(8080, ge=1, le=65535, validation_alias="CHORUS_PORT")
    timezone: str = Field("Europe/London", validation_alias="CHORUS_TIMEZONE")
    min_group_size: int = Field(10, ge=2, le=1000, validation_alias="CHORUS_MIN_GROUP_SIZE")
    retention_days: int = Field(730, ge=30, le=3650, validation_alias="CHORUS_RETENTION_DAYS")
    log_level: str = Field("INFO", validation_alias="CHORUS_LOG_LEVEL")
    quiet_hours: str = Field("21:00-09:00", validation_alias="CHORUS_QUIET_HOURS")
    invite_cool_off_days: int = Field(14, ge=0, le=365, validation_alias="CHORUS_INVITE_COOL_OFF_DAYS")
    summary_schedule: str = Field("0 8 * * 1", validation_alias="CHORUS_SUMMARY_SCHEDULE")
    smtp_host: str | None = Field(None, validation_alias="CHORUS_SMTP_HOST")
    smtp_port: int = Field(587, ge=1, le=65535, validation_alias="CHORUS_SMTP_PORT")
    smtp_security: Literal["starttls", "tls", "none"] = Field("starttls", validation_alias="CHORUS_SMTP_SECURITY")
    smtp_username: str | None = Field(None, validation_alias="CHORUS_SMTP_USERNAME")
    smtp_password: SecretStr | None = Field(None, validation_alias="CHORUS_SMTP_PASSWORD")
    mail_from: str | None = Field(None, validation_alias="CHORUS_MAIL_FROM")
    backup_dir: Path | None = Field(None, validation_alias="CHORUS_BACKUP_DIR")
    backup_hours: int = Field(24, ge=1, le=168, validation_alias="CHORUS_BACKUP_HOURS")
    backup_keep: int = Field(7, ge=1, le=1000, validation_alias="CHORUS_BACKUP_KEEP")

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        return value

    @field_validator("telegram_bot_token")
    @classmethod
    def _token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not TELEGRAM_TOKEN.fullmatch(value.get_secret_value()):
            raise ValueError("does not look like a bot token from @BotFather (digits, a colon, then letters)")
        return value

    @field_validator("telegram_api_base_url", "public_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not re.fullmatch(r"https?://[^\s/]+(/\S*)?", value):
            raise ValueError(f"must be an http:// or https:// address, not '{value}'")
        if _port_of(value) is None:
            raise ValueError(f"'{value}' has a port that is not a number from 0 to 65535")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not WEBHOOK_SECRET.fullmatch(value.get_secret_value()):
            raise ValueError("must be 16 to 256 characters of letters, digits, _ and - (Telegram's rule)")
        return value

    @field_validator("secret_key")
    @classmethod
    def _secret_key(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < MIN_SECRET_KEY_LENGTH:
            raise ValueError(f"must be at least {MIN_SECRET_KEY_LENGTH} characters; make one with `make .env`")
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"'{value}' is not a time zone such as Europe/London") from None
        return value

    @field_validator("quiet_hours")
    @classmethod
    def _quiet_hours(cls, value: str) -> str:
        QuietHours.parse(value)
        return value

    @field_validator("summary_schedule")
    @classmethod
    def _summary_schedule(cls, value: str) -> str:
        try:
            trigger(value)
        except ValueError as error:
            raise ValueError(f"'{value}' is not a cron expression such as '0 8 * * 1' ({error})") from None
        return value

    @field_validator("mail_from")
    @classmethod
    def _mail_from(cls, value: str | None) -> str | None:
        if value is not None and not MAIL_FROM.fullmatch(value):
            raise ValueError(
                f"'{value}' is not an address such as chorus@council.example or Chorus <chorus@council.example>"
            )
        return value

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        if value.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
        return value.upper()


def load_settings(env_file: Path | str | None = ".env", **overrides: Any) -> Settings:
    """Read and check the settings; raises ConfigError with one line per wrong setting."""
    try:
        settings = Settings(_env_file=env_file, **overrides)  # type: ignore[call-arg]
    except ValidationError as error:
        raise ConfigError("\n".join(_describe(e) for e in error.errors())) from None
    if settings.public_url and settings.telegram_bot_token:
        telegram_own = settings.telegram_api_base_url.startswith("https://api.telegram.org")
        if telegram_own and not settings.public_url.startswith("https://"):
            raise ConfigError("CHORUS_PUBLIC_URL: Telegram sends webhooks only to https:// addresses")
        port = _port_of(settings.public_url)
        if telegram_own and port not in WEBHOOK_PORTS:
            raise ConfigError(
                f"CHORUS_PUBLIC_URL: Telegram sends webhooks only to ports 443, 80, 88 and 8443, not {port}"
            )
        if settings.webhook_secret is None:
            raise ConfigError(
                "CHORUS_WEBHOOK_SECRET: required when CHORUS_PUBLIC_URL is set, so forged updates are refused"
            )
    if settings.backup_dir is not None:
        if not settings.database_url.startswith("sqlite"):
            raise ConfigError(
                "CHORUS_BACKUP_DIR: backs up the embedded SQLite database; back up PostgreSQL with pg_dump"
            )
        if settings.backup_dir.exists() and not settings.backup_dir.is_dir():
            raise ConfigError(f"CHORUS_BACKUP_DIR: {settings.backup_dir} is a file, not a folder")
    if settings.smtp_host and not settings.mail_from:
        raise ConfigError("CHORUS_MAIL_FROM: required when CHORUS_SMTP_HOST is set: the address summaries come from")
    return settings


def _port_of(url: str) -> int | None:
    """The port an http(s) address names, or its scheme's; None when what it names is not a port."""
    parts = urlsplit(url)
    try:
        return parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return None


def _describe(error: Any) -> str:
    name = ".".join(str(part) for part in error["loc"]) or "settings"
    if error["type"] == "missing":
        return f"{name}: is required but not set (in the environment or .env)"
    message = str(error["msg"]).removeprefix("Value error, ")
    given = error.get("input")
    private = any(word in name for word in ("SECRET", "TOKEN", "PASSWORD"))
    shown = "" if private or not isinstance(given, str | int) or str(given) in message else f" (got '{given}')"
    return f"{name}: {message}{shown}"
