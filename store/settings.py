"""Settings from the environment or a `.env` file (names are a public contract)."""

from __future__ import annotations

import re

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """caseclock's settings; see `.env.example`."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    database_url: str = Field("sqlite:///caseclock.db",
                              validation_alias=AliasChoices("DATABASE_URL", "database_url"))
    policy_dir: str | None = Field(None, validation_alias=AliasChoices(
        "CASECLOCK_POLICY_DIR", "policy_dir"))
    # None means the default of scheduler.timescales.vocabulary (DEFAULT_CASE_PATTERN), the
    # one place it is written: `store` imports nothing of the project, so it is not copied.
    case_pattern: str | None = Field(None, validation_alias=AliasChoices(
        "CASECLOCK_CASE_PATTERN", "case_pattern"))
    slack_bot_token: str | None = Field(None, validation_alias=AliasChoices(
        "SLACK_BOT_TOKEN", "slack_bot_token"))
    slack_signing_secret: str | None = Field(None, validation_alias=AliasChoices(
        "SLACK_SIGNING_SECRET", "slack_signing_secret"))
    slack_app_token: str | None = Field(None, validation_alias=AliasChoices(
        "SLACK_APP_TOKEN", "slack_app_token"))
    # Where `caseclock serve` is reached from outside: the start of calendar feed URLs.
    public_url: str = Field("http://127.0.0.1:3000", validation_alias=AliasChoices(
        "CASECLOCK_PUBLIC_URL", "public_url"))
    slack_api_url: str = Field("https://slack.com/api/", validation_alias=AliasChoices(
        "SLACK_API_URL", "slack_api_url"))

    # --- Microsoft Teams (bot/transports/teams) ---------------------------------------------
    teams_app_id: str | None = Field(None, validation_alias=AliasChoices(
        "TEAMS_APP_ID", "teams_app_id"))
    teams_app_password: str | None = Field(None, validation_alias=AliasChoices(
        "TEAMS_APP_PASSWORD", "teams_app_password"))
    teams_tenant_id: str | None = Field(None, validation_alias=AliasChoices(
        "TEAMS_TENANT_ID", "teams_tenant_id"))
    # Tests only: where Bot Framework's OpenID metadata (and its key set beside it) and the
    # bot's token endpoint are served; unset, Microsoft's own.
    teams_openid_metadata_url: str | None = Field(None, validation_alias=AliasChoices(
        "TEAMS_OPENID_METADATA_URL", "teams_openid_metadata_url"))
    teams_login_url: str | None = Field(None, validation_alias=AliasChoices(
        "TEAMS_LOGIN_URL", "teams_login_url"))
    # Microsoft Graph (Outlook email, Teams activity feed): an Entra app's client
    # credentials (may be the Teams bot's app) and the mailbox emails are sent from.
    graph_tenant_id: str | None = Field(None, validation_alias=AliasChoices(
        "GRAPH_TENANT_ID", "graph_tenant_id"))
    graph_client_id: str | None = Field(None, validation_alias=AliasChoices(
        "GRAPH_CLIENT_ID", "graph_client_id"))
    graph_client_secret: str | None = Field(None, validation_alias=AliasChoices(
        "GRAPH_CLIENT_SECRET", "graph_client_secret"))
    graph_sender: str | None = Field(None, validation_alias=AliasChoices(
        "GRAPH_SENDER", "graph_sender"))
    # Where Graph and the token endpoint are: tests and national clouds point them elsewhere.
    graph_api_url: str = Field("https://graph.microsoft.com/v1.0", validation_alias=AliasChoices(
        "GRAPH_API_URL", "graph_api_url"))
    graph_authority: str = Field("login.microsoftonline.com", validation_alias=AliasChoices(
        "GRAPH_AUTHORITY", "graph_authority"))

    @field_validator("case_pattern")
    @classmethod
    def _pattern_compiles(cls, v: str | None) -> str | None:
        # A typo in the pattern should stop start-up with its cause, not fail at first use.
        if v is not None and v.strip():
            try:
                re.compile(v)
            except re.error as err:
                raise ValueError(f"CASECLOCK_CASE_PATTERN is not a regular expression: {err}"
                                 ) from None
            return v
        return None

    @property
    def graph_configured(self) -> bool:
        """True when Graph can be used: the app's tenant, id and secret."""
        return bool(self.graph_tenant_id and self.graph_client_id and self.graph_client_secret)

    @property
    def slack_configured(self) -> bool:
        """True when Slack can be used (a bot token and a signing secret, or an app token)."""
        return bool(self.slack_bot_token and (self.slack_signing_secret or self.slack_app_token))

    @property
    def teams_configured(self) -> bool:
        """True when the Teams bot can be used (its app id and password)."""
        return bool(self.teams_app_id and self.teams_app_password)
