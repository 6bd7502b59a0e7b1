"""Settings: sensible defaults, and one line naming the setting when one is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import load_settings
from bot.errors import ConfigError

KEY = "k" * 40


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith(("CHORUS_", "TELEGRAM_")):
            monkeypatch.delenv(name)


def test_defaults_need_only_a_secret_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHORUS_SECRET_KEY", KEY)
    settings = load_settings(None)
    assert settings.database_url == "sqlite+aiosqlite:///chorus.db"
    assert (settings.host, settings.port) == ("127.0.0.1", 8080)
    assert settings.timezone == "Europe/London"
    assert settings.min_group_size == 10
    assert settings.telegram_bot_token is None
    assert settings.telegram_api_base_url == "https://api.telegram.org/bot"


def test_a_dotenv_file_is_read_and_the_environment_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = tmp_path / ".env"
    env.write_text(f"CHORUS_SECRET_KEY={KEY}\nCHORUS_PORT=9000\nCHORUS_HOST=0.0.0.0\nTELEGRAM_BOT_TOKEN=\n")
    monkeypatch.setenv("CHORUS_PORT", "9100")
    settings = load_settings(env)
    assert (settings.host, settings.port, settings.telegram_bot_token) == ("0.0.0.0", 9100, None)


def test_every_setting_is_documented_in_env_example() -> None:
    from bot.config import Settings

    documented = (Path(__file__).parent.parent / ".env.example").read_text()
    for field in Settings.model_fields.values():
        assert f"\n{field.validation_alias}=" in documented, field.validation_alias


@pytest.mark.parametrize(
    ("environment", "message"),
    [
        ({}, "CHORUS_SECRET_KEY: is required but not set (in the environment or .env)"),
        ({"CHORUS_SECRET_KEY": "short"}, "CHORUS_SECRET_KEY: must be at least 32 characters"),
        (
            {"CHORUS_PORT": "eighty"},
            "CHORUS_PORT: Input should be a valid integer, unable to parse string as an integer (got 'eighty')",
        ),
        ({"CHORUS_PORT": "70000"}, "CHORUS_PORT: Input should be less than or equal to 65535 (got '70000')"),
        (
            {"CHORUS_TIMEZONE": "Mars/Olympus"},
            "CHORUS_TIMEZONE: 'Mars/Olympus' is not a time zone such as Europe/London",
        ),
        ({"CHORUS_MIN_GROUP_SIZE": "1"}, "CHORUS_MIN_GROUP_SIZE: Input should be greater than or equal to 2"),
        (
            {"CHORUS_DATABASE_URL": "mysql://x"},
            "CHORUS_DATABASE_URL: must start with sqlite+aiosqlite:// or postgresql+asyncpg://",
        ),
        ({"TELEGRAM_BOT_TOKEN": "not-a-token"}, "TELEGRAM_BOT_TOKEN: does not look like a bot token from @BotFather"),
        (
            {"TELEGRAM_API_BASE_URL": "api.telegram.org"},
            "TELEGRAM_API_BASE_URL: must be an http:// or https:// address",
        ),
        ({"CHORUS_WEBHOOK_SECRET": "has spaces in it!!"}, "CHORUS_WEBHOOK_SECRET: must be 16 to 256 characters"),
        ({"CHORUS_LOG_LEVEL": "LOUD"}, "CHORUS_LOG_LEVEL: must be DEBUG, INFO, WARNING or ERROR"),
        (
            {"TELEGRAM_BOT_TOKEN": "123456:" + "A" * 35, "CHORUS_PUBLIC_URL": "https://chorus.example.org"},
            "CHORUS_WEBHOOK_SECRET: required when CHORUS_PUBLIC_URL is set",
        ),
        (
            {
                "TELEGRAM_BOT_TOKEN": "123456:" + "A" * 35,
                "CHORUS_PUBLIC_URL": "http://chorus.example.org",
                "CHORUS_WEBHOOK_SECRET": "s" * 20,
            },
            "CHORUS_PUBLIC_URL: Telegram sends webhooks only to https:// addresses",
        ),
        (
            {
                "TELEGRAM_BOT_TOKEN": "123456:" + "A" * 35,
                "CHORUS_PUBLIC_URL": "https://chorus.example.org:8080",
                "CHORUS_WEBHOOK_SECRET": "s" * 20,
            },
            "CHORUS_PUBLIC_URL: Telegram sends webhooks only to ports 443, 80, 88 and 8443, not 8080",
        ),
        (
            {"CHORUS_PUBLIC_URL": "https://chorus.example.org:84430"},
            "CHORUS_PUBLIC_URL: 'https://chorus.example.org:84430' has a port that is not a number from 0 to 65535",
        ),
        (
            {"TELEGRAM_API_BASE_URL": "http://localhost:bot/bot"},
            "TELEGRAM_API_BASE_URL: 'http://localhost:bot/bot' has a port that is not a number from 0 to 65535",
        ),
    ],
)
def test_a_wrong_setting_is_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], message: str
) -> None:
    if "CHORUS_SECRET_KEY" not in environment and environment:
        monkeypatch.setenv("CHORUS_SECRET_KEY", KEY)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        load_settings(None)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_secrets_are_never_echoed_in_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHORUS_SECRET_KEY", "hunter2")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "leaky-token-value")
    with pytest.raises(ConfigError) as caught:
        load_settings(None)
    assert "hunter2" not in str(caught.value) and "leaky-token-value" not in str(caught.value)
