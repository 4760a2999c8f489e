"""Settings from the environment or a `.env` file (names are a public contract)."""

from __future__ import annotations

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# Same default as scheduler.timescales.vocabulary; `store` imports nothing of the project.
DEFAULT_CASE_PATTERN = r"[A-Za-z0-9]{3,20}"


class Settings(BaseSettings):
    """caseclock's settings; see `.env.example`."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    database_url: str = Field("sqlite:///caseclock.db",
                              validation_alias=AliasChoices("DATABASE_URL", "database_url"))
    policy_dir: str | None = Field(None, validation_alias=AliasChoices(
        "CASECLOCK_POLICY_DIR", "policy_dir"))
    case_pattern: str = Field(DEFAULT_CASE_PATTERN, validation_alias=AliasChoices(
        "CASECLOCK_CASE_PATTERN", "case_pattern"))
    slack_bot_token: str | None = Field(None, validation_alias=AliasChoices(
        "SLACK_BOT_TOKEN", "slack_bot_token"))
    slack_signing_secret: str | None = Field(None, validation_alias=AliasChoices(
        "SLACK_SIGNING_SECRET", "slack_signing_secret"))
    slack_app_token: str | None = Field(None, validation_alias=AliasChoices(
        "SLACK_APP_TOKEN", "slack_app_token"))
    slack_api_url: str = Field("https://slack.com/api/", validation_alias=AliasChoices(
        "SLACK_API_URL", "slack_api_url"))

    @property
    def slack_configured(self) -> bool:
        """True when Slack can be used (a bot token and a signing secret, or an app token)."""
        return bool(self.slack_bot_token and (self.slack_signing_secret or self.slack_app_token))
