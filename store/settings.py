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
